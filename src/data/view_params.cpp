#include "data/view_params.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

#include "common/error.h"
#include "common/random.h"

namespace trashcl {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kMinLogRatio = -0.28768207245178090;  // log(3/4): random resized crop aspect ratio range
constexpr double kMaxLogRatio = 0.28768207245178090;   // log(4/3)
constexpr double kPositiveJitter = 0.4;                // MoCo v2's ColorJitter(0.4, 0.4, 0.4, 0.1)
constexpr double kPositiveHue = 0.1;
constexpr double kEvalCropFraction = 224.0 / 256.0;    // resize short side to S*256/224, centre crop S
constexpr double kReferenceSide = 224;                 // blur sigmas are given at this view size

Affine compose(const Affine& outer, const Affine& inner) {
  return {outer[0] * inner[0] + outer[1] * inner[3], outer[0] * inner[1] + outer[1] * inner[4],
          outer[0] * inner[2] + outer[1] * inner[5] + outer[2], outer[3] * inner[0] + outer[4] * inner[3],
          outer[3] * inner[1] + outer[4] * inner[4], outer[3] * inner[2] + outer[4] * inner[5] + outer[5]};
}

Matrix3 operator*(const Matrix3& a, const Matrix3& b) {
  Matrix3 product{};
  for (int row = 0; row < 3; ++row)
    for (int column = 0; column < 3; ++column)
      for (int k = 0; k < 3; ++k) product[row * 3 + column] += a[row * 3 + k] * b[k * 3 + column];
  return product;
}

// weight * a + (1 - weight) * b, torchvision's _blend on matrices.
Matrix3 blend(double weight, const Matrix3& a, const Matrix3& b) {
  Matrix3 result;
  for (int i = 0; i < 9; ++i) result[i] = weight * a[i] + (1 - weight) * b[i];
  return result;
}

constexpr Matrix3 kToGrey{kGreyWeights[0], kGreyWeights[1], kGreyWeights[2], kGreyWeights[0], kGreyWeights[1],
                          kGreyWeights[2], kGreyWeights[0], kGreyWeights[1], kGreyWeights[2]};

// Hue shift as a rotation of RGB space about the grey axis R=G=B: HSV's hue is the angle around that axis,
// and unlike an HSV round trip the rotation is linear, so it folds into the colour map below.
Matrix3 hue_rotation(double turns) {
  const double c = std::cos(2 * kPi * turns), s = std::sin(2 * kPi * turns) / std::sqrt(3.0);
  const double diagonal = c + (1 - c) / 3, ahead = (1 - c) / 3 + s, behind = (1 - c) / 3 - s;
  return {diagonal, behind, ahead, ahead, diagonal, behind, behind, ahead, diagonal};
}

// Per-sample randomness. mt19937_64's sequence is fixed by the C++ standard but std's distributions are not,
// so uniform numbers are formed by hand and a view is the same with every standard library.
class SampleRandom {
 public:
  SampleRandom(uint64_t sample_seed, ViewKind kind) : engine_(mix_seed(sample_seed, static_cast<uint64_t>(kind) + 1)) {}
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double low, double high) { return low + (high - low) * uniform(); }
  int below(int bound) { return static_cast<int>(uniform() * bound); }
  bool chance(double probability) { return uniform() < probability; }
  double sign() { return chance(0.5) ? 1.0 : -1.0; }

 private:
  std::mt19937_64 engine_;
};

void set_crop(ViewGeometry& geometry, double x, double y, double width, double height) {
  geometry.crop_x = x;
  geometry.crop_y = y;
  geometry.crop_width = width;
  geometry.crop_height = height;
}

// torchvision's RandomResizedCrop.get_params: 10 tries at a random area and log-uniform aspect ratio,
// then the largest centred crop with an aspect ratio inside [3/4, 4/3].
void random_resized_crop(ViewGeometry& geometry, SampleRandom& random, int height, int width, double scale_min) {
  const double area = static_cast<double>(height) * width;
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * random.uniform(scale_min, 1.0);
    const double aspect = std::exp(random.uniform(kMinLogRatio, kMaxLogRatio));
    const int crop_w = static_cast<int>(std::lround(std::sqrt(target_area * aspect)));
    const int crop_h = static_cast<int>(std::lround(std::sqrt(target_area / aspect)));
    if (crop_w > 0 && crop_w <= width && crop_h > 0 && crop_h <= height) {
      const int y = random.below(height - crop_h + 1);
      const int x = random.below(width - crop_w + 1);
      set_crop(geometry, x, y, crop_w, crop_h);
      return;
    }
  }
  const double image_ratio = static_cast<double>(width) / height;
  int crop_w = width, crop_h = height;
  if (image_ratio < 3.0 / 4.0) crop_h = static_cast<int>(std::lround(width * 4.0 / 3.0));
  if (image_ratio > 4.0 / 3.0) crop_w = static_cast<int>(std::lround(height * 4.0 / 3.0));
  set_crop(geometry, (width - crop_w) / 2, (height - crop_h) / 2, crop_w, crop_h);
}

