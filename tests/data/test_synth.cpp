// The synthetic image set: reproducible pixels, and each class drawn in its material's colour family on a grey
// board, so a short run can learn it (the board is grey, so every coloured pixel belongs to the object).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include <gtest/gtest.h>

#include "data/synth.h"

namespace trashcl {
namespace {

constexpr int kBottle = 0, kBox = 1, kCan = 2, kCup = 3;

struct Pixel {
  double hue = 0, chroma = 0;  // hue in turns (0-1), chroma = max - min channel in [0, 1]
};

// The image's most colourful pixel: on the grey board it lies on the object.
Pixel most_colourful_pixel(const Image& image) {
  Pixel best;
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* row = image.row(y);
    for (int x = 0; x < image.width; ++x) {
      const double r = row[3 * x] / 255.0, g = row[3 * x + 1] / 255.0, b = row[3 * x + 2] / 255.0;
      const double high = std::max({r, g, b}), chroma = high - std::min({r, g, b});
      if (chroma <= best.chroma) continue;
      double hue = high == r ? (g - b) / chroma : high == g ? 2 + (b - r) / chroma : 4 + (r - g) / chroma;
      hue /= 6;
      best = {hue - std::floor(hue), chroma};
    }
  }
  return best;
}

TEST(SynthImages, TheSameLabelAndSeedGiveTheSamePixels) {
  EXPECT_EQ(synth_image(kBox, 64, 48, 7).pixels, synth_image(kBox, 64, 48, 7).pixels);
  EXPECT_NE(synth_image(kBox, 64, 48, 7).pixels, synth_image(kBox, 64, 48, 8).pixels);
  EXPECT_NE(synth_image(kBox, 64, 48, 7).pixels, synth_image(kCup, 64, 48, 7).pixels);
}

TEST(SynthImages, ObjectsTakeTheirMaterialsColours) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    // Cans are grey metal: saturation <= 0.15 at value <= 0.75, so chroma <= 0.11 plus rounding.
    EXPECT_LE(most_colourful_pixel(synth_image(kCan, 64, 48, seed)).chroma, 0.13) << "can, seed " << seed;
    // Cups are vivid: saturation >= 0.6 at value >= 0.55, shaded by >= 0.8, then pixel noise.
    EXPECT_GE(most_colourful_pixel(synth_image(kCup, 64, 48, seed)).chroma, 0.25) << "cup, seed " << seed;
    // Boxes are cardboard: hue 0.06-0.11 turns (orange-brown), widened for rounding and noise.
    const Pixel box = most_colourful_pixel(synth_image(kBox, 64, 48, seed));
    EXPECT_GE(box.hue, 0.04) << "box, seed " << seed;
    EXPECT_LE(box.hue, 0.13) << "box, seed " << seed;
    // Bottles are green glass (hue 0.22-0.40) or brown (0.97-0.15, across red): never blue or purple.
    const Pixel bottle = most_colourful_pixel(synth_image(kBottle, 64, 48, seed));
    EXPECT_TRUE(bottle.hue < 0.42 || bottle.hue > 0.95) << "bottle, seed " << seed << ": hue " << bottle.hue;
  }
}

}  // namespace
}  // namespace trashcl
