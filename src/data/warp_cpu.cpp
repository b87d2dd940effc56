#include "data/warp_cpu.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <tuple>
#include <type_traits>

#include "data/view_cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace trashcl {
namespace {

constexpr int32_t kSteps = static_cast<int32_t>(kPositionSteps);
constexpr int kStepBits = 8;  // kSteps == 1 << kStepBits: a position splits into pixel and weight with shifts
static_assert(kSteps == (1 << kStepBits), "kPositionSteps must be 2^kStepBits");

// The readable pixels of one sample's bilinear taps: interleaved RGB rows of uint8 levels (factor 1, read
// in place from the batch) or of float f x f block sums (factor > 1, only the region the view reaches).
// Taps are weighted by whole steps (0..kSteps on each axis), so with uint8 levels every product and sum
// is an integer below 2^24, exact in float: the value is rounded once, by `scale`.
template <typename T>
struct Source {
  const T* data = nullptr;  // pixel (x_low, y_low)
  int64_t row_stride = 0;   // elements per row
  int32_t x_low = 0, y_low = 0;    // the region's first pixel, in (downscaled) pixels
  int32_t width = 0, height = 0;   // the region's extent; the taps read pixel x + 1 and row y + 1, so the
                                   // data holds at least 2 x 2 pixels (a 1-pixel region is duplicated)
  int32_t used_width = 0, used_height = 0;  // the region's real extent (<= width, height)
  float scale = 1;                 // weighted tap sum -> [0,1]
};

// Where a sample's output pixel centres land, in 1/kSteps (downscaled) pixels, computed in float in the
// tensor path's order (column0 * x + column1 * y, then + column2, round half to even, clamp), so both paths
// sample the same positions.
struct Positions {
  float c0x, c0y, c1x, c1y, c2x, c2y;  // the affine's columns, scaled to steps
  float last_x, last_y;                // the last pixel centre, in steps

