#include "loss/quantization.h"

#include <cmath>

#include "loss/loss_dtype.h"

namespace trashcl {

torch::Tensor log_cosh(const torch::Tensor& x) {
  auto magnitude = x.abs();  // same shape as x
  return magnitude + torch::nn::functional::softplus(-2.0 * magnitude) - std::log(2.0);
}

torch::Tensor quantization_loss(const torch::Tensor& u) {
  auto codes = u.to(loss_dtype(u));                                              // [B,L]
  return log_cosh(codes.abs() - 1.0).mean();                                     // []
}

}  // namespace trashcl
