#include "data/synth.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/random.h"
#include "data/encode.h"

namespace trashcl {
namespace {

const char* const kSynthClassNames[] = {"bottle", "box", "can", "cup", "paper", "wrapper"};
constexpr double kPi = 3.14159265358979323846;

// The colour family of each class's material, in HSV (hue in turns, 0-1): half the objects take the hue range
// shifted by hue_alternative (0: one range). Families overlap (cups and wrappers are both vivid, any hue), so
// shape still matters, but they make the classes learnable in a few minutes, as real materials are.
struct Material {
  double hue_min, hue_max, hue_alternative, saturation_min, saturation_max, value_min, value_max;
};
const Material kMaterials[] = {
    {0.22, 0.40, 0.75, 0.45, 0.90, 0.25, 0.70},  // bottle: green glass, or brown (0.97-1.15 wraps to red-orange)
    {0.06, 0.11, 0.00, 0.40, 0.70, 0.45, 0.80},  // box: cardboard
    {0.55, 0.65, 0.00, 0.00, 0.15, 0.35, 0.75},  // can: grey metal
    {0.00, 1.00, 0.00, 0.60, 1.00, 0.55, 1.00},  // cup: any vivid colour
    {0.55, 0.65, 0.00, 0.05, 0.25, 0.90, 1.00},  // paper: white to pale blue
    {0.00, 1.00, 0.00, 0.70, 1.00, 0.45, 0.95},  // wrapper: any vivid colour
};

struct Rgb {
  double red, green, blue;
};

// HSV with hue in turns (wrapped into [0, 1)), saturation and value in [0, 1], to RGB in [0, 1].
Rgb hsv_to_rgb(double hue, double saturation, double value) {
  hue = (hue - std::floor(hue)) * 6.0;
  const int sector = static_cast<int>(hue) % 6;
  const double fraction = hue - std::floor(hue);
  const double low = value * (1 - saturation), falling = value * (1 - saturation * fraction),
               rising = value * (1 - saturation * (1 - fraction));
  switch (sector) {
    case 0: return {value, rising, low};
    case 1: return {falling, value, low};
    case 2: return {low, value, rising};
    case 3: return {low, falling, value};
    case 4: return {rising, low, value};
    default: return {value, low, falling};
  }
}

// Is (x, y), relative to the object's centre and scaled by its radius r, inside the shape of `label`?
bool inside_shape(int label, double x, double y) {
  const double distance = std::sqrt(x * x + y * y);
  switch (label) {
    case 0: return distance <= 1.0;                                      // disc
    case 1: return std::abs(x) <= 0.8 && std::abs(y) <= 0.8;             // box
    case 2: return std::abs(x) <= 0.35 && std::abs(y) <= 1.0;            // upright bar
    case 3: return distance <= 1.0 && distance >= 0.6;                   // ring
    case 4: return (std::abs(x) <= 0.25 && std::abs(y) <= 1.0) || (std::abs(y) <= 0.25 && std::abs(x) <= 1.0);  // cross
    default: return y <= 0.8 && std::abs(x) <= (y + 1.0) / 1.8;        // triangle, apex up
  }
}

}  // namespace

std::vector<std::string> synth_class_names(int classes) {
  return std::vector<std::string>(std::begin(kSynthClassNames), std::begin(kSynthClassNames) + classes);
}

Image synth_image(int label, int width, int height, uint64_t seed) {
  SplitMix64 rng(mix_seed(seed, static_cast<uint64_t>(label), 0x51A7));
  Image image(width, height);
  // Background: a light board with a brightness gradient (lighting) and pixel noise.
  const double light = rng.uniform(0.75, 0.95), tilt = rng.uniform(-0.15, 0.15);
  // Object: a colour from its material's family, a random position, size and rotation.
  const Material& material = kMaterials[label];
  double hue = rng.uniform(material.hue_min, material.hue_max);
  if (rng.uniform(0, 1) < 0.5) hue += material.hue_alternative;
  const double saturation = rng.uniform(material.saturation_min, material.saturation_max);
  const double value = rng.uniform(material.value_min, material.value_max);
  const Rgb colour = hsv_to_rgb(hue, saturation, value);
  const double radius = rng.uniform(0.22, 0.38) * std::min(width, height);
  const double centre_x = rng.uniform(0.35, 0.65) * width, centre_y = rng.uniform(0.35, 0.65) * height;
  const double angle = rng.uniform(-0.4, 0.4) * kPi;
  const double cos_a = std::cos(angle), sin_a = std::sin(angle);
  for (int y = 0; y < height; ++y) {
    uint8_t* row = image.row(y);
    for (int x = 0; x < width; ++x) {
      const double dx = (x - centre_x) / radius, dy = (y - centre_y) / radius;
      const double u = cos_a * dx + sin_a * dy, v = -sin_a * dx + cos_a * dy;
      const double noise = rng.uniform(-0.06, 0.06);
      double rgb[3];
      if (inside_shape(label, u, v)) {
        const double shade = 0.8 + 0.2 * (1 - std::min(1.0, std::sqrt(u * u + v * v)));
        rgb[0] = colour.red * shade, rgb[1] = colour.green * shade, rgb[2] = colour.blue * shade;
      } else {
        const double board = light + tilt * (static_cast<double>(x) / width - 0.5);
        rgb[0] = rgb[1] = rgb[2] = board;
      }
      for (int c = 0; c < 3; ++c) row[3 * x + c] = static_cast<uint8_t>(std::clamp(rgb[c] + noise, 0.0, 1.0) * 255 + 0.5);
    }
  }
  return image;
}

void write_synth_dataset(const std::filesystem::path& root, const SynthOptions& options) {
  if (options.classes < 2 || options.classes > 6) throw UserError(fmt::format("--classes {}: must be 2-6", options.classes));
  if (options.per_class < 1) throw UserError(fmt::format("--per-class {}: must be at least 1", options.per_class));
  if (options.size < 16 || options.size > 2048) throw UserError(fmt::format("--size {}: must be 16-2048", options.size));
  const auto names = synth_class_names(options.classes);
  const int height = options.size * 3 / 4;
  for (int label = 0; label < options.classes; ++label) {
    std::error_code error;
    std::filesystem::create_directories(root / names[label], error);
    if (error) throw UserError(fmt::format("{}: cannot create the folder: {}", (root / names[label]).string(), error.message()));
    for (int i = 0; i < options.per_class; ++i) {
      const Image image = synth_image(label, options.size, height, mix_seed(options.seed, static_cast<uint64_t>(i)));
      const auto stem = root / names[label] / fmt::format("{}_{:03d}", names[label], i);
      if (i % 4 == 3) {
        write_png(stem.string() + ".png", image);
      } else {
        write_jpeg(stem.string() + ".jpg", image, 90);
      }
    }
  }
}

}  // namespace trashcl
