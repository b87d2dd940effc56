#include "train/cutmix.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace trashcl {

CutMixBatch cutmix(const torch::Tensor& images, const torch::Tensor& labels) {
  if (!images.defined() || images.dim() != 4 || !labels.defined() || labels.dim() != 1 ||
      labels.size(0) != images.size(0)) {
    throw UserError("cutmix: expected images [B,3,H,W] and labels [B]");
  }
  const int64_t batch = images.size(0), height = images.size(2), width = images.size(3);
  const auto draws = torch::rand({3}, torch::kFloat64);  // [3] lambda, centre y, centre x in [0, 1)
  const auto partner = torch::randperm(batch, torch::kInt64).to(images.device());  // [B]
  const double lambda = draws[0].item<double>(), side = std::sqrt(1.0 - lambda);
  auto span = [&](int64_t size, double centre_draw) -> std::pair<int64_t, int64_t> {
    const auto centre = static_cast<int64_t>(centre_draw * static_cast<double>(size));
    const auto half = static_cast<int64_t>(side * static_cast<double>(size)) / 2;
    return {std::clamp<int64_t>(centre - half, 0, size), std::clamp<int64_t>(centre + half, 0, size)};
  };
  const auto [top, bottom] = span(height, draws[1].item<double>());
  const auto [left, right] = span(width, draws[2].item<double>());

  CutMixBatch out;
  out.images = images.clone();  // [B,3,H,W]
  out.images.slice(2, top, bottom).slice(3, left, right)
      .copy_(images.index_select(0, partner).slice(2, top, bottom).slice(3, left, right));
  out.mix.partner_labels = labels.index_select(0, partner);  // [B]
  out.mix.own_share = 1.0 - static_cast<double>((bottom - top) * (right - left)) / static_cast<double>(height * width);
  return out;
}

bool cutmix_this_step(double p) { return p > 0.0 && torch::rand({1}, torch::kFloat64).item<double>() < p; }

}  // namespace trashcl
