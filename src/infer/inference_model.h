// The classifier's inference forward: logits and hash codes from one encoder pass, BN folded, no autograd.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>

#include "infer/fused_backbone.h"
#include "infer/quantized_backbone.h"
#include "model/contrastive_classifier.h"
#include "train/evaluate.h"

namespace trashcl {

struct InferenceOptions {
  bool fold_batch_norm = true;  // fold every conv -> BatchNorm2d pair of the model (fold_batch_norm.h)
  bool fuse_backbone = true;    // run a known backbone as a chain of folded convs, no BN calls (fused_backbone.h)
  std::string layout = "auto";  // the fused backbone's tensor layout: auto, mkldnn, channels-last, contiguous
  // Set: the backbone runs in int8 on the CPU (quantized_backbone.h), its activation ranges taken from these
  // eval-transformed images [M,3,S,S]; `layout` is then not used.
  torch::Tensor int8_calibration;
};

// Throws UserError when int8 inference cannot run with these options: a device other than the CPU, or the
// fused backbone turned off. The Predictor calls it before it decodes any calibration image.
void require_int8_supported(const InferenceOptions& options, const torch::Device& device);

// What training's infer_batch computes (ContrastiveClassifier::forward_logits, hash_code, optional flip
// averaging), in one pass through the encoder instead of one for the logits, one for the mirror image and one
// for the codes. The projection head, which only the contrastive loss reads, is not run.
class InferenceModel {
 public:
  // `model` must be an inference-only copy (the Predictor loads or copies its own): it is put in eval mode
  // and, with fold_batch_norm, changed in place. Throws UserError for an encoder without a backbone it knows.
  InferenceModel(ContrastiveClassifier model, const InferenceOptions& options);

  // images [B,3,S,S] on the model's device -> logits z [B,N] and codes u [B,L] (undefined without hash
  // fusion), float32 on the CPU. flip_test averages the logits of every image and its mirror image, run as one
  // batch of 2B; the codes are those of the image as given. Safe to call from several threads at once.
  // The outputs are made under c10::InferenceMode: read them, do not change them in place outside it.
  BatchOutputs forward(const torch::Tensor& images, bool flip_test) const;

  bool folded() const { return folded_pairs_ > 0; }
  int64_t folded_pairs() const { return folded_pairs_; }
  bool fused() const { return fused_ != nullptr; }
  // The fused backbone's layout ("mkldnn", ...), "int8", or "module" when the backbone's own forward runs.
  std::string backbone_path() const;
  const torch::Device& device() const { return device_; }

 private:
  ContrastiveClassifier model_;
  torch::Device device_;
  std::shared_ptr<BackboneImpl> backbone_;
  std::unique_ptr<FusedBackbone> fused_;
  std::unique_ptr<QuantizedBackbone> quantized_;          // int8: runs instead of fused_
  std::shared_ptr<HashFusionImpl> fusion_;                // null with features = pool
  bool spatial_memory_ = false;
  torch::Tensor prediction_offset_;                       // [N] on device_, ContrastiveClassifier::prediction_offset
  int64_t folded_pairs_ = 0;
};

}  // namespace trashcl