  explicit Positions(const WarpSample& sample) {
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
  // std::nearbyint without SSE4.1, needs no library call per pixel (and vectorises).
  static int32_t offset(float along_x, float along_y, float shift, float last) {
    constexpr float kRounder = 12582912.0f;  // 1.5 * 2^23: float spacing 1 around it
    const float clamped = std::min(std::max((along_x + along_y) + shift, static_cast<float>(kSteps / 2)), last);
    return static_cast<int32_t>((clamped + kRounder) - kRounder) - kSteps / 2;
  }
  int32_t x(float cx, float cy) const { return offset(c0x * cx, c1x * cy, c2x, last_x); }
  int32_t y(float cx, float cy) const { return offset(c0y * cx, c1y * cy, c2y, last_y); }
  // No rotation or shear: every output row samples one source row, every column one source column.
  bool axis_aligned() const { return c0y == 0 && c1x == 0; }
};

// Per-thread buffers, kept between samples so a view allocates nothing.
struct Scratch {
  int side = 0;
  std::vector<float> centres;                   // [S] output pixel centres, normalised
  std::vector<float> along_x, along_y;          // [S] column 0 of the affine times the centres, per axis
  std::vector<int32_t> step_x, step_y;          // [S] positions of one row, in steps
  std::vector<int32_t> tap_x, tap_y, taps;      // [S] tap pixels and element offsets of one row
  std::vector<float> weight_x, weight_y;        // [S] bilinear weights in steps
  std::tuple<std::vector<uint16_t>, std::vector<float>> lines;  // a blended source row, per source type
  std::vector<float> sums;                      // block sums
  std::vector<int32_t> row_sums;
};

Scratch& thread_scratch(int side) {
  thread_local Scratch scratch;
  if (scratch.side != side) {
    // The tensor path's centres, arange(S) * 2 + 1, / S, - 1 in float, so both paths see the same values.
    const auto centres = torch::arange(side, torch::kFloat).mul_(2).add_(1).div_(side).sub_(1);  // [S]
    scratch.centres.assign(centres.data_ptr<float>(), centres.data_ptr<float>() + side);
    scratch.side = side;
  }
  return scratch;
}

// Positions of one row of output pixels along one axis, relative to the region: along[j] + across (the
// products with the column and row centres) + shift, in steps, clamped into [0, limit] so that every tap
// index stays inside the region whatever float rounding does at its edges.
TRASHCL_SIMD_CLONES
void row_positions(const float* along, float across, float shift, float last, int32_t origin, int32_t limit,
                   int32_t* steps, int64_t count) {
  for (int64_t j = 0; j < count; ++j) {
    steps[j] = std::min(std::max(Positions::offset(along[j], across, shift, last) - origin, 0), limit);
  }
}

// Splits positions into the left (or top) tap and its partner's weight in steps (0..kSteps). The left tap
// stops at extent - 2, with weight kSteps on its partner, so the partner pixel x + 1 always exists.
TRASHCL_SIMD_CLONES
void split_taps(const int32_t* steps, int32_t extent, int32_t* taps, float* weights, int64_t count) {
  for (int64_t j = 0; j < count; ++j) {
    const int32_t tap = std::min(steps[j] >> kStepBits, extent - 2);
    taps[j] = tap;
    weights[j] = static_cast<float>(steps[j] - (tap << kStepBits));
  }
}

// ---- bilinear sampling: portable loops, and AVX2 versions that fetch the taps with gathers ------------------

std::atomic<bool> portable_kernels_only{false};

// General affine: each output pixel has its own two source rows. taps[j]: element offset of pixel j's
// top-left tap; out: the row's red plane (green and blue follow `plane` floats apart).
template <typename T>
void sample_row(const Source<T>& source, const int32_t* taps, const float* weight_x, const float* weight_y,
                int64_t plane, float* out, int64_t count) {
  const float full = static_cast<float>(kSteps), scale = source.scale;
  for (int64_t j = 0; j < count; ++j) {
    const T* top = source.data + taps[j];
    const T* bottom = top + source.row_stride;
    const float right = weight_x[j], left = full - right, low = weight_y[j], high = full - low;
    for (int c = 0; c < 3; ++c) {
      const float upper = static_cast<float>(top[c]) * left + static_cast<float>(top[c + 3]) * right;
      const float lower = static_cast<float>(bottom[c]) * left + static_cast<float>(bottom[c + 3]) * right;
      out[c * plane + j] = (upper * high + lower * low) * scale;
    }
  }
}

// Axis-aligned: the output row's two source rows are blended once into `line` (vertical weight `low` on the
// bottom row), then every output pixel takes its two horizontal taps from it. uint8 levels blend into
// uint16 (at most 255 * 256) and the rest of the sum stays below 2^24, so every step is exact and the
// result equals sample_row's; block sums blend into float.
TRASHCL_SIMD_CLONES
void blend_rows_any(const uint8_t* top, int64_t row_stride, float low, uint16_t* line, int64_t count) {
  const uint16_t bottom_weight = static_cast<uint16_t>(low), top_weight = static_cast<uint16_t>(kSteps - bottom_weight);
  const uint8_t* bottom = top + row_stride;
  for (int64_t k = 0; k < count; ++k) line[k] = static_cast<uint16_t>(top[k] * top_weight + bottom[k] * bottom_weight);
}
TRASHCL_SIMD_CLONES
void blend_rows_any(const float* top, int64_t row_stride, float low, float* line, int64_t count) {
  const float high = static_cast<float>(kSteps) - low;
  const float* bottom = top + row_stride;
  for (int64_t k = 0; k < count; ++k) line[k] = top[k] * high + bottom[k] * low;
}

template <typename Line>
void sample_line_portable(const Line* line, const int32_t* taps, const float* weight_x, float scale, int64_t plane,
                          float* out, int64_t count) {
  const float full = static_cast<float>(kSteps);
  for (int64_t j = 0; j < count; ++j) {
    const Line* tap = line + taps[j];
    const float right = weight_x[j], left = full - right;
    for (int c = 0; c < 3; ++c) {
      out[c * plane + j] = (static_cast<float>(tap[c]) * left + static_cast<float>(tap[c + 3]) * right) * scale;
    }
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
#define TRASHCL_AVX2_KERNELS 1

bool avx2_kernels() {
  static const bool available = __builtin_cpu_supports("avx2");
  return available && !portable_kernels_only.load(std::memory_order_relaxed);
}

// The same arithmetic as the portable loops, eight output pixels at a time, in the same order (no FMA).
__attribute__((target("avx2"))) inline void store_channel(__m256 first, __m256 second, __m256 left, __m256 right,
                                                          __m256 scales, float* out) {
  const __m256 sum = _mm256_add_ps(_mm256_mul_ps(first, left), _mm256_mul_ps(second, right));
  _mm256_storeu_ps(out, _mm256_mul_ps(sum, scales));
}

// uint16 line: three 4-byte gathers fetch a pixel's six values, (R G) (B R') (G' B').
__attribute__((target("avx2"))) void sample_line_avx2(const uint16_t* line, const int32_t* taps, const float* weight_x,
                                                      float scale, int64_t plane, float* out, int64_t count) {
  const __m256 full = _mm256_set1_ps(static_cast<float>(kSteps)), scales = _mm256_set1_ps(scale);
  const __m256i low_half = _mm256_set1_epi32(0xFFFF);
  int64_t j = 0;
  for (; j + 8 <= count; j += 8) {
    const __m256i index = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(taps + j));
    const __m256i red_green = _mm256_i32gather_epi32(reinterpret_cast<const int*>(line), index, 2);
    const __m256i blue_red = _mm256_i32gather_epi32(reinterpret_cast<const int*>(line + 2), index, 2);
    const __m256i green_blue = _mm256_i32gather_epi32(reinterpret_cast<const int*>(line + 4), index, 2);
    const __m256 right = _mm256_loadu_ps(weight_x + j), left = _mm256_sub_ps(full, right);
    store_channel(_mm256_cvtepi32_ps(_mm256_and_si256(red_green, low_half)),
                  _mm256_cvtepi32_ps(_mm256_srli_epi32(blue_red, 16)), left, right, scales, out + j);
    store_channel(_mm256_cvtepi32_ps(_mm256_srli_epi32(red_green, 16)),
                  _mm256_cvtepi32_ps(_mm256_and_si256(green_blue, low_half)), left, right, scales, out + plane + j);
    store_channel(_mm256_cvtepi32_ps(_mm256_and_si256(blue_red, low_half)),
                  _mm256_cvtepi32_ps(_mm256_srli_epi32(green_blue, 16)), left, right, scales, out + 2 * plane + j);
  }
  sample_line_portable(line, taps + j, weight_x + j, scale, plane, out + j, count - j);
}

__attribute__((target("avx2"))) void sample_line_avx2(const float* line, const int32_t* taps, const float* weight_x,
                                                      float scale, int64_t plane, float* out, int64_t count) {
  const __m256 full = _mm256_set1_ps(static_cast<float>(kSteps)), scales = _mm256_set1_ps(scale);
  int64_t j = 0;
  for (; j + 8 <= count; j += 8) {
    const __m256i index = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(taps + j));
    const __m256 right = _mm256_loadu_ps(weight_x + j), left = _mm256_sub_ps(full, right);
    for (int c = 0; c < 3; ++c) {
      store_channel(_mm256_i32gather_ps(line + c, index, 4), _mm256_i32gather_ps(line + c + 3, index, 4), left, right,
                    scales, out + c * plane + j);
    }
  }
  sample_line_portable(line, taps + j, weight_x + j, scale, plane, out + j, count - j);
}

// Byte `shift / 8` of each 32-bit word, as float.
__attribute__((target("avx2"))) inline __m256 byte_of(__m256i words, int shift) {
  return _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srl_epi32(words, _mm_cvtsi32_si128(shift)), _mm256_set1_epi32(0xFF)));
}

