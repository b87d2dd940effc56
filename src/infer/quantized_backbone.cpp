#include "infer/quantized_backbone.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/error.h"

namespace trashcl {
namespace {

using Quantization = QuantizedBackbone::Quantization;

// Activations use 7 of the 8 bits, [0, 127] (PyTorch's reduce_range). On x86 CPUs without VNNI (AVX2, and
// AVX-512 without it) the engines multiply uint8 activations by int8 weights in pairs summed into saturating
// 16-bit lanes; with full-range activations a 3x3 convolution saturated and was off by up to 26 steps per
// output on an AVX2 EPYC, with 7-bit ones by at most 2 (rounding, no saturation).
constexpr int64_t kActivationMax = 127;
constexpr int64_t kWeightMax = 127;  // int8 weights, symmetric per output channel

// The engine to pack for, most capable first; the choice is global to LibTorch (at::globalContext()).
at::QEngine choose_engine() {
  const auto& supported = at::globalContext().supportedQEngines();
  for (const at::QEngine engine : {at::kX86, at::kONEDNN, at::kFBGEMM, at::kQNNPACK}) {
    if (std::find(supported.begin(), supported.end(), engine) != supported.end()) return engine;
  }
  throw UserError("int8 inference: this LibTorch has no quantized CPU engine (X86, ONEDNN, FBGEMM or QNNPACK); "
                  "run without --int8-calibration");
}

c10::OperatorHandle quantized_op(const char* name, const char* overload) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, overload);
}

// Calls a quantized:: operator through the dispatcher with boxed arguments; returns its one result.
c10::IValue call(const c10::OperatorHandle& op, torch::jit::Stack stack) {
  op.callBoxed(&stack);
  return std::move(stack.at(0));
}

// The range [low, high] (widened to include 0, so zero padding and ReLU's zero stay exact) on [0, 127].
Quantization quantization_for(double low, double high) {
  low = std::min(low, 0.0);
  high = std::max(high, 0.0);
  const double scale = std::max((high - low) / kActivationMax, 1e-8);
  const int64_t zero_point = std::clamp<int64_t>(std::llround(-low / scale), 0, kActivationMax);
  return {scale, zero_point};
}

// The running minimum and maximum of each activation of the float forward, in the order it visits them;
// the quantized forward reads them back in the same order.
class RangeRecorder {
 public:
  explicit RangeRecorder(bool recording) : recording_(recording) {}
  void observe(const torch::Tensor& activation) {
    const double low = activation.min().item<double>(), high = activation.max().item<double>();
    if (recording_) {
      ranges_.emplace_back(low, high);
      return;
    }
    auto& range = ranges_.at(next_++);
    range = {std::min(range.first, low), std::max(range.second, high)};
  }
  void rewind() {
    recording_ = false;
    next_ = 0;
  }
  Quantization next() {
    const auto& range = ranges_.at(next_++);
    return quantization_for(range.first, range.second);
  }

 private:
  bool recording_;
  size_t next_ = 0;
  std::vector<std::pair<double, double>> ranges_;
};

// Folded float weights -> int8 per output channel, packed with the float bias for the current engine.
c10::IValue pack(const FusedBackbone::Convolution& conv) {
  const torch::Tensor weight = conv.weight.contiguous();                              // [O,I,kh,kw]
  const torch::Tensor scales = (weight.abs().amax({1, 2, 3}) / kWeightMax).clamp_min(1e-12).to(torch::kFloat64);  // [O]
  const torch::Tensor zero_points = torch::zeros({weight.size(0)}, torch::kInt64);   // [O]
  const torch::Tensor quantized = torch::quantize_per_channel(weight, scales, zero_points, 0, torch::kQInt8);
  static const c10::OperatorHandle prepack = quantized_op("quantized::conv2d_prepack", "");
  return call(prepack, {quantized, conv.bias, c10::List<int64_t>(conv.stride), c10::List<int64_t>(conv.padding),
                        c10::List<int64_t>({1, 1}), int64_t{1}});
}

QuantizedBackbone::Convolution quantize(const FusedBackbone::Convolution& conv, bool relu, RangeRecorder& ranges) {
  return {pack(conv), ranges.next(), relu};
}

