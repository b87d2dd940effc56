#include "data/augment.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "data/warp_cpu.h"
#include "support/test_support.h"

namespace trashcl {
namespace {

using testing::make_test_image;

const torch::Device kCpu(torch::kCPU);

// Small views keep the suite fast; the geometry is the same at any size.
AugmentConfig small_config(int side = 64) {
  at::set_num_threads(2);
  AugmentConfig config;
  config.image_size = side;
  return config;
}

// A positive view with geometry only, for checking crops and flips on a coordinate pattern.
AugmentConfig geometry_only_config(int side = 64) {
  AugmentConfig config = small_config(side);
  config.positive_jitter_p = 0;
  config.grayscale_p = 0;
  config.blur_p = 0;
  return config;
}

// R = x and G = y (so width and height must be <= 256), B = 0.
Image coordinate_pattern(int width, int height) {
  Image image(width, height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      image.row(y)[3 * x] = static_cast<uint8_t>(x);
      image.row(y)[3 * x + 1] = static_cast<uint8_t>(y);
      image.row(y)[3 * x + 2] = 0;
    }
  }
  return image;
}

// Undoes the mean/std normalisation: [B,3,S,S] in [0,1].
torch::Tensor unnormalise(const torch::Tensor& views, const AugmentConfig& config) {
  const auto mean = torch::tensor({config.mean[0], config.mean[1], config.mean[2]}).view({1, 3, 1, 1});
  const auto deviation = torch::tensor({config.std[0], config.std[1], config.std[2]}).view({1, 3, 1, 1});
  return views * deviation + mean;
}

std::vector<uint64_t> seeds_from(uint64_t first, size_t count) {
  std::vector<uint64_t> seeds;
  for (size_t i = 0; i < count; ++i) seeds.push_back(first + 1000 * i);
  return seeds;
}

// Mixed sizes in one batch, so padding is exercised.
std::vector<Image> mixed_images(size_t count) {
  const int sizes[][2] = {{300, 200}, {120, 160}, {64, 64}, {97, 251}};
  std::vector<Image> images;
  for (size_t i = 0; i < count; ++i) images.push_back(make_test_image(sizes[i % 4][0], sizes[i % 4][1], static_cast<uint32_t>(i)));
  return images;
}

ImageBatch pack(const std::vector<Image>& images) {
  std::vector<const Image*> pointers;
  for (const Image& image : images) pointers.push_back(&image);
  return pack_images(pointers);
}

const ViewKind kAllKinds[] = {ViewKind::anchor, ViewKind::positive, ViewKind::eval};

TEST(AugmentPack, PadsWithZerosAndRecordsSizes) {
  const std::vector<Image> images{make_test_image(5, 3, 1), make_test_image(2, 4, 2)};
  const ImageBatch batch = pack(images);
  ASSERT_EQ(batch.pixels.sizes(), (std::vector<int64_t>{2, 4, 5, 3}));
  EXPECT_EQ(batch.pixels.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(torch::equal(batch.sizes, torch::tensor({3, 5, 4, 2}, torch::kLong).view({2, 2})));
  for (size_t i = 0; i < images.size(); ++i) {
    const auto placed = batch.pixels[i].narrow(0, 0, images[i].height).narrow(1, 0, images[i].width);
    const auto original = torch::from_blob(const_cast<uint8_t*>(images[i].pixels.data()),
                                           {images[i].height, images[i].width, 3}, torch::kUInt8);
    EXPECT_TRUE(torch::equal(placed, original));
  }
  EXPECT_EQ(batch.pixels[0].narrow(0, 3, 1).sum().item<int64_t>(), 0);  // row below the 5x3 image
  EXPECT_EQ(batch.pixels[1].narrow(1, 2, 3).sum().item<int64_t>(), 0);  // columns right of the 2x4 image
}

TEST(AugmentPack, RejectsEmptyInput) {
  EXPECT_THROW(pack_images({}), UserError);
  const Image empty;
  EXPECT_THROW(pack_images({&empty}), UserError);
}

TEST(AugmentView, ShapeAndRangeForEveryKind) {
  const AugmentConfig config = small_config();
  const std::vector<Image> images = mixed_images(16);
  const ImageBatch batch = pack(images);
  for (ViewKind kind : kAllKinds) {
    const auto views = make_view(batch, kind, seeds_from(7, images.size()), config, kCpu);
    ASSERT_EQ(views.sizes(), (std::vector<int64_t>{16, 3, 64, 64}));
    EXPECT_EQ(views.scalar_type(), torch::kFloat);
    EXPECT_TRUE(views.is_contiguous());
    const auto values = unnormalise(views, config);
    EXPECT_GE(values.min().item<float>(), -1e-5f);
    EXPECT_LE(values.max().item<float>(), 1 + 1e-5f);
  }
}

TEST(AugmentView, SameSeedsGiveIdenticalViewsAndOtherSeedsDiffer) {
  const AugmentConfig config = small_config();
  const ImageBatch batch = pack(mixed_images(4));
  for (ViewKind kind : {ViewKind::anchor, ViewKind::positive}) {
    const auto first = make_view(batch, kind, seeds_from(11, 4), config, kCpu);
    EXPECT_TRUE(torch::equal(first, make_view(batch, kind, seeds_from(11, 4), config, kCpu)));
    EXPECT_FALSE(torch::equal(first, make_view(batch, kind, seeds_from(12, 4), config, kCpu)));
  }
  const auto eval = make_view(batch, ViewKind::eval, seeds_from(11, 4), config, kCpu);
  EXPECT_TRUE(torch::equal(eval, make_view(batch, ViewKind::eval, seeds_from(99, 4), config, kCpu)));
}

TEST(AugmentView, ViewDoesNotDependOnTheBatch) {
  const AugmentConfig config = small_config();
  const std::vector<Image> images = mixed_images(8);
  const std::vector<uint64_t> seeds = seeds_from(5, images.size());
  for (ViewKind kind : kAllKinds) {
    const auto together = make_view(pack(images), kind, seeds, config, kCpu);  // [8,3,S,S]
    for (size_t i = 0; i < images.size(); ++i) {
      const auto alone = make_view(pack({images[i]}), kind, {seeds[i]}, config, kCpu);  // [1,3,S,S]
      EXPECT_TRUE(torch::equal(alone[0], together[i])) << "kind " << static_cast<int>(kind) << " sample " << i;
    }
  }
}

// Expected pattern value (= source pixel index) where an output pixel centre lands, given its source position.
double pattern_value(double source_position, int extent) {
  return std::clamp(source_position, 0.5, extent - 0.5) - 0.5;
}

TEST(AugmentEval, IsTheCentreCrop) {
  const Image image = coordinate_pattern(240, 180);
  for (int side : {64, 32}) {  // 32: the 157.5 px crop is area-averaged by 4 first
    const AugmentConfig config = small_config(side);
    const auto view = unnormalise(make_view(pack({image}), ViewKind::eval, {3}, config, kCpu), config)[0] * 255;
    const double crop = 180 * 224.0 / 256, left = (240 - crop) / 2, top = (180 - crop) / 2, step = crop / side;
    const auto red = view[0], green = view[1];  // [S,S]
    EXPECT_NEAR(red[0][0].item<float>(), pattern_value(left + step / 2, 240), 1.0);
    EXPECT_NEAR(red[0][side - 1].item<float>(), pattern_value(left + crop - step / 2, 240), 1.0);
    EXPECT_NEAR(green[0][0].item<float>(), pattern_value(top + step / 2, 180), 1.0);
    EXPECT_NEAR(green[side - 1][0].item<float>(), pattern_value(top + crop - step / 2, 180), 1.0);
    const auto centre = view.narrow(1, side / 2 - 1, 2).narrow(2, side / 2 - 1, 2).mean({1, 2});  // [3]
    EXPECT_NEAR(centre[0].item<float>(), 119.5, 1.0);
    EXPECT_NEAR(centre[1].item<float>(), 89.5, 1.0);
  }
}

TEST(AugmentEval, GeometryIsACentredSquare) {
  const AugmentConfig config = small_config();
  const ViewGeometry geometry = sample_geometry(ViewKind::eval, 1, 200, 300, config);
  EXPECT_DOUBLE_EQ(geometry.crop_width, 175);
  EXPECT_DOUBLE_EQ(geometry.crop_height, 175);
  EXPECT_DOUBLE_EQ(geometry.crop_x, 62.5);
  EXPECT_DOUBLE_EQ(geometry.crop_y, 12.5);
  EXPECT_FALSE(geometry.flip);
  EXPECT_EQ(geometry.affine, sample_geometry(ViewKind::eval, 2, 200, 300, config).affine);
}

TEST(AugmentEval, AreaAveragingStopsAliasing) {
  Image stripes(448, 448);  // one-pixel black and white columns
  for (int y = 0; y < 448; ++y)
    for (int x = 0; x < 448; ++x) std::fill_n(stripes.row(y) + 3 * x, 3, static_cast<uint8_t>(x % 2 ? 255 : 0));
  const AugmentConfig config = small_config(64);  // the 392 px crop shrinks 6x
  const auto view = unnormalise(make_view(pack({stripes}), ViewKind::eval, {1}, config, kCpu), config);
  EXPECT_NEAR(view.mean().item<float>(), 0.5, 0.02);
  EXPECT_LT(view.std().item<float>(), 0.02);  // bilinear sampling alone: values spread over [0, 1], std 0.29
}

TEST(AugmentPositive, CropAndFlipFollowTheGeometry) {
  const AugmentConfig config = geometry_only_config();
  const int width = 256, height = 200, side = config.image_size;
  const Image image = coordinate_pattern(width, height);
  int flipped = 0, unflipped = 0;
  for (uint64_t seed = 0; seed < 12; ++seed) {
    const ViewGeometry geometry = sample_geometry(ViewKind::positive, seed, height, width, config);
    const auto view = unnormalise(make_view(pack({image}), ViewKind::positive, {seed}, config, kCpu), config)[0] * 255;
    const auto middle_row = view[0][side / 2];    // [S] red along x
    const auto middle_column = view[1].select(1, side / 2);  // [S] green along y
    const auto steps = middle_row.narrow(0, 1, side - 1) - middle_row.narrow(0, 0, side - 1);  // [S-1]
    const double step_x = geometry.crop_width / side, step_y = geometry.crop_height / side;
    double first = geometry.crop_x + step_x / 2, last = geometry.crop_x + geometry.crop_width - step_x / 2;
    if (geometry.flip) {
      std::swap(first, last);
      EXPECT_LE(steps.max().item<float>(), 1e-3);
      ++flipped;
    } else {
      EXPECT_GE(steps.min().item<float>(), -1e-3);
      ++unflipped;
    }
    EXPECT_NEAR(middle_row[0].item<float>(), pattern_value(first, width), 1.5) << "seed " << seed;
    EXPECT_NEAR(middle_row[side - 1].item<float>(), pattern_value(last, width), 1.5) << "seed " << seed;
    EXPECT_NEAR(middle_column[0].item<float>(), pattern_value(geometry.crop_y + step_y / 2, height), 1.5);
    EXPECT_NEAR(middle_column[side - 1].item<float>(),
                pattern_value(geometry.crop_y + geometry.crop_height - step_y / 2, height), 1.5);
  }
  EXPECT_GT(flipped, 0);
  EXPECT_GT(unflipped, 0);
}

TEST(AugmentPositive, GrayscaleSamplesHaveEqualChannels) {
  AugmentConfig config = small_config();
  config.grayscale_p = 1;
  config.positive_jitter_p = 1;  // hue and saturation first, so grayscale has something to undo
  const ImageBatch batch = pack(mixed_images(4));
  const auto views = unnormalise(make_view(batch, ViewKind::positive, seeds_from(3, 4), config, kCpu), config);
  EXPECT_LT((views.select(1, 0) - views.select(1, 1)).abs().max().item<float>(), 1e-5);
  EXPECT_LT((views.select(1, 1) - views.select(1, 2)).abs().max().item<float>(), 1e-5);
}

TEST(AugmentGeometry, RandomCropsKeepScaleAndAspectRatio) {
  const AugmentConfig config = small_config();
  const int shapes[][2] = {{200, 300}, {300, 200}, {60, 400}};  // height, width; the last often falls back
  for (ViewKind kind : {ViewKind::anchor, ViewKind::positive}) {
    const double scale_min = kind == ViewKind::anchor ? config.anchor_scale_min : config.positive_scale_min;
    for (const auto& shape : shapes) {
      const int height = shape[0], width = shape[1];
      for (uint64_t seed = 0; seed < 1000; ++seed) {
        const ViewGeometry g = sample_geometry(kind, seed, height, width, config);
        ASSERT_GE(g.crop_x, 0);
        ASSERT_GE(g.crop_y, 0);
        ASSERT_LE(g.crop_x + g.crop_width, width);
        ASSERT_LE(g.crop_y + g.crop_height, height);
        const bool centre_fallback = std::abs(g.crop_x + g.crop_width / 2 - width / 2.0) <= 0.5 &&
                                     std::abs(g.crop_y + g.crop_height / 2 - height / 2.0) <= 0.5 &&
                                     (g.crop_width == width || g.crop_height == height);
        if (centre_fallback) continue;
        // Crop sides are rounded to whole pixels, hence the half-pixel slack.
        EXPECT_GE((g.crop_width + 0.5) * (g.crop_height + 0.5), scale_min * width * height);
        EXPECT_GE((g.crop_width + 0.5) / (g.crop_height - 0.5), 3.0 / 4.0);
        EXPECT_LE((g.crop_width - 0.5) / (g.crop_height + 0.5), 4.0 / 3.0);
      }
    }
  }
}

TEST(AugmentPreview, ViewToImageUndoesTheNormalisation) {
  const AugmentConfig config = small_config();
  Image flat(100, 80);
  for (size_t i = 0; i < flat.pixels.size(); i += 3) {
    flat.pixels[i] = 10;
    flat.pixels[i + 1] = 200;
    flat.pixels[i + 2] = 90;
  }
  const auto view = make_view(pack({flat}), ViewKind::eval, {0}, config, kCpu);
  const Image image = view_to_image(view[0], config);
  ASSERT_EQ(image.width, 64);
  ASSERT_EQ(image.height, 64);
  for (size_t i = 0; i < image.pixels.size(); i += 3) {
    ASSERT_NEAR(image.pixels[i], 10, 1);
    ASSERT_NEAR(image.pixels[i + 1], 200, 1);
    ASSERT_NEAR(image.pixels[i + 2], 90, 1);
  }
  EXPECT_THROW(view_to_image(view, config), std::invalid_argument);
}

// A smooth image (sums of low-frequency sines) so bilinear and area-averaged sampling differ little.
Image smooth_image(int width, int height, int seed) {
  Image image(width, height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) {
        const double value = 127.5 + 60 * std::sin(0.031 * x + 0.7 * c + seed) + 60 * std::cos(0.023 * y - 0.4 * c + 2 * seed);
        image.row(y)[3 * x + c] = static_cast<uint8_t>(std::lround(value));
      }
  return image;
}

TEST(AugmentWarpCpu, MatchesTheTensorPath) {
  // Sizes give downscale factors 1, 2 and 3 at these view sizes; mixed in one batch, so padding is exercised.
  std::vector<Image> images;
  const int sizes[][2] = {{597, 448}, {300, 200}, {120, 160}, {97, 251}, {640, 480}, {64, 64}};
  for (int i = 0; i < 6; ++i) images.push_back(smooth_image(sizes[i][0], sizes[i][1], i));
  const ImageBatch batch = pack(images);
  for (int side : {64, 112}) {
    const AugmentConfig config = small_config(side);
    for (ViewKind kind : kAllKinds) {
      for (uint64_t first_seed : {1, 2, 3}) {
        const auto seeds = seeds_from(first_seed, images.size());
        const auto native = resample_views(batch, kind, seeds, config, /*native_cpu_warp=*/true);   // [B,3,S,S]
        const auto tensor = resample_views(batch, kind, seeds, config, /*native_cpu_warp=*/false);  // [B,3,S,S]
        ASSERT_EQ(native.sizes(), tensor.sizes());
        EXPECT_LE((native - tensor).abs().max().item<float>(), 2.0f / 255)
            << "side " << side << " kind " << static_cast<int>(kind) << " seed " << first_seed;
      }
    }
  }
}

TEST(AugmentWarpCpu, MatchesTheTensorPathOnThePattern) {
  // Sharp edges: positions are the same on both paths, so only float rounding separates them.
  const Image image = coordinate_pattern(256, 200);
  const AugmentConfig config = geometry_only_config();
  for (uint64_t seed = 0; seed < 8; ++seed) {
    const auto native = resample_views(pack({image}), ViewKind::anchor, {seed}, config, true);
    const auto tensor = resample_views(pack({image}), ViewKind::anchor, {seed}, config, false);
    EXPECT_LE((native - tensor).abs().max().item<float>(), 1e-4f) << "seed " << seed;
  }
}

}  // namespace
}  // namespace trashcl
