// Backbones by name (timm-style registry): each maps images to the stage outputs C3, C4, C5.
#pragma once
#include <torch/torch.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace trashcl {

// Stage outputs of a backbone for input [B,3,H,W]:
// c3 [B,C3,H/8,W/8], c4 [B,C4,H/16,W/16], c5 [B,C5,H/32,W/32].
struct BackboneFeatures {
  torch::Tensor c3, c4, c5;
};

class BackboneImpl : public torch::nn::Module {
 public:
  virtual BackboneFeatures forward(const torch::Tensor& images) = 0;
  // Channel counts of C3, C4, C5 (resnet18: 128, 256, 512; resnet50: 512, 1024, 2048).
  virtual std::array<int64_t, 3> channels() const = 0;
};

// "resnet18", "resnet34", "resnet50" (torchvision architecture and parameter names, without the fc
// layer, so torchvision weights can be imported), and "tiny" (a few small convolutions, for tests).
// Throws UserError naming the unknown name and listing the known ones.
std::shared_ptr<BackboneImpl> make_backbone(const std::string& name);
std::vector<std::string> backbone_names();

}  // namespace trashcl
