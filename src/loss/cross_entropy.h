// Cross-entropy with optional label smoothing, in float32 whatever the logits' dtype.
#pragma once
#include <torch/torch.h>

namespace trashcl {

// logits [B,N], labels [B] int64 in [0,N) -> mean over the batch of
// (1 - smoothing) * -log p_y + smoothing * mean_c(-log p_c)   (Szegedy et al., 2016).
// smoothing in [0,1); 0 is plain cross-entropy.
torch::Tensor cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels, double smoothing = 0.0);

// Throws UserError naming label_smoothing unless it is in [0, 1): every loss that smooths its class targets.
void check_label_smoothing(double smoothing);

}  // namespace trashcl
