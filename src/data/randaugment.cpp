#include "data/randaugment.h"

#include <cmath>

namespace trashcl {
namespace {

// torchvision's largest magnitude of each op (at m = 30); the op uses (m / 30) of it.
constexpr double kMaxRotateDegrees = 30;
constexpr double kMaxShear = 0.3;
constexpr double kMaxTranslate = 150.0 / 331.0;  // fraction of the side (torchvision: 150 px of 331)
constexpr double kMaxEnhance = 0.9;              // brightness, color, contrast, sharpness factors 1 +- this
constexpr double kPi = 3.14159265358979323846;

// [n,1,S,S]: the grey image of each sample.
torch::Tensor grey(const torch::Tensor& images) {
  const auto weights = torch::tensor({kGreyWeights[0], kGreyWeights[1], kGreyWeights[2]}, images.options())
                           .view({1, 3, 1, 1});  // [1,3,1,1]
  return (images * weights).sum(1, /*keepdim=*/true);  // [n,1,S,S]
}

// [n,1,1,1]: each sample's mean grey level. Accumulated in double so that the float result does not depend
// on how the reduction is split across threads, which varies with the batch size.
torch::Tensor grey_mean(const torch::Tensor& images) {
  const double pixels = static_cast<double>(images.size(2) * images.size(3));
  return grey(images).sum({1, 2, 3}, /*keepdim=*/true, torch::kDouble).div(pixels).to(images.scalar_type());
}

// PIL's SMOOTH filter blended against the image; the one-pixel border keeps the original like torchvision.
torch::Tensor sharpen(const torch::Tensor& images, const torch::Tensor& factor) {
  const int64_t side_h = images.size(2), side_w = images.size(3);
  const auto kernel = torch::tensor({1.f, 1.f, 1.f, 1.f, 5.f, 1.f, 1.f, 1.f, 1.f}, images.options())
                          .div(13)
                          .view({1, 1, 3, 3})
                          .repeat({3, 1, 1, 1});                                 // [3,1,3,3]
  const auto smooth = torch::nn::functional::conv2d(images, kernel, torch::nn::functional::Conv2dFuncOptions().groups(3));  // [n,3,S-2,S-2]
  auto result = images.clone();                                                  // [n,3,S,S]
  auto interior = result.narrow(2, 1, side_h - 2).narrow(3, 1, side_w - 2);      // [n,3,S-2,S-2]
  interior.copy_(smooth + (interior - smooth) * factor);
  return result;
}

// Keeps the top `bits` bits of each 8-bit level.
torch::Tensor posterize(const torch::Tensor& images, int bits) {
  const double step = std::ldexp(1.0, 8 - bits);
  return images.mul(255).round_().div_(step).floor_().mul_(step).div_(255);  // [n,3,S,S]
}

// Per sample and channel, stretches [min, max] to [0, 1]; flat channels stay as they are.
torch::Tensor autocontrast(const torch::Tensor& images) {
  const auto low = images.amin({2, 3}, /*keepdim=*/true);   // [n,3,1,1]
  const auto high = images.amax({2, 3}, /*keepdim=*/true);  // [n,3,1,1]
  const auto spread = high - low;                           // [n,3,1,1]
  const auto flat = spread <= 0;
  const auto scale = torch::where(flat, torch::ones_like(spread), 1 / spread);  // [n,3,1,1]
  const auto offset = torch::where(flat, torch::zeros_like(low), low);          // [n,3,1,1]
  return (images - offset).mul_(scale);                                         // [n,3,S,S]
}

// torchvision's equalize per sample and channel on 8-bit levels: the lookup table spreads the histogram's
// cumulative counts over 0..255; channels whose step would be 0 (nearly one level) stay unchanged.
torch::Tensor equalize(const torch::Tensor& images) {
  const int64_t planes = images.size(0) * 3, pixels = images.size(2) * images.size(3);
  const auto levels = images.mul(255).round_().to(torch::kLong).view({planes, pixels});  // [n*3,P]
  const auto counts = torch::zeros({planes, 256}, images.options())
                          .scatter_add_(1, levels, torch::ones({planes, pixels}, images.options()));  // [n*3,256]
  const auto brightest = std::get<0>(levels.max(1, /*keepdim=*/true));                             // [n*3,1]
  const auto step = (static_cast<double>(pixels) - counts.gather(1, brightest)).div_(255).floor_();  // [n*3,1]
  auto table = (counts.cumsum(1) + step.div(2).floor_()).div_(step.clamp_min(1)).floor_();        // [n*3,256]
  table = torch::cat({torch::zeros({planes, 1}, images.options()), table.narrow(1, 0, 255)}, 1)
              .clamp_(0, 255);                                                                     // [n*3,256]
  const auto equalised = table.gather(1, levels).div_(255);                                        // [n*3,P]
  const auto unchanged = images.reshape({planes, pixels});                                         // [n*3,P]
  return torch::where(step > 0, equalised, unchanged).view_as(images);                            // [n,3,S,S]
}

// One pixel op on the samples that drew it; factor [n,1,1,1] is 1 +- 0.9 m/30 for the enhance ops.
torch::Tensor apply_pixel_op(RandAugmentOp op, const torch::Tensor& images, const torch::Tensor& factor,
                             double strength) {
  switch (op) {
    case RandAugmentOp::brightness:
      return images * factor;
    case RandAugmentOp::color: {
      const auto grey_images = grey(images);  // [n,1,S,S]
      return grey_images + (images - grey_images) * factor;
    }
    case RandAugmentOp::contrast: {
      const auto mean = grey_mean(images);  // [n,1,1,1]
      return mean + (images - mean) * factor;
    }
    case RandAugmentOp::sharpness:
      return sharpen(images, factor);
    case RandAugmentOp::posterize:
      return posterize(images, 8 - static_cast<int>(std::lround(4 * strength)));
    case RandAugmentOp::solarize:
      return torch::where(images >= 1 - strength, 1 - images, images);
    case RandAugmentOp::autocontrast:
      return autocontrast(images);
    case RandAugmentOp::equalize:
      return equalize(images);
    default:  // geometric ops and identity: already in the view's affine map
      return images;
  }
}

bool is_pixel_op(RandAugmentOp op) { return op >= RandAugmentOp::brightness; }

}  // namespace

std::array<double, 6> randaugment_inverse_map(const RandAugmentChoice& choice, double magnitude) {
  const double strength = choice.sign * magnitude / 30;
  switch (choice.op) {
    case RandAugmentOp::rotate: {
      const double angle = strength * kMaxRotateDegrees * kPi / 180;
      return {std::cos(angle), -std::sin(angle), 0, std::sin(angle), std::cos(angle), 0};
    }
    case RandAugmentOp::shear_x:
      return {1, strength * kMaxShear, 0, 0, 1, 0};
    case RandAugmentOp::shear_y:
      return {1, 0, 0, strength * kMaxShear, 1, 0};
    case RandAugmentOp::translate_x:  // normalised coordinates span 2 per side
      return {1, 0, 2 * strength * kMaxTranslate, 0, 1, 0};
    case RandAugmentOp::translate_y:
      return {1, 0, 0, 0, 1, 2 * strength * kMaxTranslate};
    default:
      return {1, 0, 0, 0, 1, 0};
  }
}

void apply_randaugment_pixel_ops(torch::Tensor& images, const std::vector<RandAugmentChoice>& choices,
                                 double magnitude) {
  const double strength = magnitude / 30;
  for (int op_index = 0; op_index < kRandAugmentOpCount; ++op_index) {
    const auto op = static_cast<RandAugmentOp>(op_index);
    if (!is_pixel_op(op)) continue;
    std::vector<int64_t> samples;
    std::vector<float> factors;
    for (size_t i = 0; i < choices.size(); ++i) {
      if (choices[i].op != op) continue;
      samples.push_back(static_cast<int64_t>(i));
      factors.push_back(static_cast<float>(1 + choices[i].sign * kMaxEnhance * strength));
    }
    if (samples.empty()) continue;
    const auto factor = torch::tensor(factors).view({-1, 1, 1, 1}).to(images.device());  // [n,1,1,1]
    apply_to_samples(images, samples, [&](const torch::Tensor& selected) {
      return apply_pixel_op(op, selected, factor, strength).clamp_(0, 1);  // [n,3,S,S]
    });
  }
}

void apply_to_samples(torch::Tensor& images, const std::vector<int64_t>& samples,
                      const std::function<torch::Tensor(const torch::Tensor&)>& op) {
  if (samples.empty()) return;
  if (static_cast<int64_t>(samples.size()) == images.size(0)) {
    images = op(images);
    return;
  }
  const auto index = torch::tensor(samples, torch::kLong).to(images.device());  // [n]
  write_samples(images, index, op(select_samples(images, index)));
}

torch::Tensor select_samples(const torch::Tensor& batch, const torch::Tensor& index) {
  std::vector<int64_t> shape = batch.sizes().vec();
  shape[0] = index.size(0);
  return batch.reshape({batch.size(0), -1}).index_select(0, index).view(shape);  // [n,...]
}

void write_samples(torch::Tensor& batch, const torch::Tensor& index, const torch::Tensor& values) {
  batch.view({batch.size(0), -1}).index_copy_(0, index, values.reshape({values.size(0), -1}));
}

}  // namespace trashcl