// sample_row on uint8 pixels: per tap row, one 4-byte gather at the left pixel (R G B R') and one two bytes
// on (B R' G' B'), which reads exactly the six bytes of the two pixels.
__attribute__((target("avx2"))) void sample_row_bytes_avx2(const Source<uint8_t>& source, const int32_t* taps,
                                                           const float* weight_x, const float* weight_y,
                                                           int64_t plane, float* out, int64_t count) {
  const int* top = reinterpret_cast<const int*>(source.data);
  const int* top_shifted = reinterpret_cast<const int*>(source.data + 2);
  const int* bottom = reinterpret_cast<const int*>(source.data + source.row_stride);
  const int* bottom_shifted = reinterpret_cast<const int*>(source.data + source.row_stride + 2);
  const __m256 full = _mm256_set1_ps(static_cast<float>(kSteps)), scales = _mm256_set1_ps(source.scale);
  int64_t j = 0;
  for (; j + 8 <= count; j += 8) {
    const __m256i index = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(taps + j));
    const __m256i top_left = _mm256_i32gather_epi32(top, index, 1);
    const __m256i top_right = _mm256_i32gather_epi32(top_shifted, index, 1);
    const __m256i bottom_left = _mm256_i32gather_epi32(bottom, index, 1);
    const __m256i bottom_right = _mm256_i32gather_epi32(bottom_shifted, index, 1);
    const __m256 right = _mm256_loadu_ps(weight_x + j), left = _mm256_sub_ps(full, right);
    const __m256 low = _mm256_loadu_ps(weight_y + j), high = _mm256_sub_ps(full, low);
    for (int c = 0; c < 3; ++c) {
      const __m256 upper = _mm256_add_ps(_mm256_mul_ps(byte_of(top_left, 8 * c), left),
                                         _mm256_mul_ps(byte_of(top_right, 8 * c + 8), right));
      const __m256 lower = _mm256_add_ps(_mm256_mul_ps(byte_of(bottom_left, 8 * c), left),
                                         _mm256_mul_ps(byte_of(bottom_right, 8 * c + 8), right));
      const __m256 sum = _mm256_add_ps(_mm256_mul_ps(upper, high), _mm256_mul_ps(lower, low));
      _mm256_storeu_ps(out + c * plane + j, _mm256_mul_ps(sum, scales));
    }
  }
  sample_row(source, taps + j, weight_x + j, weight_y + j, plane, out + j, count - j);
}
#endif

