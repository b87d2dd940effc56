// Encoders round-trip through the decoder, atomic writes leave nothing half-written behind, and the
// area resize that every decoded image passes through averages exactly.
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "data/decode.h"
#include "data/encode.h"
#include "support/image_variants.h"
#include "support/test_support.h"

namespace trashcl {
namespace {

using ::testing::HasSubstr;

Image decode_vector(const std::vector<uint8_t>& bytes) { return decode_image(bytes.data(), bytes.size(), "encoded"); }

double mean_abs_difference(const Image& a, const Image& b) {
  if (a.pixels.size() != b.pixels.size() || a.pixels.empty()) return 1e9;
  double total = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) total += std::abs(a.pixels[i] - b.pixels[i]);
  return total / static_cast<double>(a.pixels.size());
}

std::vector<std::string> folder_listing(const std::filesystem::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) names.push_back(entry.path().filename());
  return names;
}

TEST(EncodePng, RoundTripIsExact) {
  for (const auto& [width, height] : {std::pair{1, 1}, std::pair{37, 23}, std::pair{640, 480}}) {
    const Image image = testing::make_test_image(width, height, 9);
    const Image decoded = decode_vector(encode_png(image));
    EXPECT_EQ(decoded.width, width);
    EXPECT_EQ(decoded.height, height);
    EXPECT_EQ(decoded.pixels, image.pixels);
  }
}

TEST(EncodeJpeg, RoundTripIsClose) {
  const Image image = testing::smooth_image(160, 120);
  const std::vector<uint8_t> good = encode_jpeg(image, 95);
  const std::vector<uint8_t> poor = encode_jpeg(image, 20);
  const Image decoded = decode_vector(good);
  EXPECT_EQ(decoded.width, 160);
  EXPECT_EQ(decoded.height, 120);
  EXPECT_LT(mean_abs_difference(decoded, image), 1.5);
  EXPECT_LT(poor.size(), good.size());
  EXPECT_EQ(decode_vector(encode_jpeg(testing::make_test_image(1, 1), 300)).width, 1);  // quality clamped
}

TEST(EncodeJpeg, LargeImageGrowsTheBuffer) {
  Image noise(1200, 900);
  std::mt19937 rng(3);
  for (uint8_t& sample : noise.pixels) sample = static_cast<uint8_t>(rng());
  const std::vector<uint8_t> bytes = encode_jpeg(noise, 100);
  EXPECT_GT(bytes.size(), size_t{1} << 20);
  EXPECT_EQ(decode_vector(bytes).width, 1200);
}

TEST(EncodeImage, RejectsImagesWithoutPixels) {
  Image inconsistent(4, 4);
  inconsistent.pixels.resize(5);
  EXPECT_THROW(encode_png(Image()), std::invalid_argument);
  EXPECT_THROW(encode_jpeg(Image()), std::invalid_argument);
  EXPECT_THROW(encode_png(inconsistent), std::invalid_argument);
}

TEST(EncodeWriteFile, ReplacesTheFileAndLeavesNoTemporary) {
  testing::TempDir dir;
  const auto path = dir / "preview.png";
  testing::write_bytes(path, "old contents");
  const Image image = testing::smooth_image(50, 40);
  write_png(path, image);
  EXPECT_EQ(decode_image_file(path).pixels, image.pixels);
  write_jpeg(dir / "photo.jpg", image, 90);
  EXPECT_LT(mean_abs_difference(decode_image_file(dir / "photo.jpg"), image), 2.0);
  write_file_atomic(path, {1, 2, 3});
  EXPECT_EQ(std::filesystem::file_size(path), 3u);
  EXPECT_THAT(folder_listing(dir.path()), ::testing::UnorderedElementsAre("preview.png", "photo.jpg"));
}

// Flushed to the disk (what a power cut would test cannot be shown here; the write and the clean-up can).
TEST(EncodeWriteFile, APowerLossProofWriteReplacesTheFileAndLeavesNoTemporary) {
  testing::TempDir dir;
  const auto path = dir / "index.bin";
  testing::write_bytes(path, "old contents");
  write_file_atomic(path, {4, 5, 6, 7}, Durability::kPowerLoss);
  EXPECT_EQ(testing::read_bytes(path), std::string("\x04\x05\x06\x07"));
  EXPECT_THAT(folder_listing(dir.path()), ::testing::UnorderedElementsAre("index.bin"));
  EXPECT_NO_THROW(sync_to_disk(dir.path()));
  try {
    sync_to_disk(dir / "missing.ckpt");
    FAIL() << "flushing a missing file succeeded";
  } catch (const UserError& error) {
    EXPECT_THAT(error.what(), HasSubstr((dir / "missing.ckpt").string()));
    EXPECT_THAT(error.what(), HasSubstr("No such file or directory"));
  }
}

