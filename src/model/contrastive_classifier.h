// The composable classifier: query encoder + head, the momentum branch, and the training losses.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "model/encoder.h"
#include "model/group_decoder.h"
#include "model/model_options.h"
#include "model/momentum.h"

namespace trashcl {

// Scalar terms of one training step, for backward() and for logging.
struct LossTerms {
  torch::Tensor total;           // what to call backward() on: classification + contrastive + quantization
  torch::Tensor classification;  // PaCo (loss = paco) or cross-entropy on z (ce, supcon)
  torch::Tensor contrastive;     // SupCon term (loss = supcon); 0 otherwise
  torch::Tensor quantization;    // lambda_q * mean log cosh(|u| - 1); 0 with features = pool
};

// A CutMix or mixup of the anchor view (train/batch_mix.h), for the losses: each anchor image is own_share of its
// own photo (the batch's labels) and the rest its partner photo's (partner_labels). Undefined partner_labels: no mix.
struct AnchorMix {
  torch::Tensor partner_labels;  // int64 [B]
  double own_share = 1.0;        // in [0, 1]
  bool mixed() const { return partner_labels.defined() && own_share < 1.0; }
  // A loss term of the mixed anchors from the term by their labels and the term by their partners'.
  torch::Tensor blend(const torch::Tensor& own, const torch::Tensor& partner) const {
    return own_share * own + (1.0 - own_share) * partner;
  }
};

// Inference is query encoder + head: z = head(encoder(images)), argmax z, where the head is the group decoder
// on the memory tokens, a Linear on the features, or their sum (linear+decoder). Training adds, by option:
//   loss = ce:        cross-entropy on z of the anchor view (the positive view is not used)
//   loss = paco:      PaCo over [e; k; queue] with class centres z + log pi
//   loss = supcon:    SupCon over [e; k; queue] + cross-entropy on z (the head must learn too)
//   momentum on:      k from the EMA key encoder (shuffled sub-batch BN), queue of labelled keys
//   momentum off:     k from the query encoder itself, with gradient (detached with key_gradient = false);
//                     contrast set [e; k] only
//   symmetric:        (momentum on) the mean of that loss and its mirror image, in which the positive view is
//                     the query and the anchor view's key its positive; only the positive views' keys are queued
//   query_positives:  (momentum on) the positive views' query-encoder embeddings p, with gradient, join the
//                     contrast set: [e; k; p; queue]; only k is queued
//   self-supervised:  (set_self_supervised, not with loss = ce) instance discrimination: every photo is its own
//                     class in the contrast set, so SupCon over it is InfoNCE, and there is no class term: the head
//                     learns nothing, the labels only go into the queue with their keys
//   a CutMix anchor:  each loss term is own_share x the term with the anchors' labels + (1 - own_share) x the
//                     term with their partners' labels (cross-entropy, and PaCo's centre and sample positives
//                     alike); the anchors as contrast samples, the keys and the queue keep their own labels
class ContrastiveClassifierImpl : public torch::nn::Module {
 public:
  explicit ContrastiveClassifierImpl(const ModelOptions& options);

  // images [B,3,S,S] -> logits z [B,N] (no prior added).
  torch::Tensor forward_logits(const torch::Tensor& images);
  torch::Tensor forward(const torch::Tensor& images) { return forward_logits(images); }
  // images [B,3,S,S] -> relaxed hash codes u [B,L] (features = hash only); sign(u) is the binary code.
  torch::Tensor hash_code(const torch::Tensor& images);

  // One training step's model side: anchor/positive views [B,3,S,S], labels [B] int64. With the momentum
  // encoder it first updates the key encoder (EMA) and afterwards enqueues this step's keys, so call it
  // once per optimizer step, in train mode. positive may be undefined when loss = ce. `mix` describes a CutMix
  // anchor view (not with symmetric, whose mirrored term would take the mixed anchor as a key).
  LossTerms training_loss(const torch::Tensor& anchor, const torch::Tensor& positive, const torch::Tensor& labels,
                          const AnchorMix& mix = {});

  // Sets the hash sharpness to hash_beta(step) at the options' hash_beta_rate in both encoders, the
  // contrastive part's weight to contrastive_weight(step of total_steps) and the key encoder's m to
  // momentum_at(step of total_steps); call at every step.
  void set_step(int64_t step, int64_t total_steps);
  // While on, training_loss learns without the labels (self-supervised, above): the warm-up of the first epochs.
  void set_self_supervised(bool on) { self_supervised_ = on; }
  // Parameters the optimizer should see (the key encoder's are excluded).
  std::vector<torch::Tensor> trainable_parameters();
  // The class head's parameters (the linear classifier's and/or the group decoder's), a subset of the above.
  std::vector<torch::Tensor> head_parameters();

  const ModelOptions& options() const { return options_; }
  Encoder& encoder() { return encoder_; }
  bool has_momentum() const { return !momentum_.is_empty(); }
  MomentumContrast& momentum() { return momentum_; }
  const torch::Tensor& log_prior() const { return log_prior_; }
  // What prediction adds to the head's logits z: log(pi) [N] for loss = paco with predict_prior = train,
  // else zeros [N] (see ModelOptions::predict_prior).
  torch::Tensor prediction_offset() const;
  // The class head on an encoder's outputs, before prediction_offset: the linear classifier on features
  // [B,F] and/or the group decoder on tokens [B,T,F], summed when both are present. -> z [B,N]
  torch::Tensor head(const torch::Tensor& features, const torch::Tensor& tokens);

 private:
  void check_batch(const torch::Tensor& anchor, const torch::Tensor& positive, const torch::Tensor& labels,
                   const AnchorMix& mix) const;
  // The classification and contrastive terms [] of a contrast set and its anchors' logits z [B,N]: PaCo and
  // 0 (loss = paco), or cross-entropy on z and the weighted SupCon term (loss = supcon); with a mix, each the
  // share-weighted mean of the terms by the anchors' and by their partners' labels. Self-supervised: 0 and
  // SupCon over the set as it is (instance-labelled).
  std::pair<torch::Tensor, torch::Tensor> contrastive_terms(const ContrastSet& set, const torch::Tensor& logits,
                                                            const AnchorMix& mix = {}) const;

  ModelOptions options_;
  Encoder encoder_{nullptr};
  GroupDecoder decoder_{nullptr};
  torch::nn::Linear classifier_{nullptr};
  MomentumContrast momentum_{nullptr};
  torch::Tensor log_prior_;  // [N] buffer: log of the training-set class frequencies
  double contrastive_weight_scale_ = 1.0;  // set_step's contrastive_weight; not state: a function of the step
  bool self_supervised_ = false;           // set_self_supervised; not state either: the trainer sets it by the step
};
TORCH_MODULE(ContrastiveClassifier);

}  // namespace trashcl
