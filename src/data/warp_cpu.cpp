#include "data/warp_cpu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace trashcl {
namespace {

constexpr int64_t kSteps = static_cast<int64_t>(kPositionSteps);
constexpr int kStepBits = 8;  // kSteps == 1 << kStepBits: a position splits into pixel and weight with shifts
static_assert(kSteps == (1 << kStepBits), "kPositionSteps must be 2^kStepBits");

// The readable pixels of one sample's bilinear taps: interleaved RGB rows of uint8 levels (factor 1, read
// in place from the batch) or of float f x f block sums (factor > 1, only the region the view reaches).
template <typename T>
struct Source {
  const T* data = nullptr;  // pixel (x_low, y_low)
  int64_t row_stride = 0;   // elements per row
  int64_t x_low = 0, x_high = 0, y_low = 0, y_high = 0;  // inclusive range, in (downscaled) pixels
  float scale = 1;          // value -> [0,1]
};

// Where a sample's output pixel centres land, in 1/kSteps (downscaled) pixels, computed in float in the
// tensor path's order (column0 * x + column1 * y, then + column2, round half to even, clamp), so both paths
// sample the same positions.
struct Positions {
  float c0x, c0y, c1x, c1y, c2x, c2y;  // the affine's columns, scaled to steps
  float last_x, last_y;                // the last pixel centre, in steps

  Positions(const WarpSample& sample) {
    const double to_steps = kPositionSteps / sample.factor;
    const auto& a = sample.affine;
    c0x = static_cast<float>(a[0] * to_steps), c0y = static_cast<float>(a[3] * to_steps);
    c1x = static_cast<float>(a[1] * to_steps), c1y = static_cast<float>(a[4] * to_steps);
    c2x = static_cast<float>(a[2] * to_steps), c2y = static_cast<float>(a[5] * to_steps);
    last_x = static_cast<float>((sample.width / sample.factor - 0.5) * kPositionSteps);
    last_y = static_cast<float>((sample.height / sample.factor - 0.5) * kPositionSteps);
  }
  // Offset from the first pixel centre (steps - kSteps / 2) >= 0, given the products with the centres.
  // Clamping before rounding gives the same result (the bounds are whole steps) and keeps the value small
  // enough for rounding by adding 1.5 * 2^23, which is half to even like torch's round and, unlike
  // std::nearbyint without SSE4.1, needs no library call per pixel.
  static int64_t offset(float along_x, float along_y, float shift, float last) {
    constexpr float kRounder = 12582912.0f;  // 1.5 * 2^23: float spacing 1 around it
    const float clamped = std::min(std::max((along_x + along_y) + shift, static_cast<float>(kSteps / 2)), last);
    return static_cast<int64_t>((clamped + kRounder) - kRounder) - kSteps / 2;
  }
  int64_t x(float cx, float cy) const { return offset(c0x * cx, c1x * cy, c2x, last_x); }
  int64_t y(float cx, float cy) const { return offset(c0y * cx, c1y * cy, c2y, last_y); }
};

// Writes one sample's view: out [3,S,S]. centres [S]: the output pixel centres in normalised coordinates.
template <typename T>
void warp_sample(const Source<T>& source, const Positions& positions, const std::vector<float>& centres,
                 std::vector<float>& along_x, float* out) {
  const int64_t side = static_cast<int64_t>(centres.size()), plane = side * side;
  along_x.resize(2 * side);  // products of column 0 with the x centres, hoisted out of the rows
  for (int64_t j = 0; j < side; ++j) {
    along_x[2 * j] = positions.c0x * centres[j];
    along_x[2 * j + 1] = positions.c0y * centres[j];
  }
  constexpr float kWeightStep = 1.0f / kSteps;
  for (int64_t i = 0; i < side; ++i) {
    const float along_y_x = positions.c1x * centres[i], along_y_y = positions.c1y * centres[i];
    float* red = out + i * side;
    for (int64_t j = 0; j < side; ++j) {
      const int64_t qx = Positions::offset(along_x[2 * j], along_y_x, positions.c2x, positions.last_x);
      const int64_t qy = Positions::offset(along_x[2 * j + 1], along_y_y, positions.c2y, positions.last_y);
      // Clamping to the readable range only matters at the last pixel centre, where the weight is 0.
      const int64_t x0 = std::clamp((qx >> kStepBits), source.x_low, source.x_high) - source.x_low;
      const int64_t y0 = std::clamp((qy >> kStepBits), source.y_low, source.y_high) - source.y_low;
      const int64_t x1 = std::min(x0 + 1, source.x_high - source.x_low);
      const int64_t y1 = std::min(y0 + 1, source.y_high - source.y_low);
      const float wx = static_cast<float>(qx & (kSteps - 1)) * kWeightStep;
      const float wy = static_cast<float>(qy & (kSteps - 1)) * kWeightStep;
      const T* top = source.data + y0 * source.row_stride;
      const T* bottom = source.data + y1 * source.row_stride;
      for (int c = 0; c < 3; ++c) {
        const float upper = static_cast<float>(top[3 * x0 + c]) + wx * (static_cast<float>(top[3 * x1 + c]) - static_cast<float>(top[3 * x0 + c]));
        const float lower = static_cast<float>(bottom[3 * x0 + c]) + wx * (static_cast<float>(bottom[3 * x1 + c]) - static_cast<float>(bottom[3 * x0 + c]));
        red[c * plane + j] = (upper + wy * (lower - upper)) * source.scale;
      }
    }
  }
}

// The inclusive range of (downscaled) pixels the view's taps reach along one axis: the affine is linear,
// so the extremes are at the corner pixel centres; one pixel of margin covers float rounding in between.
void reach(int64_t a, int64_t b, int64_t c, int64_t d, int64_t extent, int64_t& low, int64_t& high) {
  low = std::max<int64_t>(0, (std::min({a, b, c, d}) >> kStepBits) - 1);
  high = std::min<int64_t>(extent - 1, (std::max({a, b, c, d}) >> kStepBits) + 2);
}

// The f x f block sums (float, exact) of the region [x_low, x_high] x [y_low, y_high] of downscaled pixels.
// image: the sample's uint8 rows (row_stride bytes apart). Only the reached region is summed: a random
// crop often covers a small part of the image.
void block_sums(const uint8_t* image, int64_t row_stride, int factor, Source<float>& source,
                std::vector<float>& sums, std::vector<int32_t>& row) {
  const int64_t width = source.x_high - source.x_low + 1, height = source.y_high - source.y_low + 1;
  sums.resize(height * width * 3);
  row.resize(width * 3);
  for (int64_t y = 0; y < height; ++y) {
    std::fill(row.begin(), row.end(), 0);
    for (int r = 0; r < factor; ++r) {
      const uint8_t* pixel = image + ((source.y_low + y) * factor + r) * row_stride + source.x_low * factor * 3;
      for (int64_t x = 0; x < width; ++x) {
        for (int k = 0; k < factor; ++k, pixel += 3) {
          row[3 * x] += pixel[0];
          row[3 * x + 1] += pixel[1];
          row[3 * x + 2] += pixel[2];
        }
      }
    }
    std::copy(row.begin(), row.end(), sums.begin() + y * width * 3);
  }
  source.data = sums.data();
  source.row_stride = width * 3;
  source.scale = 1.0f / (255.0f * factor * factor);
}

}  // namespace