template <typename Line>
void sample_line(const Line* line, const int32_t* taps, const float* weight_x, float scale, int64_t plane,
                 float* out, int64_t count) {
#ifdef TRASHCL_AVX2_KERNELS
  if (avx2_kernels()) return sample_line_avx2(line, taps, weight_x, scale, plane, out, count);
#endif
  sample_line_portable(line, taps, weight_x, scale, plane, out, count);
}

void sample_row_any(const Source<uint8_t>& source, const int32_t* taps, const float* weight_x, const float* weight_y,
                    int64_t plane, float* out, int64_t count) {
#ifdef TRASHCL_AVX2_KERNELS
  if (avx2_kernels()) return sample_row_bytes_avx2(source, taps, weight_x, weight_y, plane, out, count);
#endif
  sample_row(source, taps, weight_x, weight_y, plane, out, count);
}
void sample_row_any(const Source<float>& source, const int32_t* taps, const float* weight_x, const float* weight_y,
                    int64_t plane, float* out, int64_t count) {
  sample_row(source, taps, weight_x, weight_y, plane, out, count);
}

// Writes one sample's view: out [3,S,S].
template <typename T>
void warp_source(const Source<T>& source, const Positions& positions, Scratch& scratch, float* out) {
  const int64_t side = scratch.side, plane = side * side;
  const float* centres = scratch.centres.data();
  const int32_t origin_x = source.x_low * kSteps, origin_y = source.y_low * kSteps;
  const int32_t limit_x = (source.used_width - 1) * kSteps, limit_y = (source.used_height - 1) * kSteps;
  for (auto* buffer : {&scratch.along_x, &scratch.along_y, &scratch.weight_x, &scratch.weight_y}) buffer->resize(side);
  for (auto* buffer : {&scratch.step_x, &scratch.step_y, &scratch.tap_x, &scratch.tap_y, &scratch.taps}) {
    buffer->resize(side);
  }
  // Products of column 0 with the x centres, hoisted out of the rows (and kept in memory, so they are
  // rounded to float before the sum exactly like the tensor path's).
  for (int64_t j = 0; j < side; ++j) {
    scratch.along_x[j] = positions.c0x * centres[j];
    scratch.along_y[j] = positions.c0y * centres[j];
  }
  int32_t* taps = scratch.taps.data();
  if (positions.axis_aligned()) {
    // Column taps are the same in every row; each row blends its two source rows over the span they cover.
    row_positions(scratch.along_x.data(), positions.c1x * centres[0], positions.c2x, positions.last_x, origin_x,
                  limit_x, scratch.step_x.data(), side);
    split_taps(scratch.step_x.data(), source.width, taps, scratch.weight_x.data(), side);
    const auto [first, last] = std::minmax_element(taps, taps + side);
    const int32_t span_first = *first, span_count = *last - *first + 2;
    for (int64_t j = 0; j < side; ++j) taps[j] = 3 * (taps[j] - span_first);
    using Line = std::conditional_t<std::is_same_v<T, uint8_t>, uint16_t, float>;
    std::vector<Line>& line_buffer = std::get<std::vector<Line>>(scratch.lines);
    line_buffer.resize(3 * span_count);
    Line* line = line_buffer.data();
    for (int64_t i = 0; i < side; ++i) {
      int32_t step_y, tap_y;
      float weight_y;
      row_positions(scratch.along_y.data(), positions.c1y * centres[i], positions.c2y, positions.last_y, origin_y,
                    limit_y, &step_y, 1);
      split_taps(&step_y, source.height, &tap_y, &weight_y, 1);
      blend_rows_any(source.data + tap_y * source.row_stride + 3 * span_first, source.row_stride, weight_y,
                     line, 3 * span_count);
      sample_line(line, taps, scratch.weight_x.data(), source.scale, plane, out + i * side, side);
    }
    return;
  }
  for (int64_t i = 0; i < side; ++i) {
    row_positions(scratch.along_x.data(), positions.c1x * centres[i], positions.c2x, positions.last_x, origin_x,
                  limit_x, scratch.step_x.data(), side);
    row_positions(scratch.along_y.data(), positions.c1y * centres[i], positions.c2y, positions.last_y, origin_y,
                  limit_y, scratch.step_y.data(), side);
    split_taps(scratch.step_x.data(), source.width, scratch.tap_x.data(), scratch.weight_x.data(), side);
    split_taps(scratch.step_y.data(), source.height, scratch.tap_y.data(), scratch.weight_y.data(), side);
    for (int64_t j = 0; j < side; ++j) {
      taps[j] = static_cast<int32_t>(scratch.tap_y[j] * source.row_stride + 3 * scratch.tap_x[j]);
    }
    sample_row_any(source, taps, scratch.weight_x.data(), scratch.weight_y.data(), plane, out + i * side, side);
  }
}

