// Channels-last (NHWC) storage for a model's convolution weights: oneDNN's and cuDNN's fastest convolution
// kernels work in NHWC, and with the weights (and the images, see Config::channels_last) already in it no
// layout conversion runs in the step. Values are unchanged; results differ from NCHW only by rounding.
#pragma once
#include <torch/torch.h>

namespace trashcl {

// Every 4-D parameter and buffer of `module` and its submodules, in place: the tensors keep their identity,
// so an optimizer built on them (and its state) stays valid.
void to_channels_last(torch::nn::Module& module);

}  // namespace trashcl
