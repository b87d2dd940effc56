// Mixing the anchor views of a training batch with one another: CutMix (Yun et al., 2019) pastes a box of another
// image of the batch, mixup (Zhang et al., 2018) blends in the whole of another image; either way the label is
// shared between the two photos in the proportion each contributes.
#pragma once
#include <torch/torch.h>

#include "model/contrastive_classifier.h"

namespace trashcl {

struct MixedBatch {
  torch::Tensor images;  // [B,3,H,W]
  AnchorMix mix;         // the partners' labels and each image's own share; empty when the batch is not mixed
};

// One box for the whole batch, as the reference implementation draws it: lambda ~ U(0, 1) (Beta(1, 1)), sides
// sqrt(1 - lambda) x H and x W, centre uniform over the image, clipped at the border; image i gets the box from
// image perm[i] of a random permutation. own_share is 1 - the clipped box's area / (H x W).
// images [B,3,H,W], labels int64 [B] on the images' device.
MixedBatch cutmix(const torch::Tensor& images, const torch::Tensor& labels);

// As mixup's reference draws it: lambda ~ Beta(alpha, alpha) for the whole batch, image i becomes
// lambda x image i + (1 - lambda) x image perm[i] of a random permutation; own_share is lambda.
// images [B,3,H,W], labels int64 [B] on the images' device; alpha > 0.
MixedBatch mixup(const torch::Tensor& images, const torch::Tensor& labels, double alpha);

// Whether this step's batch is CutMixed: true with probability p (none drawn for p = 0).
bool cutmix_this_step(double p);

// This training step's anchor views: CutMixed with probability cutmix_p, otherwise mixed up when mixup_alpha > 0,
// otherwise as they are with an empty mix (and nothing drawn when both are off, so such runs train as before).
// Every draw comes from the CPU generator (torch::manual_seed, saved in checkpoints), so a seeded run mixes the
// same way on any device and resumes exactly.
MixedBatch mix_anchor_views(const torch::Tensor& images, const torch::Tensor& labels, double cutmix_p,
                            double mixup_alpha);

}  // namespace trashcl
