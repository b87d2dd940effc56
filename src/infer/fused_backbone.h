// A backbone compiled for inference: its convolutions with the batch norms folded in, run without any BN
// call, in the tensor layout the device runs convolutions fastest in.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/backbone.h"

namespace trashcl {

enum class TensorLayout {
  contiguous,     // NCHW
  channels_last,  // NHWC strides (cuDNN's fast path on CUDA)
  mkldnn,         // oneDNN's own blocked tensors, CPU only, with the conv weights reordered once at compile time
};

// "contiguous", "channels-last", "mkldnn"; parse_layout also takes "auto" (the default for the device).
std::string layout_name(TensorLayout layout);
TensorLayout parse_layout(const std::string& name, const torch::Device& device);

// oneDNN's layout on CPUs where LibTorch was built with it (MKLDNN): there a plain NCHW or NHWC convolution
// reorders its weights on every call, which at batch 1 costs about as much as the arithmetic; channels-last
// on CUDA; contiguous otherwise.
TensorLayout default_layout(const torch::Device& device);

// Known structures (make_backbone's registry): the ResNets (stem conv, max pool, four stages of residual
// blocks with an optional downsample conv) and "tiny" (conv-BN-ReLU Sequentials). compile() returns nullptr
// for any other structure; callers then run the module's own forward. A new backbone joins by adding its
// compile function: the predictor tests compare the fused and the module forward for every registry name.
class FusedBackbone {
 public:
  // `backbone`: a make_backbone module in eval mode on `device`; its BN statistics are read, not changed.
  static std::unique_ptr<FusedBackbone> compile(const torch::nn::Module& backbone, const torch::Device& device,
                                                TensorLayout layout);

  // Called with each activation as the forward visits it: the input image, the stem's output, and per block
  // each convolution's output (after its ReLU, where one follows), the shortcut convolution's output and the
  // block's output after the residual ReLU. QuantizedBackbone records their ranges in this order.
  using ActivationObserver = std::function<void(const torch::Tensor&)>;

  // images [B,3,H,W] float32 on the device -> C3, C4, C5 as ordinary (strided) tensors, as
  // BackboneImpl::forward gives them. No autograd: call under InferenceMode or NoGradGuard.
  BackboneFeatures forward(const torch::Tensor& images, const ActivationObserver& observe = nullptr) const;

  TensorLayout layout() const { return layout_; }

  // One convolution with its BN folded in, weights already in the layout.
  struct Convolution {
    torch::Tensor weight, bias;
    std::vector<int64_t> stride, padding;
  };
  // convs[0] -> ReLU -> convs[1] ... -> convs[n-1] (+ shortcut(x) or x when residual) -> ReLU.
  struct Block {
    std::vector<Convolution> convs;
    bool residual = false;
    bool has_shortcut = false;
    Convolution shortcut;
  };
  struct Stage {
    std::vector<Block> blocks;
  };
  // The folded convolutions, for QuantizedBackbone to quantise.
  const Convolution& stem() const { return stem_; }
  const std::vector<Stage>& stages() const { return stages_; }

 private:
  FusedBackbone(TensorLayout layout, Convolution stem, std::vector<Stage> stages);
  torch::Tensor convolve(const Convolution& conv, const torch::Tensor& x) const;
  torch::Tensor run_block(const Block& block, const torch::Tensor& x, const ActivationObserver& observe) const;

  TensorLayout layout_;
  Convolution stem_;            // conv -> ReLU -> 3x3 max pool, stride 2
  std::vector<Stage> stages_;   // the last three give C3, C4, C5
};

}  // namespace trashcl