torch::Tensor run(const QuantizedBackbone::Convolution& conv, const torch::Tensor& x) {
  static const c10::OperatorHandle plain = quantized_op("quantized::conv2d", "new");
  static const c10::OperatorHandle with_relu = quantized_op("quantized::conv2d_relu", "new");
  return call(conv.relu ? with_relu : plain, {x, conv.packed, conv.output.scale, conv.output.zero_point}).toTensor();
}

}  // namespace

std::unique_ptr<QuantizedBackbone> QuantizedBackbone::compile(const FusedBackbone& folded,
                                                              const torch::Tensor& calibration) {
  if (folded.layout() != TensorLayout::contiguous) {
    throw UserError("int8 inference: quantise a fused backbone in the contiguous layout");
  }
  if (!calibration.defined() || calibration.dim() != 4 || calibration.size(0) == 0) {
    throw UserError("int8 inference: no calibration images (expected [M,3,S,S] with M >= 1)");
  }
  const at::QEngine engine = choose_engine();
  at::globalContext().setQEngine(engine);
  torch::NoGradGuard no_grad;

  RangeRecorder ranges(/*recording=*/true);
  const torch::Tensor images = calibration.to(torch::kCPU, torch::kFloat32).contiguous();
  constexpr int64_t kChunk = 16;  // images per float forward: bounds the activations held at once
  for (int64_t start = 0; start < images.size(0); start += kChunk) {
    const torch::Tensor chunk = images.narrow(0, start, std::min(kChunk, images.size(0) - start));  // [<=16,3,S,S]
    folded.forward(chunk, [&ranges](const torch::Tensor& activation) { ranges.observe(activation); });
    ranges.rewind();  // later chunks widen the ranges the first one recorded
  }

  std::unique_ptr<QuantizedBackbone> quantized(new QuantizedBackbone());
  quantized->engine_ = c10::toString(engine);
  quantized->input_ = ranges.next();
  quantized->stem_ = quantize(folded.stem(), /*relu=*/true, ranges);
  for (const FusedBackbone::Stage& stage : folded.stages()) {
    std::vector<Block> blocks;
    for (const FusedBackbone::Block& block : stage.blocks) {
      Block fused;
      fused.residual = block.residual;
      for (size_t i = 0; i < block.convs.size(); ++i) {
        fused.convs.push_back(quantize(block.convs[i], i + 1 < block.convs.size() || !block.residual, ranges));
      }
      if (block.residual) {
        fused.has_shortcut = block.has_shortcut;
        if (block.has_shortcut) fused.shortcut = quantize(block.shortcut, /*relu=*/false, ranges);
        fused.output = ranges.next();
      }
      blocks.push_back(std::move(fused));
    }
    quantized->stages_.push_back(std::move(blocks));
  }
  return quantized;
}

torch::Tensor QuantizedBackbone::run_block(const Block& block, const torch::Tensor& x) const {  // x: quint8 [B,C,H,W]
  torch::Tensor out = x;
  for (const Convolution& conv : block.convs) out = run(conv, out);  // [B,C_i,H/s,W/s]
  if (!block.residual) return out;
  static const c10::OperatorHandle add_relu = quantized_op("quantized::add_relu", "");
  const torch::Tensor shortcut = block.has_shortcut ? run(block.shortcut, x) : x;
  return call(add_relu, {out, shortcut, block.output.scale, block.output.zero_point}).toTensor();
}

BackboneFeatures QuantizedBackbone::forward(const torch::Tensor& images) const {  // images: [B,3,H,W]
  // NHWC, the layout the engines' int8 convolutions read and write.
  const torch::Tensor input = images.to(torch::kFloat32).contiguous(torch::MemoryFormat::ChannelsLast);
  torch::Tensor x = torch::quantize_per_tensor(input, input_.scale, input_.zero_point, torch::kQUInt8);
  x = run(stem_, x);                                                                  // [B,C,H/2,W/2]
  x = at::max_pool2d(x, {3, 3}, {2, 2}, {1, 1}, /*dilation=*/{1, 1});                // [B,C,H/4,W/4]
  std::vector<torch::Tensor> outputs;
  for (const auto& stage : stages_) {
    for (const Block& block : stage) x = run_block(block, x);
    outputs.push_back(x);
  }
  const size_t n = outputs.size();
  return {outputs[n - 3].dequantize(), outputs[n - 2].dequantize(), outputs[n - 1].dequantize()};  // C3 .. C5
}

}  // namespace trashcl