// torchvision's ColorJitter: factors uniform in [max(0, 1 - strength), 1 + strength], hue in
// [-hue_strength, hue_strength] turns, the ops in a random order.
void jitter(ColourMap& colour, SampleRandom& random, double strength, double hue_strength) {
  std::vector<int> order{0, 1, 2};
  if (hue_strength > 0) order.push_back(3);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[random.below(static_cast<int>(i))]);
  const double low = std::max(0.0, 1 - strength), high = 1 + strength;
  const double brightness = random.uniform(low, high), contrast = random.uniform(low, high);
  const double saturation = random.uniform(low, high), hue = random.uniform(-hue_strength, hue_strength);
  for (int op : order) {
    if (op == 0) colour.brightness(brightness);
    if (op == 1) colour.contrast(contrast);
    if (op == 2) colour.saturation(saturation);
    if (op == 3) colour.hue(hue);
  }
}

// Crop, then flip, then the geometric RandAugment ops (map_in_view, in normalised view coordinates).
Affine view_affine(const ViewGeometry& geometry, const Affine& map_in_view) {
  const double half_w = geometry.crop_width / 2, half_h = geometry.crop_height / 2;
  const Affine crop{geometry.flip ? -half_w : half_w, 0, geometry.crop_x + half_w,
                    0, half_h, geometry.crop_y + half_h};
  return compose(crop, map_in_view);
}

}  // namespace

void ColourMap::then(const Matrix3& op) {
  linear = op * linear;
  mean_weight = op * mean_weight;
}

void ColourMap::brightness(double factor) { then(blend(factor, kIdentityMatrix, kZeroMatrix)); }
void ColourMap::saturation(double factor) { then(blend(factor, kIdentityMatrix, kToGrey)); }
void ColourMap::hue(double turns) { then(hue_rotation(turns)); }
void ColourMap::grayscale() { then(kToGrey); }

void ColourMap::contrast(double factor) {
  Matrix3 current = linear;  // the current image's mean colour is (linear + mean_weight) mu
  for (int i = 0; i < 9; ++i) current[i] += mean_weight[i];
  mean_weight = blend(factor, mean_weight, kToGrey * current);
  linear = blend(factor, linear, kZeroMatrix);
}

void check_augment_config(const AugmentConfig& config) {
  if (config.image_size < 16) {
    throw UserError("augment: image_size " + std::to_string(config.image_size) + " is too small; use 16 or more");
  }
  for (double scale : {config.anchor_scale_min, config.positive_scale_min}) {
    if (!(scale > 0 && scale <= 1)) {
      throw UserError("augment: crop scale minimum " + std::to_string(scale) + " is outside (0, 1]; use e.g. 0.2");
    }
  }
  if (!(config.blur_sigma_min > 0 && config.blur_sigma_min <= config.blur_sigma_max)) {
    throw UserError("augment: blur sigma range must satisfy 0 < min <= max");
  }
}

ViewParams draw_view_params(ViewKind kind, uint64_t sample_seed, int height, int width, const AugmentConfig& config) {
  SampleRandom random(sample_seed, kind);
  ViewParams params;
  ViewGeometry& geometry = params.geometry;
  Affine map_in_view{1, 0, 0, 0, 1, 0};
  if (kind == ViewKind::eval) {
    const double side = std::min(height, width) * kEvalCropFraction;
    set_crop(geometry, (width - side) / 2, (height - side) / 2, side, side);
  } else if (kind == ViewKind::anchor) {
    random_resized_crop(geometry, random, height, width, config.anchor_scale_min);
    geometry.flip = random.chance(0.5);
    jitter(params.colour, random, config.anchor_jitter, 0);
    for (int slot = 0; slot < config.randaugment_ops; ++slot) {
      const RandAugmentChoice choice{static_cast<RandAugmentOp>(random.below(kRandAugmentOpCount)), random.sign()};
      params.randaugment.push_back(choice);
      map_in_view = compose(map_in_view, randaugment_inverse_map(choice, config.randaugment_magnitude));
    }
  } else {
    random_resized_crop(geometry, random, height, width, config.positive_scale_min);
    geometry.flip = random.chance(0.5);
    if (random.chance(config.positive_jitter_p)) jitter(params.colour, random, kPositiveJitter, kPositiveHue);
    if (random.chance(config.grayscale_p)) params.colour.grayscale();
    if (random.chance(config.blur_p)) {
      params.blur_sigma = random.uniform(config.blur_sigma_min, config.blur_sigma_max) * config.image_size / kReferenceSide;
    }
  }
  geometry.affine = view_affine(geometry, map_in_view);
  return params;
}

int blur_radius(const AugmentConfig& config) {
  const int side = config.image_size;
  return std::min(side - 1, static_cast<int>(std::ceil(3 * config.blur_sigma_max * side / kReferenceSide)));
}

std::vector<float> blur_kernel(double sigma, int radius) {
  std::vector<double> kernel;
  for (int t = -radius; t <= radius; ++t) kernel.push_back(std::exp(-t * t / (2 * sigma * sigma)));
  const double total = std::accumulate(kernel.begin(), kernel.end(), 0.0);
  std::vector<float> taps;
  for (double tap : kernel) taps.push_back(static_cast<float>(tap / total));
  return taps;
}

}  // namespace trashcl
