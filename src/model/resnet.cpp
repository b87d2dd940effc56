#include "model/resnet.h"

#include <memory>

namespace trashcl {
namespace {

torch::nn::Conv2d conv_no_bias(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride) {
  // No bias: the batch norm that follows every conv has its own shift.
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, kernel)
                               .stride(stride)
                               .padding(kernel / 2)
                               .bias(false));
}

// What the ResNet needs from either block type: forward, and the norm whose gamma zero_init_residual zeroes.
class ResidualBlockImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  virtual torch::nn::BatchNorm2d last_norm() const = 0;

 protected:
  // torchvision names the shortcut projection "downsample": a Sequential of 1x1 conv ("0") and BN ("1").
  void register_downsample_if_needed(int64_t in_planes, int64_t out_planes, int64_t stride) {
    if (stride == 1 && in_planes == out_planes) return;
    downsample_ = register_module(
        "downsample",
        torch::nn::Sequential(conv_no_bias(in_planes, out_planes, 1, stride), torch::nn::BatchNorm2d(out_planes)));
  }
  torch::Tensor shortcut(const torch::Tensor& x) { return downsample_ ? downsample_->forward(x) : x; }

 private:
  torch::nn::Sequential downsample_{nullptr};
};

// Two 3x3 convs (resnet18/34); output channels = planes.
class BasicBlockImpl : public ResidualBlockImpl {
 public:
  static constexpr int64_t kExpansion = 1;

  BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride)
      : conv1_(register_module("conv1", conv_no_bias(in_planes, planes, 3, stride))),
        bn1_(register_module("bn1", torch::nn::BatchNorm2d(planes))),
        conv2_(register_module("conv2", conv_no_bias(planes, planes, 3, 1))),
        bn2_(register_module("bn2", torch::nn::BatchNorm2d(planes))) {
    register_downsample_if_needed(in_planes, planes * kExpansion, stride);
  }

  torch::Tensor forward(const torch::Tensor& x) override {  // x: [B,in_planes,H,W]
    auto out = bn1_(conv1_(x)).relu_();                      // [B,planes,H/stride,W/stride]
    out = bn2_(conv2_(out));                                 // [B,planes,H/stride,W/stride]
    return (out + shortcut(x)).relu_();                      // [B,planes,H/stride,W/stride]
  }
  torch::nn::BatchNorm2d last_norm() const override { return bn2_; }

 private:
  torch::nn::Conv2d conv1_;
  torch::nn::BatchNorm2d bn1_;
  torch::nn::Conv2d conv2_;
  torch::nn::BatchNorm2d bn2_;
};

// 1x1 reduce, 3x3 (carrying the stride, as torchvision v1.5), 1x1 expand (resnet50); output = 4*planes.
class BottleneckImpl : public ResidualBlockImpl {
 public:
  static constexpr int64_t kExpansion = 4;

  BottleneckImpl(int64_t in_planes, int64_t planes, int64_t stride)
      : conv1_(register_module("conv1", conv_no_bias(in_planes, planes, 1, 1))),
        bn1_(register_module("bn1", torch::nn::BatchNorm2d(planes))),
        conv2_(register_module("conv2", conv_no_bias(planes, planes, 3, stride))),
        bn2_(register_module("bn2", torch::nn::BatchNorm2d(planes))),
        conv3_(register_module("conv3", conv_no_bias(planes, planes * kExpansion, 1, 1))),
        bn3_(register_module("bn3", torch::nn::BatchNorm2d(planes * kExpansion))) {
    register_downsample_if_needed(in_planes, planes * kExpansion, stride);
  }

  torch::Tensor forward(const torch::Tensor& x) override {  // x: [B,in_planes,H,W]
    auto out = bn1_(conv1_(x)).relu_();                      // [B,planes,H,W]
    out = bn2_(conv2_(out)).relu_();                         // [B,planes,H/stride,W/stride]
    out = bn3_(conv3_(out));                                 // [B,4*planes,H/stride,W/stride]
    return (out + shortcut(x)).relu_();                      // [B,4*planes,H/stride,W/stride]
  }
  torch::nn::BatchNorm2d last_norm() const override { return bn3_; }

