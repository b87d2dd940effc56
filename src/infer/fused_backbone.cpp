#include "infer/fused_backbone.h"

#include <optional>
#include <set>
#include <utility>
#include <variant>

#include "common/error.h"
#include "model/fold_batch_norm.h"
#include "model/resnet.h"

namespace trashcl {
namespace {

using Convolution = FusedBackbone::Convolution;
using Block = FusedBackbone::Block;
using Stage = FusedBackbone::Stage;
using ModulePtr = std::shared_ptr<torch::nn::Module>;

std::vector<int64_t> pair_of(const torch::ExpandingArray<2>& values) { return {values->at(0), values->at(1)}; }

// Conv options hold c10::variant in LibTorch 1.13 and std::variant in 2.x: with the std names in scope,
// argument-dependent lookup finds c10's where the options use them.
const torch::ExpandingArray<2>* numeric_padding(const torch::nn::detail::ConvNdOptions<2>& options) {
  using std::get_if;
  return get_if<torch::ExpandingArray<2>>(&options.padding());
}

bool zero_padded(const torch::nn::detail::ConvNdOptions<2>& options) {
  using std::holds_alternative;
  return holds_alternative<torch::enumtype::kZeros>(options.padding_mode());
}

// conv + the BN after it -> one convolution in `layout`; nullopt when the pair is not a plain conv
// (padding given as a number, no dilation, one group) followed by a foldable BN.
std::optional<Convolution> fuse(const ModulePtr& conv_module, const ModulePtr& norm_module, TensorLayout layout) {
  if (!conv_module || !norm_module) return std::nullopt;
  const auto* conv = conv_module->as<torch::nn::Conv2dImpl>();
  const auto* norm = norm_module->as<torch::nn::BatchNorm2dImpl>();
  if (conv == nullptr || norm == nullptr || !can_fold(*conv, *norm)) return std::nullopt;
  const auto* padding = numeric_padding(conv->options);
  if (padding == nullptr || !zero_padded(conv->options) || conv->options.groups() != 1 ||
      pair_of(conv->options.dilation()) != std::vector<int64_t>{1, 1}) {
    return std::nullopt;
  }
  FoldedConv folded = fold_conv_batch_norm(*conv, *norm);
  Convolution fused{folded.weight, folded.bias, pair_of(conv->options.stride()), pair_of(*padding)};
  if (layout == TensorLayout::mkldnn) {
    // Reordered once into the blocked format oneDNN's convolution wants for this stride and padding.
    fused.weight = at::mkldnn_reorder_conv2d_weight(fused.weight.contiguous().to_mkldnn(), fused.padding, fused.stride,
                                                    /*dilation=*/{1, 1}, /*groups=*/1);
    fused.bias = fused.bias.to_mkldnn();
  } else if (layout == TensorLayout::channels_last) {
    fused.weight = fused.weight.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  return fused;
}

// The children of `module` by name, if they are all of `required` plus any of `optional`, and nothing else.
std::optional<torch::OrderedDict<std::string, ModulePtr>> children_named(const torch::nn::Module& module,
                                                                         const std::set<std::string>& required,
                                                                         const std::set<std::string>& optional = {}) {
  auto children = module.named_children();
  std::set<std::string> seen;
  for (const auto& item : children) {
    if (!required.count(item.key()) && !optional.count(item.key())) return std::nullopt;
    seen.insert(item.key());
  }
  for (const auto& name : required) {
    if (!seen.count(name)) return std::nullopt;
  }
  return children;
}

ModulePtr child(const torch::OrderedDict<std::string, ModulePtr>& children, const std::string& name) {
  const ModulePtr* found = children.find(name);
  return found == nullptr ? nullptr : *found;
}

// A torchvision-style residual block: conv1/bn1, conv2/bn2[, conv3/bn3][, downsample = Sequential(conv, BN)].
std::optional<Block> fuse_residual_block(const torch::nn::Module& block, TensorLayout layout) {
  const auto children = children_named(block, {"conv1", "bn1", "conv2", "bn2"}, {"conv3", "bn3", "downsample"});
  if (!children) return std::nullopt;
  Block fused;
  fused.residual = true;
  for (const std::string index : {"1", "2", "3"}) {
    const auto conv = child(*children, "conv" + index), norm = child(*children, "bn" + index);
    if (!conv && !norm) break;
    auto convolution = fuse(conv, norm, layout);
    if (!convolution) return std::nullopt;
    fused.convs.push_back(std::move(*convolution));
  }
  if (const auto downsample = child(*children, "downsample")) {
    const auto parts = children_named(*downsample, {"0", "1"});
    if (!parts) return std::nullopt;
    auto shortcut = fuse(child(*parts, "0"), child(*parts, "1"), layout);
    if (!shortcut) return std::nullopt;
    fused.has_shortcut = true;
    fused.shortcut = std::move(*shortcut);
  }
  return fused;
}

std::optional<std::pair<Convolution, std::vector<Stage>>> fuse_resnet(const torch::nn::Module& backbone,
                                                                      TensorLayout layout) {
  if (dynamic_cast<const ResNetImpl*>(&backbone) == nullptr) return std::nullopt;
  const auto children = children_named(backbone, {"conv1", "bn1", "layer1", "layer2", "layer3", "layer4"});
  if (!children) return std::nullopt;
  auto stem = fuse(child(*children, "conv1"), child(*children, "bn1"), layout);
  if (!stem) return std::nullopt;
  std::vector<Stage> stages;
  for (const std::string layer : {"layer1", "layer2", "layer3", "layer4"}) {
    Stage stage;
    for (const auto& block : child(*children, layer)->children()) {
      auto fused = fuse_residual_block(*block, layout);
      if (!fused) return std::nullopt;
      stage.blocks.push_back(std::move(*fused));
    }
    stages.push_back(std::move(stage));
  }
  return std::pair{std::move(*stem), std::move(stages)};
}

// Sequential(Conv2d, BatchNorm2d, ReLU) -> one convolution followed by ReLU.
std::optional<Convolution> fuse_conv_bn_relu(const ModulePtr& sequential, TensorLayout layout) {
  if (!sequential || sequential->as<torch::nn::SequentialImpl>() == nullptr) return std::nullopt;
  const auto parts = children_named(*sequential, {"0", "1", "2"});
  if (!parts || child(*parts, "2")->as<torch::nn::ReLUImpl>() == nullptr) return std::nullopt;
  return fuse(child(*parts, "0"), child(*parts, "1"), layout);
}

// "tiny": stem, max pool, then stage3..stage5, each one conv-BN-ReLU without a residual.
std::optional<std::pair<Convolution, std::vector<Stage>>> fuse_conv_stages(const torch::nn::Module& backbone,
                                                                           TensorLayout layout) {
  const auto children = children_named(backbone, {"stem", "stage3", "stage4", "stage5"});
  if (!children) return std::nullopt;
  auto stem = fuse_conv_bn_relu(child(*children, "stem"), layout);
  if (!stem) return std::nullopt;
  std::vector<Stage> stages;
  for (const std::string name : {"stage3", "stage4", "stage5"}) {
    auto conv = fuse_conv_bn_relu(child(*children, name), layout);
    if (!conv) return std::nullopt;
    Block block;
    block.convs.push_back(std::move(*conv));
    stages.push_back(Stage{{std::move(block)}});
  }
  return std::pair{std::move(*stem), std::move(stages)};
}

}  // namespace

std::string layout_name(TensorLayout layout) {
  switch (layout) {
    case TensorLayout::contiguous: return "contiguous";
    case TensorLayout::channels_last: return "channels-last";
    case TensorLayout::mkldnn: return "mkldnn";
  }
  return "contiguous";
}

TensorLayout default_layout(const torch::Device& device) {
  if (device.is_cuda()) return TensorLayout::channels_last;
  return at::hasMKLDNN() ? TensorLayout::mkldnn : TensorLayout::contiguous;
}

TensorLayout parse_layout(const std::string& name, const torch::Device& device) {
  if (name == "auto") return default_layout(device);
  if (name == "contiguous") return TensorLayout::contiguous;
  if (name == "channels-last" || name == "channels_last") return TensorLayout::channels_last;
  if (name == "mkldnn") {
    if (!device.is_cpu() || !at::hasMKLDNN()) {
      throw UserError("--layout mkldnn: needs --device cpu and a LibTorch built with oneDNN (MKLDNN); use auto");
    }
    return TensorLayout::mkldnn;
  }
  throw UserError("--layout '" + name + "': use auto, mkldnn, channels-last or contiguous");
}

std::unique_ptr<FusedBackbone> FusedBackbone::compile(const torch::nn::Module& backbone, const torch::Device& device,
                                                      TensorLayout layout) {
  if (layout == TensorLayout::mkldnn && (!device.is_cpu() || !at::hasMKLDNN())) return nullptr;
  torch::NoGradGuard no_grad;
  auto compiled = fuse_resnet(backbone, layout);
  if (!compiled) compiled = fuse_conv_stages(backbone, layout);
  if (!compiled) return nullptr;
  return std::unique_ptr<FusedBackbone>(new FusedBackbone(layout, std::move(compiled->first), std::move(compiled->second)));
}

FusedBackbone::FusedBackbone(TensorLayout layout, Convolution stem, std::vector<Stage> stages)
    : layout_(layout), stem_(std::move(stem)), stages_(std::move(stages)) {}

torch::Tensor FusedBackbone::convolve(const Convolution& conv, const torch::Tensor& x) const {
  if (layout_ == TensorLayout::mkldnn) {
    return at::mkldnn_convolution(x, conv.weight, conv.bias, conv.padding, conv.stride, /*dilation=*/{1, 1}, /*groups=*/1);
  }
  return at::conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding);
}

torch::Tensor FusedBackbone::run_block(const Block& block, const torch::Tensor& x,  // x: [B,C,H,W]
                                       const ActivationObserver& observe) const {
  torch::Tensor out = x;
  for (size_t i = 0; i < block.convs.size(); ++i) {
    out = convolve(block.convs[i], out);                              // [B,C_i,H/s,W/s]
    if (i + 1 < block.convs.size() || !block.residual) out.relu_();
    if (observe) observe(out);
  }
  if (!block.residual) return out;
  const torch::Tensor shortcut = block.has_shortcut ? convolve(block.shortcut, x) : x;  // [B,C_out,H/s,W/s]
  if (observe && block.has_shortcut) observe(shortcut);
  out.add_(shortcut).relu_();
  if (observe) observe(out);
  return out;
}

BackboneFeatures FusedBackbone::forward(const torch::Tensor& images,  // images: [B,3,H,W]
                                        const ActivationObserver& observe) const {
  torch::Tensor x = images.to(torch::kFloat32);
  if (layout_ == TensorLayout::mkldnn) x = x.contiguous().to_mkldnn();
  if (layout_ == TensorLayout::channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  if (observe) observe(x);
  x = convolve(stem_, x).relu_();                                      // [B,C,H/2,W/2]
  if (observe) observe(x);
  x = at::max_pool2d(x, /*kernel_size=*/{3, 3}, /*stride=*/{2, 2}, /*padding=*/{1, 1});  // [B,C,H/4,W/4]
  std::vector<torch::Tensor> outputs;                                  // each stage's output
  for (const Stage& stage : stages_) {
    for (const Block& block : stage.blocks) x = run_block(block, x, observe);
    outputs.push_back(x);
  }
  auto dense = [this](const torch::Tensor& map) { return layout_ == TensorLayout::mkldnn ? map.to_dense() : map; };
  const size_t n = outputs.size();
  return {dense(outputs[n - 3]), dense(outputs[n - 2]), dense(outputs[n - 1])};  // C3 [B,C3,H/8,W/8] .. C5
}

}  // namespace trashcl
