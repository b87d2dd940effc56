// Hash feature fusion (HashNet-style): multi-scale backbone features -> one relaxed binary code u.
#pragma once
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <vector>

#include "model/backbone.h"

namespace trashcl {

// HashNet's continuation: beta = sqrt(1 + rate * step), refreshed every `refresh` steps, so
// tanh(beta x) approaches sign(x) as training goes on. Pure function of the step. The rate is the
// config's hash_beta_rate (HashNet's rate by default); rate 0 keeps beta at 1.
constexpr int64_t kHashBetaRefresh = 200;
constexpr double kHashNetBetaRate = 0.005;
double hash_beta(int64_t step, int64_t refresh = kHashBetaRefresh, double rate = kHashNetBetaRate);

// Everything the fusion computes for one batch.
struct HashCodes {
  torch::Tensor u;                   // [B,L] global code in (-1,1)
  std::array<torch::Tensor, 3> scale;  // h3, h4, h5, each [B,L]
  torch::Tensor tokens;              // [B,4,L] = stack(h3, h4, h5, u)
  torch::Tensor spatial;             // [B,2HW,L] per-position codes of C4 (pooled to C5's grid) then C5;
                                     // undefined unless the fusion was built with spatial = true
};

// Per scale s: p_s = GAP(C_s); h_s = tanh(beta * BN(W_s p_s)). Fused: u = tanh(beta * W_f [h3; h4; h5]).
// With spatial = true the same W_4, W_5 also code every position of C5's grid (C4 average-pooled to it),
// each scale normalised by its own BatchNorm over all positions: because W_s is linear, the mean of the
// per-position pre-activations equals W_s p_s, so the per-position codes live in the pooled code's space.
class HashFusionImpl : public torch::nn::Module {
 public:
  // channels: C3, C4, C5 of the backbone.
  // bits: L, the code length (64).
  // spatial: also compute per-position codes for the decoder's spatial memory (false).
  HashFusionImpl(std::array<int64_t, 3> channels, int64_t bits, bool spatial = false);

  HashCodes forward(const BackboneFeatures& features);

  // beta is a buffer so a checkpoint restores the sharpness the model was trained with.
  void set_beta(double beta);
  double beta() const;
  int64_t bits() const { return bits_; }

 private:
  torch::Tensor code(const torch::Tensor& pre_activation) const;  // tanh(beta * x)
  torch::Tensor spatial_codes(const torch::Tensor& feature_map, int64_t scale,
                              torch::IntArrayRef grid);  // [B,HW,L]

  int64_t bits_;
  std::vector<torch::nn::Linear> linear_;             // W_3, W_4, W_5: C_s -> L
  std::vector<torch::nn::BatchNorm1d> norm_;          // BN over the pooled codes, one per scale
  std::vector<torch::nn::BatchNorm1d> spatial_norm_;  // BN over per-position codes of C4, C5 (spatial only)
  torch::nn::Linear fuse_{nullptr};                   // W_f: 3L -> L
  torch::Tensor beta_;                                // [] float
};
TORCH_MODULE(HashFusion);

}  // namespace trashcl