 private:
  torch::nn::Conv2d conv1_;
  torch::nn::BatchNorm2d bn1_;
  torch::nn::Conv2d conv2_;
  torch::nn::BatchNorm2d bn2_;
  torch::nn::Conv2d conv3_;
  torch::nn::BatchNorm2d bn3_;
};

TORCH_MODULE(BasicBlock);
TORCH_MODULE(Bottleneck);

}  // namespace

const std::vector<ResNetArchitecture>& resnet_architectures() {
  static const std::vector<ResNetArchitecture> architectures = {
      {"resnet18", false, {2, 2, 2, 2}},
      {"resnet34", false, {3, 4, 6, 3}},
      {"resnet50", true, {3, 4, 6, 3}},
  };
  return architectures;
}

ResNetImpl::ResNetImpl(const ResNetArchitecture& architecture, bool zero_init_residual)
    : architecture_(architecture),
      expansion_(architecture.bottleneck ? BottleneckImpl::kExpansion : BasicBlockImpl::kExpansion) {
  // Registration order fixes the parameter order, which matches torchvision's state_dict.
  conv1_ = register_module("conv1", conv_no_bias(3, 64, 7, 2));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(64));
  layer1_ = register_module("layer1", make_stage(64, architecture.blocks_per_stage[0], 1));
  layer2_ = register_module("layer2", make_stage(128, architecture.blocks_per_stage[1], 2));
  layer3_ = register_module("layer3", make_stage(256, architecture.blocks_per_stage[2], 2));
  layer4_ = register_module("layer4", make_stage(512, architecture.blocks_per_stage[3], 2));
  initialise(zero_init_residual);
}

torch::nn::Sequential ResNetImpl::make_stage(int64_t planes, int64_t blocks, int64_t stride) {
  torch::nn::Sequential stage;  // children named "0", "1", ... as torchvision's layerN
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t block_stride = block == 0 ? stride : 1;  // only the first block of a stage downsamples
    if (architecture_.bottleneck) {
      stage->push_back(Bottleneck(in_planes_, planes, block_stride));
    } else {
      stage->push_back(BasicBlock(in_planes_, planes, block_stride));
    }
    in_planes_ = planes * expansion_;
  }
  return stage;
}

void ResNetImpl::initialise(bool zero_init_residual) {
  // torchvision's ResNet.__init__: He init scaled by fan_out for every conv, BN as the identity.
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, /*a=*/0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* norm = module->as<torch::nn::BatchNorm2d>()) {
      torch::nn::init::ones_(norm->weight);
      torch::nn::init::zeros_(norm->bias);
    }
  }
  if (!zero_init_residual) return;
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto block = std::dynamic_pointer_cast<ResidualBlockImpl>(module)) {
      torch::nn::init::zeros_(block->last_norm()->weight);
    }
  }
}

BackboneFeatures ResNetImpl::forward(const torch::Tensor& images) {  // images: [B,3,H,W]
  auto x = bn1_(conv1_(images)).relu_();                             // [B,64,H/2,W/2]
  x = torch::max_pool2d(x, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1);  // [B,64,H/4,W/4]
  x = layer1_->forward(x);                                           // [B,64*e,H/4,W/4], e = expansion
  BackboneFeatures features;
  features.c3 = layer2_->forward(x);                                 // [B,128*e,H/8,W/8]
  features.c4 = layer3_->forward(features.c3);                       // [B,256*e,H/16,W/16]
  features.c5 = layer4_->forward(features.c4);                       // [B,512*e,H/32,W/32]
  return features;
}

std::array<int64_t, 3> ResNetImpl::channels() const {
  return {128 * expansion_, 256 * expansion_, 512 * expansion_};
}

}  // namespace trashcl
