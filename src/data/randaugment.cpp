#include "data/randaugment.h"

#include <algorithm>
#include <cmath>

#include "data/view_cpu.h"

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

// ---- the same ops on one sample's planes [3,H,W], for make_view's CPU path ---------------------------------
// Each loop does the tensor ops' float operations; only the order within a few sums may differ (the 3x3
// filter of sharpness, the grey mean, accumulated in double here), by about a float step.

constexpr float kRounder = 12582912.0f;  // 1.5 * 2^23: (v + kRounder) - kRounder rounds half to even

TRASHCL_SIMD_CLONES
void scale_clamped(float* values, int64_t count, float factor) {
  for (int64_t p = 0; p < count; ++p) values[p] = std::clamp(values[p] * factor, 0.0f, 1.0f);
}

// target + (value - target) * factor, clamped: contrast against the grey mean.
TRASHCL_SIMD_CLONES
void blend_with_constant(float* values, int64_t count, float target, float factor) {
  for (int64_t p = 0; p < count; ++p) values[p] = std::clamp(target + (values[p] - target) * factor, 0.0f, 1.0f);
}

// The grey level of every pixel, (r w0 + g w1) + b w2. grey: [P].
TRASHCL_SIMD_CLONES
void grey_levels(const float* __restrict red, const float* __restrict green, const float* __restrict blue,
                 float* __restrict grey, int64_t count) {
  const float w0 = static_cast<float>(kGreyWeights[0]), w1 = static_cast<float>(kGreyWeights[1]);
  const float w2 = static_cast<float>(kGreyWeights[2]);
  for (int64_t p = 0; p < count; ++p) grey[p] = (red[p] * w0 + green[p] * w1) + blue[p] * w2;
}

// grey + (value - grey) * factor, clamped: saturation against each pixel's grey level.
TRASHCL_SIMD_CLONES
void blend_with_grey(float* __restrict values, const float* __restrict grey, int64_t count, float factor) {
  for (int64_t p = 0; p < count; ++p) values[p] = std::clamp(grey[p] + (values[p] - grey[p]) * factor, 0.0f, 1.0f);
}

// PIL's SMOOTH filter blended against one plane; the one-pixel border keeps the original. original: a copy.
TRASHCL_SIMD_CLONES
void sharpen_plane(float* __restrict plane, const float* __restrict original, int64_t height, int64_t width,
                   float factor) {
  const float edge = 1.0f / 13, centre = 5.0f / 13;
  for (int64_t y = 1; y + 1 < height; ++y) {
    const float* above = original + (y - 1) * width;
    const float* row = above + width;
    const float* below = row + width;
    float* out = plane + y * width;
    for (int64_t x = 1; x + 1 < width; ++x) {
      const float smooth = above[x - 1] * edge + above[x] * edge + above[x + 1] * edge + row[x - 1] * edge +
                           row[x] * centre + row[x + 1] * edge + below[x - 1] * edge + below[x] * edge +
                           below[x + 1] * edge;
      out[x] = std::clamp(smooth + (row[x] - smooth) * factor, 0.0f, 1.0f);
    }
  }
}

TRASHCL_SIMD_CLONES
void posterize_plane(float* values, int64_t count, float step) {
  for (int64_t p = 0; p < count; ++p) {
    const float level = (values[p] * 255.0f + kRounder) - kRounder;
    values[p] = std::clamp(std::floor(level / step) * step / 255.0f, 0.0f, 1.0f);
  }
}

TRASHCL_SIMD_CLONES
void solarize_plane(float* values, int64_t count, float threshold) {
  for (int64_t p = 0; p < count; ++p) {
    values[p] = std::clamp(values[p] >= threshold ? 1 - values[p] : values[p], 0.0f, 1.0f);
  }
}

// Smallest and largest value of a plane, eight running lanes so the loop vectorises.
TRASHCL_SIMD_CLONES
void plane_range(const float* values, int64_t count, float& low, float& high) {
  float lows[8], highs[8];
  std::fill_n(lows, 8, values[0]);
  std::fill_n(highs, 8, values[0]);
  int64_t p = 0;
  for (; p + 8 <= count; p += 8) {
    for (int k = 0; k < 8; ++k) {
      lows[k] = std::min(lows[k], values[p + k]);
      highs[k] = std::max(highs[k], values[p + k]);
    }
  }
  for (; p < count; ++p) {
    lows[0] = std::min(lows[0], values[p]);
    highs[0] = std::max(highs[0], values[p]);
  }
  low = *std::min_element(lows, lows + 8);
  high = *std::max_element(highs, highs + 8);
}

