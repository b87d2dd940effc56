// Multi-head cross-attention with torch.nn.MultiheadAttention's math (separate q/k/v projections).
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace trashcl {

// out = W_o concat_h softmax(Q_h K_h^T / sqrt(D/heads)) V_h + b_o, with Q = x W_q^T + b_q and K, V
// likewise from the memory. torch.nn.MultiheadAttention's in_proj_weight [3D,D] is [W_q; W_k; W_v], so its
// weights load by splitting that matrix in three. Written out (rather than torch::nn::MultiheadAttention)
// so the parameter names and batch-first layout are the same in LibTorch 1.13 and 2.x.
class CrossAttentionImpl : public torch::nn::Module {
 public:
  // dim: D, the width of queries and memory (256 in the decoder).
  // heads: number of heads; must divide dim (8).
  CrossAttentionImpl(int64_t dim, int64_t heads);

  // queries [B,K,D], memory [B,T,D] -> [B,K,D].
  torch::Tensor forward(const torch::Tensor& queries, const torch::Tensor& memory);

 private:
  torch::Tensor split_heads(const torch::Tensor& x) const;  // [B,S,D] -> [B,heads,S,D/heads]

  int64_t dim_, heads_;
  torch::nn::Linear q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, out_proj_{nullptr};
};
TORCH_MODULE(CrossAttention);

}  // namespace trashcl
