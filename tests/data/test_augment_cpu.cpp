// make_view's native CPU path (per-sample warp, colour map, RandAugment pixel ops, blur, normalisation)
// against the tensor path that CUDA devices run, executed here on the CPU.
#include <gtest/gtest.h>

#include <cmath>

#include "data/augment.h"
#include "data/randaugment.h"
#include "data/view_cpu.h"
#include "data/warp_cpu.h"

namespace trashcl {
namespace {

const torch::Device kCpu(torch::kCPU);

// Sums of low-frequency sines plus a little per-pixel texture, so views have both smooth areas and detail.
Image textured_image(int width, int height, int seed) {
  Image image(width, height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) {
        const double value = 127.5 + 55 * std::sin(0.031 * x + 0.7 * c + seed) + 55 * std::cos(0.023 * y - 0.4 * c + 2 * seed) +
                             12 * std::sin(1.3 * x * (c + 1) + 0.9 * y);
        image.row(y)[3 * x + c] = static_cast<uint8_t>(std::clamp(std::lround(value), 0L, 255L));
      }
  return image;
}

ImageBatch pack(const std::vector<Image>& images) {
  std::vector<const Image*> pointers;
  for (const Image& image : images) pointers.push_back(&image);
  return pack_images(pointers);
}

std::vector<uint64_t> seeds_from(uint64_t first, size_t count) {
  std::vector<uint64_t> seeds;
  for (size_t i = 0; i < count; ++i) seeds.push_back(first * 7919 + 1000 * i);
  return seeds;
}

torch::Tensor unnormalise(const torch::Tensor& views, const AugmentConfig& config) {
  const auto mean = torch::tensor({config.mean[0], config.mean[1], config.mean[2]}).view({1, 3, 1, 1});
  const auto deviation = torch::tensor({config.std[0], config.std[1], config.std[2]}).view({1, 3, 1, 1});
  return views * deviation + mean;  // [B,3,S,S]
}

// Every step of every view kind: jitter, grayscale and blur always drawn for the positive view.
AugmentConfig busy_config(int side) {
  at::set_num_threads(2);
  AugmentConfig config;
  config.image_size = side;
  config.positive_jitter_p = 1;
  config.grayscale_p = 0.5;
  config.blur_p = 1;
  return config;
}

TEST(AugmentCpu, MatchesTheTensorPath) {
  // Downscale factors 1 to 3 at these sizes, padding, and an image one pixel high.
  std::vector<Image> images;
  const int sizes[][2] = {{597, 448}, {300, 200}, {120, 160}, {97, 251}, {640, 480}, {64, 64}, {150, 1}};
  for (int i = 0; i < 7; ++i) images.push_back(textured_image(sizes[i][0], sizes[i][1], i));
  const ImageBatch batch = pack(images);
  for (int side : {64, 112}) {
    const AugmentConfig config = busy_config(side);
    for (ViewKind kind : {ViewKind::anchor, ViewKind::positive, ViewKind::eval}) {
      for (uint64_t first_seed = 1; first_seed <= 6; ++first_seed) {
        const auto seeds = seeds_from(first_seed, images.size());
        const auto native = unnormalise(make_view_on_path(batch, kind, seeds, config, kCpu, true), config);
        const auto tensor = unnormalise(make_view_on_path(batch, kind, seeds, config, kCpu, false), config);
        ASSERT_EQ(native.sizes(), tensor.sizes());
        const auto difference = (native - tensor).abs();  // [B,3,S,S]
        // Both paths sample the same positions with the same float arithmetic, up to the order of a few sums
        // (grid_sample's weights, conv2d's taps, the means): differences of a few float steps. RandAugment's
        // level-based ops (posterize, equalize, solarize's threshold) can turn such a difference into a whole
        // level at a pixel, so the anchor is held to the bound on all but 0.1% of its values.
        const double share_off = difference.gt(1e-4).to(torch::kFloat).mean().item<double>();
        EXPECT_LE(share_off, kind == ViewKind::anchor ? 1e-3 : 0.0)
            << "side " << side << " kind " << static_cast<int>(kind) << " seed " << first_seed;
        EXPECT_LE(difference.mean().item<double>(), 1e-5)
            << "side " << side << " kind " << static_cast<int>(kind) << " seed " << first_seed;
      }
    }
  }
}

TEST(AugmentCpu, PixelOpsMatchTheTensorOps) {
  torch::manual_seed(3);
  const int64_t count = 4, side = 48;
  // Random values, a flat channel (autocontrast leaves it) and a two-level channel (equalize's step is 0).
  auto images = torch::rand({count, 3, side, side});  // [B,3,S,S]
  images[1][2].fill_(0.4f);
  images[2][0].fill_(0.25f);
  images[2][0][0][0] = 0.75f;
  for (int op = 0; op < kRandAugmentOpCount; ++op) {
    for (double sign : {1.0, -1.0}) {
      const RandAugmentChoice choice{static_cast<RandAugmentOp>(op), sign};
      for (double magnitude : {10.0, 27.0}) {
        torch::Tensor tensor = images.clone();
        apply_randaugment_pixel_ops(tensor, std::vector<RandAugmentChoice>(count, choice), magnitude);
        torch::Tensor native = images.clone();
        for (int64_t b = 0; b < count; ++b) {
          apply_randaugment_pixel_op_cpu(native[b].data_ptr<float>(), side, side, choice, magnitude);
        }
        EXPECT_LE((native - tensor).abs().max().item<float>(), 2e-6f)
            << "op " << op << " sign " << sign << " magnitude " << magnitude;
      }
    }
  }
}

TEST(AugmentCpu, TinyImagesAndLargeShrinks) {
  // One-pixel rows and columns, and a 24x shrink (block sums past 16 x 16 pixels).
  std::vector<Image> images;
  const int sizes[][2] = {{1, 1}, {1, 40}, {40, 1}, {2, 2}, {1200, 900}};
  for (int i = 0; i < 5; ++i) images.push_back(textured_image(sizes[i][0], sizes[i][1], i));
  const ImageBatch batch = pack(images);
  const AugmentConfig config = busy_config(32);
  for (ViewKind kind : {ViewKind::anchor, ViewKind::positive, ViewKind::eval}) {
    const auto seeds = seeds_from(5, images.size());
    const auto native = resample_views(batch, kind, seeds, config, true);   // [B,3,S,S]
    const auto tensor = resample_views(batch, kind, seeds, config, false);  // [B,3,S,S]
    EXPECT_LE((native - tensor).abs().max().item<float>(), 2.0f / 255) << "kind " << static_cast<int>(kind);
    const auto view = make_view(batch, kind, seeds, config, kCpu);
    EXPECT_TRUE(torch::isfinite(view).all().item<bool>());
  }
}

TEST(AugmentCpu, VectorKernelsMatchThePortableLoops) {
  // Rotated and sheared anchors take the per-pixel kernel, the others the row-blending one; on a CPU
  // without AVX2 both runs take the portable loops.
  std::vector<Image> images;
  for (int i = 0; i < 8; ++i) images.push_back(textured_image(180 + 61 * i, 140 + 37 * i, i));
  const ImageBatch batch = pack(images);
  const AugmentConfig config = busy_config(56);
  for (ViewKind kind : {ViewKind::anchor, ViewKind::positive, ViewKind::eval}) {
    for (uint64_t first_seed = 1; first_seed <= 4; ++first_seed) {
      const auto seeds = seeds_from(first_seed, images.size());
      use_portable_kernels(true);
      const auto portable = make_view(batch, kind, seeds, config, kCpu);
      use_portable_kernels(false);
      EXPECT_TRUE(torch::equal(portable, make_view(batch, kind, seeds, config, kCpu)))
          << "kind " << static_cast<int>(kind) << " seed " << first_seed;
    }
  }
}

TEST(AugmentCpu, ViewsBuiltTogetherEqualViewsBuiltAlone) {
  std::vector<Image> images;
  for (int i = 0; i < 5; ++i) images.push_back(textured_image(300 - 20 * i, 220 + 15 * i, i));
  const ImageBatch batch = pack(images);
  const AugmentConfig config = busy_config(48);
  const auto seeds = seeds_from(9, images.size());
  const std::vector<ViewKind> kinds{ViewKind::anchor, ViewKind::positive, ViewKind::eval};
  const std::vector<torch::Tensor> together = make_views_cpu(batch, kinds, seeds, config);
  ASSERT_EQ(together.size(), kinds.size());
  for (size_t k = 0; k < kinds.size(); ++k) {
    EXPECT_TRUE(torch::equal(together[k], make_view(batch, kinds[k], seeds, config, kCpu))) << "kind " << k;
  }
}

TEST(AugmentCpu, ThreadCountDoesNotChangeTheViews) {
  std::vector<Image> images;
  for (int i = 0; i < 9; ++i) images.push_back(textured_image(200 + 13 * i, 150 + 7 * i, i));
  const ImageBatch batch = pack(images);
  const AugmentConfig config = busy_config(64);
  const auto seeds = seeds_from(2, images.size());
  for (ViewKind kind : {ViewKind::anchor, ViewKind::positive, ViewKind::eval}) {
    at::set_num_threads(1);
    const auto one = make_view(batch, kind, seeds, config, kCpu);
    at::set_num_threads(2);
    EXPECT_TRUE(torch::equal(one, make_view(batch, kind, seeds, config, kCpu)));
  }
}

}  // namespace
}  // namespace trashcl
