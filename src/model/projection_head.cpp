#include "model/projection_head.h"

namespace trashcl {

ProjectionHeadImpl::ProjectionHeadImpl(int64_t input_dim, int64_t hidden, int64_t embed_dim) {
  fc1_ = register_module("fc1", torch::nn::Linear(input_dim, hidden));
  norm_ = register_module("norm", torch::nn::BatchNorm1d(hidden));
  fc2_ = register_module("fc2", torch::nn::Linear(hidden, embed_dim));
}

torch::Tensor ProjectionHeadImpl::forward(const torch::Tensor& features) {
  auto hidden = torch::relu(norm_->forward(fc1_->forward(features)));  // [B,hidden]
  auto projected = fc2_->forward(hidden);                               // [B,d]
  return torch::nn::functional::normalize(projected, torch::nn::functional::NormalizeFuncOptions().dim(1));  // [B,d]
}

}  // namespace trashcl
