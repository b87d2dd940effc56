// MoCo-style momentum (key) encoder with a queue of past key embeddings and their labels.
#pragma once
#include <torch/torch.h>

#include <cstdint>

#include "model/encoder.h"

namespace trashcl {

// Key encoder = a second Encoder built from the query encoder's options (backbone + fusion + projection),
// copied from it by parameter name, never trained by gradient: theta_k <- m theta_k + (1 - m) theta_q,
// buffers (BatchNorm running statistics, the hash beta) copied.
//
// Substitute for shuffle-BN on one device (MoCo shuffles the key batch across GPUs): the key batch is
// permuted at random, split into `groups` sub-batches that each run through the key encoder in training
// mode, so every BatchNorm normalises a key with the statistics of its own random sub-batch, and the
// keys are put back in batch order. A key's normalisation statistics therefore differ from its query's
// (the whole anchor batch), while still being computed with the key encoder's own weights (running
// statistics copied from the query encoder would not match the EMA weights; see docs/model.md).
//
// queue, queue_labels and queue_pointer are buffers, so a checkpoint of the module holds them.
// Slots never written carry label -1 and are excluded from every loss.
class MomentumContrastImpl : public torch::nn::Module {
 public:
  // query: the encoder to copy now and to follow later (its options build the key encoder).
  // queue_size: Q, number of stored key embeddings (1024 for ~2k training images; at most the set size).
  // momentum: m of the EMA (0.99: (1 - m) x steps >> 1 for runs of a few thousand steps; MoCo uses 0.999).
  // groups: shuffled sub-batches of the key batch (4: 32 images each at batch 128, like MoCo's 8 GPUs x 32);
  //         lowered to B/2 for small batches so every sub-batch has 2 images for BatchNorm.
  MomentumContrastImpl(const Encoder& query, int64_t queue_size, double momentum, int64_t groups = 4);

  // theta_k <- m theta_k + (1 - m) theta_q for every parameter; buffers copied. No gradient.
  void update(const Encoder& query);
  // Key embeddings of images [B,3,H,W] -> [B,d] in batch order, from shuffled sub-batches, no gradient.
  torch::Tensor keys(const torch::Tensor& images);
  // Writes keys [B,d] and labels [B] at the pointer with wrap-around; the pointer advances by B mod Q.
  // With B > Q only the last Q rows are kept (they are the newest).
  void enqueue(const torch::Tensor& keys, const torch::Tensor& labels);

  const torch::Tensor& queue() const { return queue_; }                 // [Q,d]
  const torch::Tensor& queue_labels() const { return queue_labels_; }   // [Q] int64, -1 = empty slot
  int64_t pointer() const { return queue_pointer_.item<int64_t>(); }
  double momentum() const { return momentum_; }
  int64_t groups() const { return groups_; }
  void set_momentum(double momentum);
  Encoder& key_encoder() { return key_encoder_; }

 private:
  double momentum_;
  int64_t groups_;
  Encoder key_encoder_{nullptr};
  torch::Tensor queue_;          // [Q,d] float32
  torch::Tensor queue_labels_;   // [Q] int64
  torch::Tensor queue_pointer_;  // [] int64
};
TORCH_MODULE(MomentumContrast);

}  // namespace trashcl
