#include "model/hash_fusion.h"

#include <cmath>
#include <string>

namespace trashcl {

double hash_beta(int64_t step, int64_t refresh, double rate) {
  const int64_t refreshed_at = step - step % refresh;  // beta changes only every `refresh` steps
  return std::sqrt(1.0 + rate * static_cast<double>(refreshed_at));
}

HashFusionImpl::HashFusionImpl(std::array<int64_t, 3> channels, int64_t bits, bool spatial) : bits_(bits) {
  for (int s = 0; s < 3; ++s) {
    const std::string scale = std::to_string(s + 3);
    linear_.push_back(register_module("linear" + scale, torch::nn::Linear(channels[s], bits)));
    norm_.push_back(register_module("norm" + scale, torch::nn::BatchNorm1d(bits)));
  }
  if (spatial) {
    spatial_norm_.push_back(register_module("spatial_norm4", torch::nn::BatchNorm1d(bits)));
    spatial_norm_.push_back(register_module("spatial_norm5", torch::nn::BatchNorm1d(bits)));
  }
  fuse_ = register_module("fuse", torch::nn::Linear(3 * bits, bits));
  beta_ = register_buffer("beta", torch::ones({}));
}

void HashFusionImpl::set_beta(double beta) {
  torch::NoGradGuard no_grad;
  beta_.fill_(beta);
}

double HashFusionImpl::beta() const { return beta_.item<double>(); }

torch::Tensor HashFusionImpl::code(const torch::Tensor& pre_activation) const {
  return torch::tanh(beta_.to(pre_activation.scalar_type()) * pre_activation);
}

torch::Tensor HashFusionImpl::spatial_codes(const torch::Tensor& feature_map, int64_t scale,
                                            torch::IntArrayRef grid) {
  auto pooled = torch::adaptive_avg_pool2d(feature_map, grid);                   // [B,C,H5,W5]
  const int64_t batch = pooled.size(0), positions = pooled.size(2) * pooled.size(3);
  auto per_position = pooled.flatten(2).transpose(1, 2);                          // [B,HW,C]
  auto projected = linear_[scale]->forward(per_position);                         // [B,HW,L]
  auto normalised = spatial_norm_[scale - 1]->forward(projected.reshape({batch * positions, bits_}));  // [B*HW,L]
  return code(normalised).reshape({batch, positions, bits_});                     // [B,HW,L]
}

HashCodes HashFusionImpl::forward(const BackboneFeatures& features) {
  const std::array<torch::Tensor, 3> maps = {features.c3, features.c4, features.c5};
  HashCodes out;
  for (int s = 0; s < 3; ++s) {
    auto pooled = maps[s].mean({2, 3});                                // [B,C_s]
    out.scale[s] = code(norm_[s]->forward(linear_[s]->forward(pooled)));  // [B,L]
  }
  auto joined = torch::cat({out.scale[0], out.scale[1], out.scale[2]}, 1);  // [B,3L]
  out.u = code(fuse_->forward(joined));                                     // [B,L]
  out.tokens = torch::stack({out.scale[0], out.scale[1], out.scale[2], out.u}, 1);  // [B,4,L]
  if (!spatial_norm_.empty()) {
    const auto grid = features.c5.sizes().slice(2);                        // {H5,W5}
    out.spatial = torch::cat({spatial_codes(features.c4, 1, grid),        // [B,HW,L]
                              spatial_codes(features.c5, 2, grid)}, 1);   // [B,2HW,L]
  }
  return out;
}

}  // namespace trashcl
