#include "data/view_cpu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace trashcl {
namespace {

// x -> clamp(offset + linear x) on every pixel (x: its RGB values).
TRASHCL_SIMD_CLONES
void colour_map_planes(float* __restrict red, float* __restrict green, float* __restrict blue, int64_t count,
                       const float* linear, const float* offset) {
  const float l0 = linear[0], l1 = linear[1], l2 = linear[2], l3 = linear[3], l4 = linear[4], l5 = linear[5];
  const float l6 = linear[6], l7 = linear[7], l8 = linear[8], o0 = offset[0], o1 = offset[1], o2 = offset[2];
  for (int64_t p = 0; p < count; ++p) {
    const float in_r = red[p], in_g = green[p], in_b = blue[p];
    red[p] = std::clamp(o0 + l0 * in_r + l1 * in_g + l2 * in_b, 0.0f, 1.0f);
    green[p] = std::clamp(o1 + l3 * in_r + l4 * in_g + l5 * in_b, 0.0f, 1.0f);
    blue[p] = std::clamp(o2 + l6 * in_r + l7 * in_g + l8 * in_b, 0.0f, 1.0f);
  }
}

// Eight floats as one value (GCC/Clang vector extension): one AVX register, or two SSE or NEON ones, so the
// blur's loops vectorise on every target without intrinsics. Loads and stores go through memcpy, which
// compiles to one unaligned vector move.
typedef float Float8 __attribute__((vector_size(32)));

// out[x] = sum over t of kernel[t] * sources[t][x], the taps added in ascending order like a convolution's
// loop, sixteen outputs at a time kept in registers; clamped to [0,1] when `clamp`.
TRASHCL_SIMD_CLONES
void weighted_sum(const float* const* sources, const float* kernel, int64_t taps, float* out, int64_t count,
                  bool clamp) {
  const float low = clamp ? 0.0f : -INFINITY, high = clamp ? 1.0f : INFINITY;
  int64_t x = 0;
  for (; x + 16 <= count; x += 16) {
    Float8 first{}, second{}, in_first, in_second;
    for (int64_t t = 0; t < taps; ++t) {
      const float tap = kernel[t];
      std::memcpy(&in_first, sources[t] + x, sizeof in_first);
      std::memcpy(&in_second, sources[t] + x + 8, sizeof in_second);
      first += tap * in_first;
      second += tap * in_second;
    }
    first = first < low ? low : first;
    first = first > high ? high : first;
    second = second < low ? low : second;
    second = second > high ? high : second;
    std::memcpy(out + x, &first, sizeof first);
    std::memcpy(out + x + 8, &second, sizeof second);
  }
  for (; x < count; ++x) {
    float sum = 0;
    for (int64_t t = 0; t < taps; ++t) sum += kernel[t] * sources[t][x];
    out[x] = std::min(std::max(sum, low), high);
  }
}

// One plane of the separable blur: rows into `rows`, then columns back into `image`, each at the reflected
// pixel indices reflection_pad2d gives, then the clamp. Taps outside [first, last] are negligible (see
// blur_cpu). padded: [S + 2R].
void blur_plane(float* image, float* rows, float* padded, const float* kernel, int64_t first, int64_t last,
                int64_t radius, int64_t side) {
  const auto reflect = [side](int64_t i) { return i < 0 ? -i : (i >= side ? 2 * (side - 1) - i : i); };
  std::vector<const float*> sources(last - first + 1);
  for (int64_t y = 0; y < side; ++y) {
    const float* row = image + y * side;
    std::copy(row, row + side, padded + radius);
    for (int64_t x = 1; x <= radius; ++x) {  // radius < side
      padded[radius - x] = row[x];
      padded[radius + side - 1 + x] = row[side - 1 - x];
    }
    for (int64_t t = first; t <= last; ++t) sources[t - first] = padded + t;
    weighted_sum(sources.data(), kernel + first, last - first + 1, rows + y * side, side, false);
  }
  for (int64_t y = 0; y < side; ++y) {
    for (int64_t t = first; t <= last; ++t) sources[t - first] = rows + reflect(y + t - radius) * side;
    weighted_sum(sources.data(), kernel + first, last - first + 1, image + y * side, side, true);
  }
}

TRASHCL_SIMD_CLONES
void normalise_plane(float* values, int64_t count, float mean, float deviation) {
  for (int64_t p = 0; p < count; ++p) values[p] = (values[p] - mean) / deviation;
}

TRASHCL_SIMD_CLONES
double sum_floats(const float* values, int64_t count) {
  double lanes[8] = {};  // independent sums, so the additions do not wait on each other and vectorise
  int64_t p = 0;
  for (; p + 8 <= count; p += 8)
    for (int k = 0; k < 8; ++k) lanes[k] += values[p + k];
  for (; p < count; ++p) lanes[0] += values[p];
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

// Idle buffers for recycled_empty, most recently returned last. Never destroyed: tensors may die after
// static destructors have run.
class BufferPool {
 public:
  static BufferPool& instance() {
    static BufferPool* pool = new BufferPool;
    return *pool;
  }
  // A buffer of at least `bytes`: an idle one up to 1.5x that size (packed batches vary a little with
  // their largest image), else a new one.
  std::pair<void*, size_t> take(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
        if (it->second >= bytes && it->second <= bytes + bytes / 2) {
          const auto buffer = *it;
          idle_.erase(std::next(it).base());
          return buffer;
        }
      }
    }
    const size_t capacity = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    void* data = std::aligned_alloc(kAlignment, std::max(capacity, kAlignment));
    if (data == nullptr) throw std::bad_alloc();
    return {data, capacity};
  }
  void give(void* data, size_t capacity) {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.emplace_back(data, capacity);
    if (idle_.size() > kMaxIdle) {
      std::free(idle_.front().first);
      idle_.erase(idle_.begin());
    }
  }

