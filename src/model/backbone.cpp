#include "model/backbone.h"

#include <functional>

#include "common/error.h"
#include "model/resnet.h"

namespace trashcl {
namespace {

// Four conv-BN-ReLU layers with the ResNet strides (stem /2 + max pool /2, then /2 per stage), so every
// consumer of C3/C4/C5 sees the real shapes at a fraction of the cost: for tests on 32x32 images.
class TinyBackboneImpl : public BackboneImpl {
 public:
  TinyBackboneImpl()
      : stem_(register_module("stem", conv_bn_relu(3, 8))),
        stage3_(register_module("stage3", conv_bn_relu(8, kChannels[0]))),
        stage4_(register_module("stage4", conv_bn_relu(kChannels[0], kChannels[1]))),
        stage5_(register_module("stage5", conv_bn_relu(kChannels[1], kChannels[2]))) {}

  BackboneFeatures forward(const torch::Tensor& images) override {  // images: [B,3,H,W]
    auto x = stem_->forward(images);                                // [B,8,H/2,W/2]
    x = torch::max_pool2d(x, /*kernel_size=*/3, /*stride=*/2, /*padding=*/1);  // [B,8,H/4,W/4]
    BackboneFeatures features;
    features.c3 = stage3_->forward(x);                              // [B,16,H/8,W/8]
    features.c4 = stage4_->forward(features.c3);                    // [B,32,H/16,W/16]
    features.c5 = stage5_->forward(features.c4);                    // [B,64,H/32,W/32]
    return features;
  }

  std::array<int64_t, 3> channels() const override { return kChannels; }

 private:
  static constexpr std::array<int64_t, 3> kChannels = {16, 32, 64};

  static torch::nn::Sequential conv_bn_relu(int64_t in_channels, int64_t out_channels) {
    return torch::nn::Sequential(
        torch::nn::Conv2d(
            torch::nn::Conv2dOptions(in_channels, out_channels, 3).stride(2).padding(1).bias(false)),
        torch::nn::BatchNorm2d(out_channels), torch::nn::ReLU());
  }

  torch::nn::Sequential stem_, stage3_, stage4_, stage5_;
};

struct BackboneEntry {
  std::string name;
  std::function<std::shared_ptr<BackboneImpl>()> make;
};

const std::vector<BackboneEntry>& registry() {
  static const std::vector<BackboneEntry> entries = [] {
    std::vector<BackboneEntry> built;
    for (const auto& architecture : resnet_architectures()) {
      built.push_back({architecture.name, [architecture] { return std::make_shared<ResNetImpl>(architecture); }});
    }
    built.push_back({"tiny", [] { return std::make_shared<TinyBackboneImpl>(); }});
    return built;
  }();
  return entries;
}

}  // namespace

std::shared_ptr<BackboneImpl> make_backbone(const std::string& name) {
  for (const auto& entry : registry()) {
    if (entry.name == name) return entry.make();
  }
  std::string known;
  for (const auto& entry : registry()) known += (known.empty() ? "" : ", ") + entry.name;
  throw UserError("unknown backbone '" + name + "': the known backbones are " + known);
}

std::vector<std::string> backbone_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.name);
  return names;
}

}  // namespace trashcl