TRASHCL_SIMD_CLONES
void stretch_plane(float* values, int64_t count, float offset, float scale) {
  for (int64_t p = 0; p < count; ++p) values[p] = std::clamp((values[p] - offset) * scale, 0.0f, 1.0f);
}

// round(255 v) of every value, as 8-bit levels (values are in [0,1]; the clamp only guards the indices).
TRASHCL_SIMD_CLONES
void quantise_plane(const float* values, int64_t count, uint8_t* levels) {
  for (int64_t p = 0; p < count; ++p) {
    levels[p] = static_cast<uint8_t>(std::clamp((values[p] * 255.0f + kRounder) - kRounder, 0.0f, 255.0f));
  }
}

// torchvision's equalize on one plane, with equalize()'s float arithmetic: levels round(255 v), the lookup
// table from the cumulative histogram; a plane whose step is 0 (nearly one level) stays unchanged.
void equalize_plane(float* values, int64_t count, std::vector<uint8_t>& levels) {
  levels.resize(count);
  quantise_plane(values, count, levels.data());
  // Four histograms, so runs of one level (smooth images) do not wait on the same counter.
  int32_t partial[4][256] = {};
  int64_t p = 0;
  for (; p + 4 <= count; p += 4)
    for (int k = 0; k < 4; ++k) ++partial[k][levels[p + k]];
  for (; p < count; ++p) ++partial[0][levels[p]];
  float counts[256];
  int brightest = 0;
  for (int level = 0; level < 256; ++level) {
    counts[level] = static_cast<float>(partial[0][level] + partial[1][level] + partial[2][level] + partial[3][level]);
    if (counts[level] > 0) brightest = level;
  }
  const float step = std::floor((static_cast<float>(count) - counts[brightest]) / 255.0f);
  if (!(step > 0)) {
    for (p = 0; p < count; ++p) values[p] = std::clamp(values[p], 0.0f, 1.0f);
    return;
  }
  float table[256], cumulative = 0;
  const float half = std::floor(step / 2), divisor = std::max(step, 1.0f);
  table[0] = 0;
  for (int level = 0; level < 255; ++level) {
    cumulative += counts[level];
    table[level + 1] = std::clamp(std::floor((cumulative + half) / divisor), 0.0f, 255.0f) / 255.0f;
  }
  for (p = 0; p < count; ++p) values[p] = table[levels[p]];
}

}  // namespace

void apply_randaugment_pixel_op_cpu(float* image, int64_t height, int64_t width, const RandAugmentChoice& choice,
                                    double magnitude) {
  if (!is_pixel_op(choice.op)) return;
  const double strength = magnitude / 30;
  const float factor = static_cast<float>(1 + choice.sign * kMaxEnhance * strength);
  const int64_t plane = height * width;
  float* red = image;
  float* green = red + plane;
  float* blue = green + plane;
  thread_local std::vector<float> scratch;
  thread_local std::vector<uint8_t> levels;
  switch (choice.op) {
    case RandAugmentOp::brightness:
      scale_clamped(image, 3 * plane, factor);
      return;
    case RandAugmentOp::color:
      scratch.resize(plane);
      grey_levels(red, green, blue, scratch.data(), plane);
      for (float* channel : {red, green, blue}) blend_with_grey(channel, scratch.data(), plane, factor);
      return;
    case RandAugmentOp::contrast: {
      scratch.resize(plane);
      grey_levels(red, green, blue, scratch.data(), plane);
      const float mean = static_cast<float>(sum_in_double(scratch.data(), plane) / static_cast<double>(plane));
      blend_with_constant(image, 3 * plane, mean, factor);
      return;
    }
    case RandAugmentOp::sharpness:
      scratch.resize(plane);
      for (float* channel : {red, green, blue}) {
        std::copy(channel, channel + plane, scratch.begin());
        sharpen_plane(channel, scratch.data(), height, width, factor);
      }
      return;
    case RandAugmentOp::posterize: {
      const int bits = 8 - static_cast<int>(std::lround(4 * strength));
      posterize_plane(image, 3 * plane, static_cast<float>(std::ldexp(1.0, 8 - bits)));
      return;
    }
    case RandAugmentOp::solarize:
      solarize_plane(image, 3 * plane, static_cast<float>(1 - strength));
      return;
    case RandAugmentOp::autocontrast:
      for (float* channel : {red, green, blue}) {
        float low, high;
        plane_range(channel, plane, low, high);
        const float spread = high - low;
        stretch_plane(channel, plane, spread <= 0 ? 0.0f : low, spread <= 0 ? 1.0f : 1 / spread);
      }
      return;
    case RandAugmentOp::equalize:
      for (float* channel : {red, green, blue}) equalize_plane(channel, plane, levels);
      return;
    default:
      return;
  }
}

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