TEST(EncodeWriteFile, FailureNamesThePathAndCleansUp) {
  testing::TempDir dir;
  const auto missing_folder = dir / "no-such-folder" / "out.png";
  try {
    write_png(missing_folder, testing::make_test_image(4, 4));
    FAIL() << "writing into a missing folder succeeded";
  } catch (const UserError& error) {
    EXPECT_THAT(error.what(), HasSubstr(missing_folder.string()));
    EXPECT_THAT(error.what(), HasSubstr("No such file or directory"));
  }
  // A directory in the way: the temporary is written, the rename fails, and the temporary must go.
  std::filesystem::create_directories(dir / "taken" / "inside");
  EXPECT_THROW(write_file_atomic(dir / "taken", {1, 2, 3}), UserError);
  EXPECT_THAT(folder_listing(dir.path()), ::testing::UnorderedElementsAre("taken"));
}

// ---- area resize --------------------------------------------------------------------------------

// The exact box filter, integrating each output pixel's footprint over the input in double precision.
Image reference_resize(const Image& image, int width, int height) {
  Image result(width, height);
  const double sx = static_cast<double>(image.width) / width, sy = static_cast<double>(image.height) / height;
  for (int oy = 0; oy < height; ++oy) {
    for (int ox = 0; ox < width; ++ox) {
      double sum[3] = {0, 0, 0};
      for (int y = 0; y < image.height; ++y) {
        const double wy = std::max(0.0, std::min(y + 1.0, (oy + 1) * sy) - std::max(double(y), oy * sy));
        for (int x = 0; x < image.width && wy > 0; ++x) {
          const double wx = std::max(0.0, std::min(x + 1.0, (ox + 1) * sx) - std::max(double(x), ox * sx));
          for (int c = 0; c < 3; ++c) sum[c] += wx * wy * image.row(y)[3 * x + c];
        }
      }
      for (int c = 0; c < 3; ++c) result.row(oy)[3 * ox + c] = static_cast<uint8_t>(std::lround(sum[c] / (sx * sy)));
    }
  }
  return result;
}

TEST(EncodeResize, MatchesTheExactBoxFilter) {
  std::mt19937 rng(11);
  struct Case { int width, height, max_short_side; };
  for (const auto& [w, h, max_short_side] : {Case{4, 4, 2}, Case{3, 3, 2}, Case{17, 9, 4}, Case{100, 75, 31}, Case{9, 40, 7}}) {
    Image image(w, h);
    for (uint8_t& sample : image.pixels) sample = static_cast<uint8_t>(rng());
    const Image capped = cap_short_side(image, max_short_side);
    ASSERT_EQ(std::min(capped.width, capped.height), max_short_side);
    const Image expected = reference_resize(image, capped.width, capped.height);
    for (size_t i = 0; i < capped.pixels.size(); ++i) ASSERT_NEAR(capped.pixels[i], expected.pixels[i], 1) << i;
  }
}

TEST(EncodeResize, KeepsSolidColoursAndSmallImages) {
  Image solid(1000, 750);
  for (size_t i = 0; i < solid.pixels.size(); i += 3) solid.pixels[i] = 37, solid.pixels[i + 1] = 150, solid.pixels[i + 2] = 211;
  const Image capped = cap_short_side(solid, 448);
  EXPECT_EQ(capped.width, 597);
  EXPECT_EQ(capped.height, 448);
  for (size_t i = 0; i < capped.pixels.size(); i += 3) {
    ASSERT_EQ(capped.pixels[i], 37);
    ASSERT_EQ(capped.pixels[i + 1], 150);
    ASSERT_EQ(capped.pixels[i + 2], 211);
  }
  const Image small = testing::make_test_image(300, 200);
  EXPECT_EQ(cap_short_side(small, 448).pixels, small.pixels);
  EXPECT_EQ(cap_short_side(small, 0).pixels, small.pixels);
  EXPECT_EQ(capped_size(1001, 750, 448), (std::pair{598, 448}));
  EXPECT_EQ(capped_size(750, 1001, 448), (std::pair{448, 598}));
  EXPECT_EQ(capped_size(5000, 2, 1), (std::pair{2500, 1}));
}

}  // namespace
}  // namespace trashcl
