// The geometry step of make_view on the CPU: a per-sample warp that reads a batch's uint8 pixels and writes
// float planes, for the same result as the tensor path (area pre-downscale + grid_sample) that CUDA devices
// run. The steps after it are in view_cpu.h.
#pragma once
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <vector>

#include "data/augment.h"

namespace trashcl {

// Sampling positions are rounded to 1/kPositionSteps pixel. On the tensor path, with power-of-two source
// extents, the conversion to grid_sample's normalised coordinates and back is then exact, so a sample's
// pixels do not depend on the padded size of the batch it is in; the native warp uses the same positions.
constexpr double kPositionSteps = 256;

// One sample of a warp.
struct WarpSample {
  std::array<double, 6> affine{};  // output normalised coords -> source pixel coords (row-major 2x3)
  int64_t height = 0, width = 0;   // the image's size before padding
  int factor = 1;                  // area-averaging factor applied before bilinear sampling (>= 1)
};

// Warps one image into out: float [3,S,S] planes in [0,1]. image: the sample's uint8 rows, interleaved RGB,
// row_stride bytes apart.
//
// The source is area-averaged by `factor` (f x f blocks, partial blocks at the right and bottom dropped,
// like avg_pool2d), then each output pixel centre (2j+1)/S - 1 is mapped by the affine to source pixel
// coordinates (pixel k covers [k, k+1)), rounded to 1/kPositionSteps pixel, clamped to the downscaled
// image's pixel centres and sampled bilinearly. Thread-safe (scratch is per thread).
void warp_image(const uint8_t* image, int64_t row_stride, const WarpSample& sample, int side, float* out);

// Tests: true makes the warp use its portable loops instead of the hand-vectorised x86 (AVX2) ones, so the
// two can be compared; the results are meant to be bitwise equal.
void use_portable_kernels(bool portable);

// warp_image for every image of a CPU batch. pixels: uint8 [B,Hmax,Wmax,3], contiguous, each image at the
// top-left. Returns float [B,3,S,S] in [0,1]; samples run in parallel on the intra-op threads.
torch::Tensor warp_cpu(const torch::Tensor& pixels, const std::vector<WarpSample>& samples, int side);

// The geometry step of make_view alone: float [B,3,S,S] in [0,1], on the CPU. native_cpu_warp picks
// warp_cpu (what make_view uses on the CPU) or the tensor path that make_view runs on CUDA devices, so tests
// can compare the two. Defined in augment.cpp beside make_view.
torch::Tensor resample_views(const ImageBatch& batch, ViewKind kind, const std::vector<uint64_t>& sample_seeds,
                             const AugmentConfig& config, bool native_cpu_warp);

}  // namespace trashcl