torch::Tensor warp_cpu(const torch::Tensor& pixels, const std::vector<WarpSample>& samples, int side) {
  if (!pixels.device().is_cpu() || pixels.scalar_type() != torch::kUInt8 || pixels.dim() != 4 || pixels.size(3) != 3 ||
      !pixels.is_contiguous() || pixels.size(0) != static_cast<int64_t>(samples.size())) {
    throw std::invalid_argument("warp_cpu: expects a contiguous CPU uint8 [B,H,W,3] batch and B samples, got " +
                                c10::str(pixels.sizes()) + " for " + std::to_string(samples.size()) + " samples");
  }
  const int64_t count = pixels.size(0), row_stride = pixels.size(2) * 3, image_bytes = pixels.size(1) * row_stride;
  // The tensor path's centres, arange(S) * 2 + 1, / S, - 1 in float, so both paths see the same values.
  const auto centre_tensor = torch::arange(side, torch::kFloat).mul_(2).add_(1).div_(side).sub_(1);  // [S]
  const std::vector<float> centres(centre_tensor.data_ptr<float>(), centre_tensor.data_ptr<float>() + side);
  auto views = torch::empty({count, 3, side, side}, torch::kFloat);  // [B,3,S,S]
  const uint8_t* batch = pixels.data_ptr<uint8_t>();
  float* out = views.data_ptr<float>();
  at::parallel_for(0, count, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> along_x, sums;  // scratch, reused by this thread's samples
    std::vector<int32_t> row;
    for (int64_t b = begin; b < end; ++b) {
      const WarpSample& sample = samples[b];
      const Positions positions(sample);
      const uint8_t* image = batch + b * image_bytes;
      float* view = out + b * 3 * side * side;
      if (sample.factor == 1) {
        Source<uint8_t> source{image, row_stride, 0, sample.width - 1, 0, sample.height - 1, 1.0f / 255};
        warp_sample(source, positions, centres, along_x, view);
        continue;
      }
      const float first = centres.front(), last = centres.back();
      Source<float> source;
      reach(positions.x(first, first), positions.x(first, last), positions.x(last, first), positions.x(last, last),
            sample.width / sample.factor, source.x_low, source.x_high);
      reach(positions.y(first, first), positions.y(first, last), positions.y(last, first), positions.y(last, last),
            sample.height / sample.factor, source.y_low, source.y_high);
      block_sums(image, row_stride, sample.factor, source, sums, row);
      warp_sample(source, positions, centres, along_x, view);
    }
  });
  return views;
}

}  // namespace trashcl
