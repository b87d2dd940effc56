// Folding eval-mode BatchNorm2d into the convolution in front of it, for inference-only copies of a model.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace trashcl {

// In eval mode a BatchNorm2d is a per-channel affine map, so conv -> BN is one convolution:
//   BN(W * x + b) = s (W * x + b - mean) + beta,   s = gamma / sqrt(var + eps)      [Cout]
//                 = (s W) * x + (s (b - mean) + beta)
// Computed in float64 and returned in the conv weight's dtype, on its device.
struct FoldedConv {
  torch::Tensor weight;  // [Cout,Cin/groups,kh,kw] = s W
  torch::Tensor bias;    // [Cout] = s (b - mean) + beta, b = 0 for a conv without bias
};
FoldedConv fold_conv_batch_norm(const torch::nn::Conv2dImpl& conv, const torch::nn::BatchNorm2dImpl& norm);

// Whether `norm` can be folded into `conv`: it has running statistics and an affine part, and normalises
// conv's output channels.
bool can_fold(const torch::nn::Conv2dImpl& conv, const torch::nn::BatchNorm2dImpl& norm);

// Folds, in place, every BatchNorm2d in `module` (recursively) that is registered right after a Conv2d of
// the same parent - the order in which every module of this project registers a conv and the norm of its
// output (ResNet blocks, downsample and conv-BN-ReLU Sequentials) - and puts `module` in eval mode.
//
// The conv's weight takes the scale s. The BN stays in place as a pure shift (gamma = 1, mean = 0,
// var = 1 - eps, beta = the folded bias), or as the identity when the conv has a bias of its own, which then
// takes the shift. It is not removed: the modules call their BN members directly in forward(), so a
// replaced registry entry would never run; and a conv built without bias has an undefined parameter
// "bias" that the public module API cannot replace by a registered tensor. Either way the model's own
// forward computes the same function; the BN pass itself only disappears where a forward skips it (the
// fused backbone of src/infer/ does).
//
// Only for an inference copy: running statistics are consumed, so the module must not be trained (train
// mode would normalise with batch statistics again) or saved as a checkpoint afterwards.
// Returns the number of folded pairs.
int64_t fold_batch_norm(torch::nn::Module& module);

// True when `norm` has no scale left (gamma = 1, mean = 0, var = 1 - eps): what fold_batch_norm leaves.
bool is_scale_free(const torch::nn::BatchNorm2dImpl& norm);

}  // namespace trashcl
