#include "train/batch_mix.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace trashcl {
namespace {

void check_batch(const char* mix_name, const torch::Tensor& images, const torch::Tensor& labels) {
  if (!images.defined() || images.dim() != 4 || !labels.defined() || labels.dim() != 1 ||
      labels.size(0) != images.size(0)) {
    throw UserError(std::string(mix_name) + ": expected images [B,3,H,W] and labels [B]");
  }
}

// [B] a random permutation of the batch: image i is mixed with image partner[i].
torch::Tensor draw_partners(const torch::Tensor& images) {
  return torch::randperm(images.size(0), torch::kInt64).to(images.device());
}

}  // namespace

MixedBatch cutmix(const torch::Tensor& images, const torch::Tensor& labels) {
  check_batch("cutmix", images, labels);
  const int64_t height = images.size(2), width = images.size(3);
  const auto draws = torch::rand({3}, torch::kFloat64);  // [3] lambda, centre y, centre x in [0, 1)
  const auto partner = draw_partners(images);            // [B]
  const double lambda = draws[0].item<double>(), side = std::sqrt(1.0 - lambda);
  auto span = [&](int64_t size, double centre_draw) -> std::pair<int64_t, int64_t> {
    const auto centre = static_cast<int64_t>(centre_draw * static_cast<double>(size));
    const auto half = static_cast<int64_t>(side * static_cast<double>(size)) / 2;
    return {std::clamp<int64_t>(centre - half, 0, size), std::clamp<int64_t>(centre + half, 0, size)};
  };
  const auto [top, bottom] = span(height, draws[1].item<double>());
  const auto [left, right] = span(width, draws[2].item<double>());

  MixedBatch out;
  out.images = images.clone();  // [B,3,H,W]
  out.images.slice(2, top, bottom).slice(3, left, right)
      .copy_(images.index_select(0, partner).slice(2, top, bottom).slice(3, left, right));
  out.mix.partner_labels = labels.index_select(0, partner);  // [B]
  out.mix.own_share = 1.0 - static_cast<double>((bottom - top) * (right - left)) / static_cast<double>(height * width);
  return out;
}

MixedBatch mixup(const torch::Tensor& images, const torch::Tensor& labels, double alpha) {
  check_batch("mixup", images, labels);
  if (!(alpha > 0)) throw UserError("mixup: alpha must be positive");
  // Beta(alpha, alpha) as the first coordinate of a Dirichlet(alpha, alpha) draw.
  const double lambda = at::_sample_dirichlet(torch::full({2}, alpha, torch::kFloat64))[0].item<double>();
  const auto partner = draw_partners(images);  // [B]
  MixedBatch out;
  out.images = images * lambda + images.index_select(0, partner) * (1.0 - lambda);  // [B,3,H,W]
  out.mix.partner_labels = labels.index_select(0, partner);                          // [B]
  out.mix.own_share = lambda;
  return out;
}

bool cutmix_this_step(double p) { return p > 0.0 && torch::rand({1}, torch::kFloat64).item<double>() < p; }

MixedBatch mix_anchor_views(const torch::Tensor& images, const torch::Tensor& labels, double cutmix_p,
                            double mixup_alpha) {
  if (cutmix_this_step(cutmix_p)) return cutmix(images, labels);
  if (mixup_alpha > 0) return mixup(images, labels, mixup_alpha);
  return {images, AnchorMix{}};
}

}  // namespace trashcl
