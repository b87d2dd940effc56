// HashNet-style quantisation regulariser: pulls the relaxed codes u towards +-1.
#pragma once
#include <torch/torch.h>

namespace trashcl {

// log cosh(x) = |x| + softplus(-2|x|) - log 2, finite for every finite x (cosh overflows past |x| ~ 89).
torch::Tensor log_cosh(const torch::Tensor& x);

// mean(log cosh(|u| - 1)) over all elements of u [B,L], in float32 (float64 stays float64). It is 0
// exactly when every |u| = 1. The model multiplies it by lambda_q.
torch::Tensor quantization_loss(const torch::Tensor& u);

}  // namespace trashcl
