// RandAugment (Cubuk et al. 2020) for the anchor view, in torchvision's variant: 14 ops, each sample draws
// `randaugment_ops` of them uniformly with replacement, magnitude m of 30, signed ops get a random sign.
//
// The geometric ops (rotate, shear, translate) are not applied here: view_params.cpp folds their matrices into
// the view's single affine resampling, so an anchor is interpolated once. This file gives those matrices and
// applies the pixel ops of one op slot to a whole batch, each op to the subset of samples that drew it.
#pragma once
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

namespace trashcl {

enum class RandAugmentOp {
  identity,
  rotate,
  shear_x,
  shear_y,
  translate_x,
  translate_y,
  brightness,
  color,
  contrast,
  sharpness,
  posterize,
  solarize,
  autocontrast,
  equalize,
};
constexpr int kRandAugmentOpCount = 14;

// One drawn op; `sign` (+1 or -1) flips the direction of the signed ops.
struct RandAugmentChoice {
  RandAugmentOp op = RandAugmentOp::identity;
  double sign = 1;
};

// torchvision's rgb_to_grayscale weights (ITU-R 601 luma), shared by every grey-based colour op.
constexpr std::array<double, 3> kGreyWeights{0.2989, 0.587, 0.114};

// The op's geometry as a 2x3 map from output to input coordinates, both normalised to [-1, 1] over the
// square view; the identity for non-geometric ops. Rotation and shear act about the view's centre.
std::array<double, 6> randaugment_inverse_map(const RandAugmentChoice& choice, double magnitude);

// Applies the pixel ops of one slot: choices[i] is sample i's op. images: float [B,3,S,S] in [0,1],
// updated in place and clamped to [0,1] after every op (torchvision clamps after each op too).
void apply_randaugment_pixel_ops(torch::Tensor& images, const std::vector<RandAugmentChoice>& choices,
                                 double magnitude);

// The pixel op of one sample on the CPU, in place: image float [3,H,W] planes in [0,1]. The same arithmetic
// as apply_randaugment_pixel_ops, clamp included; make_view's CPU path runs it per sample, in cache.
void apply_randaugment_pixel_op_cpu(float* image, int64_t height, int64_t width, const RandAugmentChoice& choice,
                                    double magnitude);

// Runs `op` on images[samples] only and writes the result back, so an op costs in proportion to the samples
// that drew it; the whole batch is passed through without copies when every sample is selected.
void apply_to_samples(torch::Tensor& images, const std::vector<int64_t>& samples,
                      const std::function<torch::Tensor(const torch::Tensor&)>& op);

// batch[index] for a contiguous batch [B,...] -> [n,...]. Goes through a [B, rest] view: on the CPU,
// index_select of a flat row is a memcpy, while on 4-D tensors it is element by element and ~100x slower.
torch::Tensor select_samples(const torch::Tensor& batch, const torch::Tensor& index);

// batch[index] = values, the inverse of select_samples (batch must be contiguous).
void write_samples(torch::Tensor& batch, const torch::Tensor& index, const torch::Tensor& values);

}  // namespace trashcl
