// The fused backbone in int8 for CPU inference: per-output-channel int8 weights, per-tensor uint8
// activations whose ranges come from calibration images, run by LibTorch's quantized CPU engine (oneDNN or
// FBGEMM on x86). Post-training quantisation: no retraining, the float model stays the reference.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "infer/fused_backbone.h"

namespace trashcl {

class QuantizedBackbone {
 public:
  // `folded`: a FusedBackbone in the contiguous layout (float weights, BN folded). `calibration`:
  // eval-transformed images [M,3,S,S], float32 on the CPU, run through `folded` to find each activation's
  // range (minimum and maximum over the set). Throws UserError when the set is empty or this LibTorch has no
  // quantized CPU engine.
  static std::unique_ptr<QuantizedBackbone> compile(const FusedBackbone& folded, const torch::Tensor& calibration);

  // images [B,3,H,W] float32 on the CPU -> C3, C4, C5 float32 (dequantised), as FusedBackbone::forward.
  // No autograd: call under InferenceMode or NoGradGuard. Safe to call from several threads at once.
  BackboneFeatures forward(const torch::Tensor& images) const;

  // The quantized engine the convolutions were packed for: "X86", "ONEDNN", "FBGEMM" or "QNNPACK".
  const std::string& engine() const { return engine_; }

  // An activation as uint8: real value = scale * (q - zero_point).
  struct Quantization {
    double scale = 1;
    int64_t zero_point = 0;
  };
  // One folded convolution with its weights packed for the engine, and the quantisation of its output.
  struct Convolution {
    c10::IValue packed;  // the engine's Conv2dPackedParams (int8 weights, float bias, stride, padding)
    Quantization output;
    bool relu = false;   // ReLU fused into the convolution
  };
  // convs in a chain; residual blocks end in add_relu(last conv, shortcut(x) or x) quantised as `output`.
  struct Block {
    std::vector<Convolution> convs;
    bool residual = false;
    bool has_shortcut = false;
    Convolution shortcut;
    Quantization output;
  };

 private:
  QuantizedBackbone() = default;
  torch::Tensor run_block(const Block& block, const torch::Tensor& x) const;

  std::string engine_;
  Quantization input_;              // the normalised image
  Convolution stem_;                // conv + ReLU, then a 3x3 max pool with stride 2
  std::vector<std::vector<Block>> stages_;  // the last three give C3, C4, C5
};

}  // namespace trashcl