 private:
  static constexpr size_t kAlignment = 64;
  static constexpr size_t kMaxIdle = 8;  // a training step holds two views and the loader a few batches
  std::mutex mutex_;
  std::vector<std::pair<void*, size_t>> idle_;
};

}  // namespace

torch::Tensor recycled_empty(at::IntArrayRef sizes, torch::ScalarType type) {
  const int64_t elements = c10::multiply_integers(sizes);
  const size_t bytes = static_cast<size_t>(elements) * c10::elementSize(type);
  const auto [data, capacity] = BufferPool::instance().take(bytes);
  return torch::from_blob(
      data, sizes, [capacity = capacity](void* buffer) { BufferPool::instance().give(buffer, capacity); },
      torch::TensorOptions().dtype(type));
}

double sum_in_double(const float* values, int64_t count) { return sum_floats(values, count); }

void apply_colour_map_cpu(float* view, int64_t plane, const std::array<double, 9>& linear,
                          const std::array<double, 9>& mean_weight) {
  float mean[3], linear_float[9], offset[3];
  for (int c = 0; c < 3; ++c) mean[c] = static_cast<float>(sum_floats(view + c * plane, plane) / plane);
  for (int i = 0; i < 9; ++i) linear_float[i] = static_cast<float>(linear[i]);
  for (int r = 0; r < 3; ++r) {
    offset[r] = 0;
    for (int k = 0; k < 3; ++k) offset[r] += static_cast<float>(mean_weight[r * 3 + k]) * mean[k];
  }
  colour_map_planes(view, view + plane, view + 2 * plane, plane, linear_float, offset);
}

void blur_cpu(float* view, int64_t side, const std::vector<float>& kernel) {
  const int64_t radius = static_cast<int64_t>(kernel.size()) / 2;
  // The kernel's tails are skipped where a tap is below 2^-26: views are in [0,1], so such a term is under
  // half a float step of any sum it could join above 1/4, and a small sigma's kernel has few taps left.
  constexpr float kNegligible = 1.0f / (1 << 26);
  int64_t first = 0;
  while (first < radius && kernel[first] < kNegligible && kernel[kernel.size() - 1 - first] < kNegligible) ++first;
  thread_local std::vector<float> rows, padded;
  rows.resize(side * side);
  padded.resize(side + 2 * radius);
  for (int c = 0; c < 3; ++c) {
    blur_plane(view + c * side * side, rows.data(), padded.data(), kernel.data(), first, 2 * radius - first, radius,
               side);
  }
}

void normalise_cpu(float* view, int64_t plane, const std::array<float, 3>& mean, const std::array<float, 3>& std) {
  for (int c = 0; c < 3; ++c) normalise_plane(view + c * plane, plane, mean[c], std[c]);
}

void for_each_sample(int64_t count, const std::function<void(int64_t)>& task) {
  std::atomic<int64_t> next{0};
  const int64_t workers = std::min<int64_t>(count, at::get_num_threads());
  at::parallel_for(0, workers, 1, [&](int64_t, int64_t) {
    for (int64_t i = next++; i < count; i = next++) task(i);
  });
}

}  // namespace trashcl
