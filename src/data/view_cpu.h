// make_view's CPU path around the warp (warp_cpu.h): the pixel steps that follow it, the sharing of samples
// among the intra-op threads and the recycled output buffers.
//
// On the CPU, each view is built start to end in its slot of the output - warp, colour map, RandAugment's
// pixel ops (randaugment.h), blur, normalisation - one sample per task, so it stays in cache between the
// steps and crosses memory once. The tensor path that CUDA devices run makes a pass over the whole batch per
// op instead; both give the same views up to the rounding of a few sums.
#pragma once
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "common/target_clones.h"
#include "data/augment.h"

// Inner loops marked with this get an AVX2 copy beside the baseline one (common/target_clones.h).
#define TRASHCL_SIMD_CLONES TRASHCL_CLONES_FOR("avx2")

namespace trashcl {

// make_view on the CPU for several kinds at once: a sample's views are built one after the other while its
// pixels are in cache, in one parallel pass over the batch. Returns one float [B,3,S,S] per kind, each
// equal to make_view's. Defined in augment.cpp beside make_view.
std::vector<torch::Tensor> make_views_cpu(const ImageBatch& batch, const std::vector<ViewKind>& kinds,
                                          const std::vector<uint64_t>& sample_seeds, const AugmentConfig& config);

// make_view with the path chosen: native_cpu (CPU device only) is what make_view runs on the CPU; without
// it, the tensor ops that make_view runs on CUDA devices, so tests can compare the two on the CPU.
torch::Tensor make_view_on_path(const ImageBatch& batch, ViewKind kind, const std::vector<uint64_t>& sample_seeds,
                                const AugmentConfig& config, const torch::Device& device, bool native_cpu);

// Calls task(i) for i in [0, count) on the intra-op threads, each thread taking the next index when it is
// done with one: samples differ in cost (crop size, RandAugment op, blur), so a static split would leave
// one thread idle at the end of every batch.
void for_each_sample(int64_t count, const std::function<void(int64_t)>& task);

// An uninitialised contiguous CPU tensor whose memory comes from a small pool of recycled buffers and goes
// back to it when the tensor dies. A batch's views (20-40 MB) and packed pixels would otherwise be mapped
// afresh by malloc and zero-filled by the kernel page by page on every batch, which cost a third of the
// time of building the views. The pool keeps at most a few idle buffers.
torch::Tensor recycled_empty(at::IntArrayRef sizes, torch::ScalarType type);

// The steps after the warp, in place on one view's planes [3,S,S] in [0,1]:
// the colour map x -> linear x + mean_weight mu (row-major 3x3 matrices; mu: the view's mean colour), then
// the clamp to [0,1]; the separable blur with `kernel` (2R+1 taps, reflected edges), then the clamp; and the
// normalisation (x - mean) / std. The same float arithmetic as the tensor path, sums aside (in double).
void apply_colour_map_cpu(float* view, int64_t plane, const std::array<double, 9>& linear,
                          const std::array<double, 9>& mean_weight);
void blur_cpu(float* view, int64_t side, const std::vector<float>& kernel);
void normalise_cpu(float* view, int64_t plane, const std::array<float, 3>& mean, const std::array<float, 3>& std);

// The sum of `count` floats, accumulated in double (so it does not depend on how a batch is split).
double sum_in_double(const float* values, int64_t count);

}  // namespace trashcl
