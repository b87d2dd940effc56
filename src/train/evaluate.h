// Inference over images and datasets: the eval transform, optional flip averaging, metrics.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "data/augment.h"
#include "data/image_cache.h"
#include "model/contrastive_classifier.h"
#include "train/metrics.h"

namespace trashcl {

struct EvalOptions {
  AugmentConfig augment;                 // image_size, mean and std of the eval transform
  torch::Device device = torch::kCPU;
  int batch_size = 64;
  bool flip_test = true;                 // average the logits of the image and its mirror image
  bool bf16 = false;                     // autocast
};

struct BatchOutputs {
  torch::Tensor logits;  // [B,N] float32 on the CPU
  torch::Tensor codes;   // [B,L] relaxed hash codes u on the CPU; undefined when the model has no hash
};

// Eval-transform the images of `batch` and run the model (eval mode, no autograd).
BatchOutputs infer_batch(ContrastiveClassifier& model, const ImageBatch& batch, const EvalOptions& options,
                         bool with_codes = false);

// Logits of every image of the cache, in order: [M,N].
torch::Tensor dataset_logits(ContrastiveClassifier& model, ImageCache& images, const EvalOptions& options);

// Top-1/top-5, macro P/R/F1, per-class accuracy, confusion, many/medium/few-shot.
ClassificationReport evaluate(ContrastiveClassifier& model, const LoadedDataset& data, const EvalOptions& options,
                              const std::vector<int64_t>& train_class_counts);

}  // namespace trashcl
