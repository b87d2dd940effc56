// The two training views of method.md and the eval transform.
//
// Geometry (random resized crop, flip, and RandAugment's rotate/shear/translate) is folded into one 2x3
// affine matrix per sample and applied with a single affine_grid + grid_sample; colour operations are
// element-wise per sample; blur is a separable per-sample Gaussian. On a CUDA device these run as batched
// tensor ops; on the CPU each sample's view is built in one pass over its own pixels with the same
// arithmetic (warp_cpu.h, view_cpu.h). Random parameters are drawn on the CPU from a per-sample seed
// (view_params.h), so a sample's view depends only on (seed, view kind) - not on the batch it lands in, the
// thread that builds it or the device.
#pragma once
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <vector>

#include "data/image.h"

namespace trashcl {

enum class ViewKind { anchor, positive, eval };

struct AugmentConfig {
  int image_size = 224;                                       // output side S (square)
  // Anchor view: crop, flip, colour jitter, RandAugment-style ops.
  double anchor_scale_min = 0.08;                             // random resized crop area range [min, 1]
  double anchor_jitter = 0.4;                                 // brightness, contrast, saturation strength
  int randaugment_ops = 2;                                    // ops applied per sample
  double randaugment_magnitude = 10;                          // 0..30 like torchvision
  // Positive view: crop, jitter with probability, grayscale, blur, flip.
  double positive_scale_min = 0.2;
  double positive_jitter_p = 0.8;                             // brightness/contrast/saturation 0.4, hue 0.1
  double grayscale_p = 0.2;
  double blur_p = 0.5;
  double blur_sigma_min = 0.1, blur_sigma_max = 2.0;          // in pixels at 224 px, scaled with S
  // Eval: resize the short side to S*256/224, centre crop S.
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};          // ImageNet normalisation
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
};

// Decoded images of possibly different sizes packed into one tensor; built by loader threads with
// memcpy only (no tensor compute, so it never competes with the training step's OpenMP threads).
struct ImageBatch {
  torch::Tensor pixels;  // uint8 [B, Hmax, Wmax, 3], each image at the top-left, zero padding
  torch::Tensor sizes;   // int64 [B, 2]: (height, width) of each image before padding
};
ImageBatch pack_images(const std::vector<const Image*>& images);

// One sample's geometry, in the source image's pixel coordinates (before padding).
struct ViewGeometry {
  double crop_x = 0, crop_y = 0, crop_width = 0, crop_height = 0;  // crop box
  bool flip = false;                                               // horizontal flip after cropping
  std::array<double, 6> affine{};  // output normalised coords -> source pixel coords (row-major 2x3)
};

// The geometry a view would use for an image of the given size (exposed for tests).
ViewGeometry sample_geometry(ViewKind kind, uint64_t sample_seed, int height, int width, const AugmentConfig& config);

// Builds a view of every image in the batch on `device`.
// Returns float32 [B, 3, S, S], normalised with config.mean/std.
torch::Tensor make_view(const ImageBatch& batch, ViewKind kind, const std::vector<uint64_t>& sample_seeds,
                        const AugmentConfig& config, const torch::Device& device);

// Undoes the normalisation of one view [3, S, S] into an 8-bit image (previews).
Image view_to_image(const torch::Tensor& view, const AugmentConfig& config);

}  // namespace trashcl
