// The precision every loss is computed in.
#pragma once
#include "common/pch.h"

namespace trashcl {

// float32 even from bf16/fp16 inputs (autocast), whose 8-bit mantissa is too coarse for a softmax over hundreds
// of similarities; float64 stays float64 (gradient checks).
inline torch::ScalarType loss_dtype(const torch::Tensor& t) {
  return t.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

}  // namespace trashcl
