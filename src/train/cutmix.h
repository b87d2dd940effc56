// CutMix (Yun et al., 2019) of the anchor view: a box of each image replaced by the same box of another image of
// the batch, the label shared by area.
#pragma once
#include <torch/torch.h>

#include "model/contrastive_classifier.h"

namespace trashcl {

struct CutMixBatch {
  torch::Tensor images;  // [B,3,H,W], the box pasted in
  AnchorMix mix;         // the partners' labels and each image's own share, 1 - the box's area share
};

// One box for the whole batch, as the reference implementation draws it: lambda ~ U(0, 1) (Beta(1, 1)), sides
// sqrt(1 - lambda) x H and x W, centre uniform over the image, clipped at the border; image i gets the box from
// image perm[i] of a random permutation. own_share is 1 - the clipped box's area / (H x W). Draws from the CPU
// generator (torch::manual_seed, saved in checkpoints), so a seeded run mixes the same way on any device.
// images [B,3,H,W], labels int64 [B] on the images' device.
CutMixBatch cutmix(const torch::Tensor& images, const torch::Tensor& labels);

// Whether this step's batch is mixed: true with probability p, drawn from the CPU generator (none drawn for p = 0).
bool cutmix_this_step(double p);

}  // namespace trashcl
