// ResNet-18/34/50 as torchvision builds them, without the classifier, returning C3, C4, C5.
#pragma once
#include <torch/torch.h>

#include <array>
#include <string>
#include <vector>

#include "model/backbone.h"

namespace trashcl {

// Block type and per-stage block counts; resnet50 uses Bottleneck with the stride on its 3x3 conv
// (torchvision's "v1.5", which is what torchvision's pretrained weights were trained with).
struct ResNetArchitecture {
  std::string name;                        // "resnet18", "resnet34", "resnet50"
  bool bottleneck = false;                 // BasicBlock (expansion 1) or Bottleneck (expansion 4)
  std::array<int64_t, 4> blocks_per_stage; // layer1..layer4
};

const std::vector<ResNetArchitecture>& resnet_architectures();

// Module and parameter names equal torchvision's state_dict keys minus fc.* (conv1.weight, bn1.*,
// layer2.0.downsample.0.weight, ...), in the same order, so torchvision weights load by name.
class ResNetImpl : public BackboneImpl {
 public:
  // zero_init_residual: start the last BN gamma of every residual block at 0, so each block begins as
  // the identity and the untrained network is effectively shallow. torchvision defaults to false; we
  // default to true because it stabilises from-scratch training on small data (Goyal et al., 2017).
  explicit ResNetImpl(const ResNetArchitecture& architecture, bool zero_init_residual = true);

  BackboneFeatures forward(const torch::Tensor& images) override;
  std::array<int64_t, 3> channels() const override;

 private:
  torch::nn::Sequential make_stage(int64_t planes, int64_t blocks, int64_t stride);
  void initialise(bool zero_init_residual);

  ResNetArchitecture architecture_;
  int64_t expansion_;
  int64_t in_planes_ = 64;  // channels entering the next block while the stages are built
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  torch::nn::Sequential layer1_{nullptr}, layer2_{nullptr}, layer3_{nullptr}, layer4_{nullptr};
};
TORCH_MODULE(ResNet);

}  // namespace trashcl
