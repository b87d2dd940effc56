#include "model/cross_attention.h"

#include <cmath>
#include <string>

#include "common/error.h"

namespace trashcl {

CrossAttentionImpl::CrossAttentionImpl(int64_t dim, int64_t heads) : dim_(dim), heads_(heads) {
  if (heads <= 0 || dim % heads != 0) {
    throw UserError("decoder_heads = " + std::to_string(heads) + " must divide decoder_width = " +
                    std::to_string(dim) + "; choose e.g. decoder_heads = 8 with a width divisible by 8");
  }
  q_proj_ = register_module("q_proj", torch::nn::Linear(dim, dim));
  k_proj_ = register_module("k_proj", torch::nn::Linear(dim, dim));
  v_proj_ = register_module("v_proj", torch::nn::Linear(dim, dim));
  out_proj_ = register_module("out_proj", torch::nn::Linear(dim, dim));
  // torch.nn.MultiheadAttention's initialisation: xavier-uniform projections, zero biases.
  for (auto* linear : {&q_proj_, &k_proj_, &v_proj_}) {
    torch::nn::init::xavier_uniform_((*linear)->weight);
    torch::nn::init::zeros_((*linear)->bias);
  }
  torch::nn::init::zeros_(out_proj_->bias);
}

torch::Tensor CrossAttentionImpl::split_heads(const torch::Tensor& x) const {
  return x.reshape({x.size(0), x.size(1), heads_, dim_ / heads_}).transpose(1, 2);  // [B,h,S,D/h]
}

torch::Tensor CrossAttentionImpl::forward(const torch::Tensor& queries, const torch::Tensor& memory) {
  auto q = split_heads(q_proj_->forward(queries));  // [B,h,K,D/h]
  auto k = split_heads(k_proj_->forward(memory));   // [B,h,T,D/h]
  auto v = split_heads(v_proj_->forward(memory));   // [B,h,T,D/h]
  const double scale = 1.0 / std::sqrt(static_cast<double>(dim_ / heads_));
  auto weights = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) * scale, -1);  // [B,h,K,T]
  auto attended = torch::matmul(weights, v);                                          // [B,h,K,D/h]
  auto merged = attended.transpose(1, 2).reshape({queries.size(0), queries.size(1), dim_});  // [B,K,D]
  return out_proj_->forward(merged);                                                  // [B,K,D]
}

}  // namespace trashcl
