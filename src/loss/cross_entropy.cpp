#include "loss/cross_entropy.h"

#include <string>

#include "common/error.h"
#include "loss/loss_dtype.h"

namespace trashcl {

void check_label_smoothing(double smoothing) {
  if (smoothing < 0.0 || smoothing >= 1.0) {
    throw UserError("label_smoothing = " + std::to_string(smoothing) + " must be in [0, 1); use 0 or 0.1");
  }
}

torch::Tensor cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels, double smoothing) {
  check_label_smoothing(smoothing);
  if (logits.dim() != 2 || labels.dim() != 1 || labels.size(0) != logits.size(0)) {
    throw UserError("cross_entropy: expected logits [B,N] and labels [B]");
  }
  auto log_prob = torch::log_softmax(logits.to(loss_dtype(logits)), 1);        // [B,N]
  auto target = -log_prob.gather(1, labels.to(torch::kInt64).unsqueeze(1)).squeeze(1);  // [B]
  if (smoothing == 0.0) return target.mean();                                  // []
  auto uniform = -log_prob.mean(1);                                            // [B]
  return ((1.0 - smoothing) * target + smoothing * uniform).mean();            // []
}

}  // namespace trashcl
