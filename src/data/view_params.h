// Everything random about one sample's view, drawn on the CPU before a pixel is touched: the crop, the flip
// and RandAugment's geometric ops folded into one affine map; colour jitter and grayscale folded into one colour
// map; RandAugment's pixel ops; the blur. A view's parameters depend only on (sample seed, view kind, image
// size, config), never on the batch, thread or device that builds it. augment.cpp applies them to pixels.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "data/augment.h"
#include "data/randaugment.h"

namespace trashcl {

using Affine = std::array<double, 6>;   // row-major 2x3: (x, y) -> (a0 x + a1 y + a2, a3 x + a4 y + a5)
using Matrix3 = std::array<double, 9>;  // row-major 3x3

inline constexpr Matrix3 kIdentityMatrix{1, 0, 0, 0, 1, 0, 0, 0, 1};
inline constexpr Matrix3 kZeroMatrix{};

// A sample's colour jitter (and grayscale) as one affine map x -> linear x + mean_weight mu, where mu is the
// view's mean colour before the map. Contrast blends with the grey mean of the image as it is at that point,
// which is linear in mu, so any sequence of brightness, contrast, saturation, hue and grayscale folds into
// one matrix product. Unlike torchvision there is one clamp at the end, not one per op.
struct ColourMap {
  Matrix3 linear = kIdentityMatrix;
  Matrix3 mean_weight = kZeroMatrix;

  void brightness(double factor);
  void contrast(double factor);
  void saturation(double factor);
  void hue(double turns);
  void grayscale();
  bool is_identity() const { return linear == kIdentityMatrix && mean_weight == kZeroMatrix; }

 private:
  void then(const Matrix3& op);
};

// Everything random about one sample's view.
struct ViewParams {
  ViewGeometry geometry;
  ColourMap colour;
  std::vector<RandAugmentChoice> randaugment;  // anchor: pixel ops applied in this order
  double blur_sigma = 0;                       // in output pixels; 0 leaves the view sharp
};

// Throws UserError when the config cannot make views (too small, crop scale outside (0, 1], bad blur range).
void check_augment_config(const AugmentConfig& config);

// One sample's view of an image of height x width pixels.
ViewParams draw_view_params(ViewKind kind, uint64_t sample_seed, int height, int width, const AugmentConfig& config);

// The blur radius of every view: it follows the largest sigma, so all kernels of a batch share a size.
int blur_radius(const AugmentConfig& config);

// Normalised Gaussian taps [2R+1] of one sample.
std::vector<float> blur_kernel(double sigma, int radius);

}  // namespace trashcl