// The inclusive range of (downscaled) pixels the view's taps reach along one axis: the affine is linear,
// so the extremes are at the corner pixel centres; one pixel of margin covers float rounding in between.
void reach(int32_t a, int32_t b, int32_t c, int32_t d, int32_t extent, int32_t& low, int32_t& count) {
  low = std::max<int32_t>(0, (std::min({a, b, c, d}) >> kStepBits) - 1);
  const int32_t high = std::min<int32_t>(extent - 1, (std::max({a, b, c, d}) >> kStepBits) + 2);
  count = high - low + 1;
}

// Adds one source row into the running sums of a row of blocks (before its columns are summed).
TRASHCL_SIMD_CLONES
void add_bytes(const uint8_t* pixels, int32_t* row, int64_t count) {
  for (int64_t k = 0; k < count; ++k) row[k] += pixels[k];
}

// The f x f block sums (float, exact) of the sample's reached region. image: the sample's uint8 rows
// (row_stride bytes apart). Only the reached region is summed: a random crop often covers a small part of
// the image. A region one pixel wide or high is duplicated, so the taps can always read pixel x + 1.
void block_sums(const uint8_t* image, int64_t row_stride, int factor, Source<float>& source, Scratch& scratch) {
  const int64_t used_width = source.used_width, used_height = source.used_height;
  const int64_t width = std::max<int64_t>(2, used_width), height = std::max<int64_t>(2, used_height);
  scratch.sums.resize(height * width * 3);
  scratch.row_sums.resize(used_width * factor * 3);
  for (int64_t y = 0; y < used_height; ++y) {
    std::fill(scratch.row_sums.begin(), scratch.row_sums.end(), 0);
    for (int r = 0; r < factor; ++r) {
      const uint8_t* pixels = image + ((source.y_low + y) * factor + r) * row_stride + source.x_low * factor * 3;
      add_bytes(pixels, scratch.row_sums.data(), used_width * factor * 3);
    }
    float* sums = scratch.sums.data() + y * width * 3;
    for (int64_t x = 0; x < used_width; ++x) {
      for (int c = 0; c < 3; ++c) {
        int32_t total = 0;
        for (int k = 0; k < factor; ++k) total += scratch.row_sums[(x * factor + k) * 3 + c];
        sums[3 * x + c] = static_cast<float>(total);
      }
    }
    if (used_width == 1) std::copy(sums, sums + 3, sums + 3);
  }
  if (used_height == 1) std::copy(scratch.sums.begin(), scratch.sums.begin() + width * 3, scratch.sums.begin() + width * 3);
  source.data = scratch.sums.data();
  source.row_stride = width * 3;
  source.width = static_cast<int32_t>(width);
  source.height = static_cast<int32_t>(height);
  source.scale = static_cast<float>(1.0 / (255.0 * factor * factor * kSteps * kSteps));
}

}  // namespace

void use_portable_kernels(bool portable) { portable_kernels_only = portable; }

void warp_image(const uint8_t* image, int64_t row_stride, const WarpSample& sample, int side, float* out) {
  Scratch& scratch = thread_scratch(side);
  const Positions positions(sample);
  const int32_t width = static_cast<int32_t>(sample.width / sample.factor);
  const int32_t height = static_cast<int32_t>(sample.height / sample.factor);
  const float first = scratch.centres.front(), last = scratch.centres.back();
  int32_t x_low, used_width, y_low, used_height;
  reach(positions.x(first, first), positions.x(first, last), positions.x(last, first), positions.x(last, last),
        width, x_low, used_width);
  reach(positions.y(first, first), positions.y(first, last), positions.y(last, first), positions.y(last, last),
        height, y_low, used_height);
  if (sample.factor == 1 && width >= 2 && height >= 2) {
    Source<uint8_t> source;
    source.data = image;
    source.row_stride = row_stride;
    source.width = source.used_width = width;
    source.height = source.used_height = height;
    source.scale = static_cast<float>(1.0 / (255.0 * kSteps * kSteps));
    if (!positions.axis_aligned()) {
      // A rotated or sheared view walks the source along slanted lines, and its gathers would wait on
      // memory one cache line at a time; a sequential pass over the region first fetches it at the
      // memory's streaming speed.
      for (int64_t y = y_low; y < y_low + used_height; ++y) {
        const uint8_t* row = image + y * row_stride + 3 * x_low;
        for (int64_t x = 0; x < 3 * used_width; x += 64) __builtin_prefetch(row + x);
      }
    }
    warp_source(source, positions, scratch, out);
    return;
  }
  Source<float> source;
  source.x_low = x_low, source.used_width = used_width, source.y_low = y_low, source.used_height = used_height;
  block_sums(image, row_stride, sample.factor, source, scratch);
  warp_source(source, positions, scratch, out);
}

torch::Tensor warp_cpu(const torch::Tensor& pixels, const std::vector<WarpSample>& samples, int side) {
  if (!pixels.device().is_cpu() || pixels.scalar_type() != torch::kUInt8 || pixels.dim() != 4 || pixels.size(3) != 3 ||
      !pixels.is_contiguous() || pixels.size(0) != static_cast<int64_t>(samples.size())) {
    throw std::invalid_argument("warp_cpu: expects a contiguous CPU uint8 [B,H,W,3] batch and B samples, got " +
                                c10::str(pixels.sizes()) + " for " + std::to_string(samples.size()) + " samples");
  }
  const int64_t count = pixels.size(0), row_stride = pixels.size(2) * 3, image_bytes = pixels.size(1) * row_stride;
  auto views = recycled_empty({count, 3, side, side}, torch::kFloat);  // [B,3,S,S]
  const uint8_t* batch = pixels.data_ptr<uint8_t>();
  float* out = views.data_ptr<float>();
  for_each_sample(count, [&](int64_t b) {
    warp_image(batch + b * image_bytes, row_stride, samples[b], side, out + b * 3 * side * side);
  });
  return views;
}

}  // namespace trashcl
