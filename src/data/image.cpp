// Pixel geometry: the area-averaging resize and the EXIF orientation every decoded photo passes through.
// The resize is separable (a vertical then a horizontal pass per output row) with weights computed once
// per output column and row, so it costs about as much as the JPEG decode before it.
#include "data/image.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace trashcl {
namespace {

// For each output sample o, the input samples [first[o], first[o] + count[o]) it averages and their weights
// (the fraction of the output pixel's footprint each input pixel covers), flattened into one array.
struct BoxWeights {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int> offset;
  std::vector<float> weights;
};

BoxWeights make_box_weights(int input_size, int output_size) {
  BoxWeights box;
  box.first.resize(output_size);
  box.count.resize(output_size);
  box.offset.resize(output_size);
  const double scale = static_cast<double>(input_size) / output_size;
  for (int o = 0; o < output_size; ++o) {
    const double begin = o * scale;
    const double end = std::min(static_cast<double>(input_size), (o + 1) * scale);
    const int first = std::min(input_size - 1, static_cast<int>(std::floor(begin)));
    const int last = std::clamp(static_cast<int>(std::ceil(end)) - 1, first, input_size - 1);
    box.first[o] = first;
    box.offset[o] = static_cast<int>(box.weights.size());
    float total = 0.0f;
    for (int i = first; i <= last; ++i) {
      const double covered = std::min(end, i + 1.0) - std::max(begin, static_cast<double>(i));
      const float weight = static_cast<float>(std::max(0.0, covered));
      box.weights.push_back(weight);
      total += weight;
    }
    // Normalising by the actual sum (not by `scale`) keeps a solid colour exactly solid despite rounding.
    for (size_t k = box.offset[o]; k < box.weights.size(); ++k) box.weights[k] /= total;
    box.count[o] = last - first + 1;
  }
  return box;
}

// Output row `y` before its columns shrink: the weighted sum of the input rows its footprint covers,
// [in_width * 3] floats. Contiguous rows make this the vectorised half of the filter.
void blend_rows(const Image& image, const BoxWeights& rows, int y, std::vector<float>& blended) {
  const float* weight = rows.weights.data() + rows.offset[y];
  const uint8_t* first = image.row(rows.first[y]);
  for (size_t i = 0; i < blended.size(); ++i) blended[i] = weight[0] * first[i];
  for (int k = 1; k < rows.count[y]; ++k) {
    const uint8_t* source = image.row(rows.first[y] + k);
    for (size_t i = 0; i < blended.size(); ++i) blended[i] += weight[k] * source[i];
  }
}

uint8_t to_byte(float value) { return static_cast<uint8_t>(std::clamp(static_cast<int>(value + 0.5f), 0, 255)); }

// The columns of one blended row shrink to the output row: [in_width * 3] floats -> [out_width * 3] bytes.
void shrink_row(const std::vector<float>& blended, const BoxWeights& columns, uint8_t* target) {
  const int out_width = static_cast<int>(columns.first.size());
  for (int x = 0; x < out_width; ++x) {
    const float* weight = columns.weights.data() + columns.offset[x];
    const float* pixel = blended.data() + static_cast<size_t>(columns.first[x]) * 3;
    float r = 0.0f, g = 0.0f, b = 0.0f;
    for (int k = 0; k < columns.count[x]; ++k, pixel += 3) {
      r += weight[k] * pixel[0];
      g += weight[k] * pixel[1];
      b += weight[k] * pixel[2];
    }
    target[3 * x + 0] = to_byte(r);
    target[3 * x + 1] = to_byte(g);
    target[3 * x + 2] = to_byte(b);
  }
}

void check_pixel_count(const Image& image, const char* caller) {
  if (image.width < 0 || image.height < 0 ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height * 3) {
    throw std::invalid_argument(std::string(caller) + ": " + std::to_string(image.pixels.size()) +
                                " bytes do not hold a " + std::to_string(image.width) + "x" +
                                std::to_string(image.height) + " RGB image");
  }
}

}  // namespace

std::pair<int, int> capped_size(int width, int height, int max_short_side) {
  const int short_side = std::min(width, height);
  if (max_short_side <= 0 || short_side <= max_short_side) return {width, height};
  const double factor = static_cast<double>(max_short_side) / short_side;
  const int long_side = std::max(1, static_cast<int>(std::lround(std::max(width, height) * factor)));
  return width > height ? std::pair{long_side, max_short_side} : std::pair{max_short_side, long_side};
}

Image resize_area(Image image, int width, int height) {
  if (width == image.width && height == image.height) return image;
  check_pixel_count(image, "resize_area");
  if (width <= 0 || height <= 0 || image.width <= 0 || image.height <= 0) {
    throw std::invalid_argument("resize_area: cannot resize a " + std::to_string(image.width) + "x" +
                                std::to_string(image.height) + " image to " + std::to_string(width) + "x" +
                                std::to_string(height));
  }
  // One output row at a time, rows first then columns, so the only scratch memory is one input row.
  const BoxWeights rows = make_box_weights(image.height, height);
  const BoxWeights columns = make_box_weights(image.width, width);
  Image result(width, height);
  std::vector<float> blended(static_cast<size_t>(image.width) * 3);
  for (int y = 0; y < height; ++y) {
    blend_rows(image, rows, y, blended);
    shrink_row(blended, columns, result.row(y));
  }
  return result;
}

Image apply_exif_orientation(Image stored, int orientation) {
  if (orientation <= 1 || orientation > 8) return stored;
  check_pixel_count(stored, "apply_exif_orientation");
  const int64_t w = stored.width;
  const int64_t h = stored.height;
  const bool swaps_axes = orientation >= 5;
  Image upright(swaps_axes ? stored.height : stored.width, swaps_axes ? stored.width : stored.height);
  // Output pixel (x, y) reads stored pixel start + x * step_x + y * step_y, counted in pixels.
  int64_t start = 0, step_x = 1, step_y = w;
  switch (orientation) {
    case 2: start = w - 1, step_x = -1, step_y = w; break;       // mirror left-right
    case 3: start = w * h - 1, step_x = -1, step_y = -w; break;  // rotate 180 degrees
    case 4: start = (h - 1) * w, step_x = 1, step_y = -w; break; // mirror top-bottom
    case 5: start = 0, step_x = w, step_y = 1; break;            // transpose
    case 6: start = (h - 1) * w, step_x = -w, step_y = 1; break; // rotate 90 degrees clockwise
    case 7: start = w * h - 1, step_x = -w, step_y = -1; break;  // transverse
    case 8: start = w - 1, step_x = w, step_y = -1; break;       // rotate 90 degrees anticlockwise
  }
  for (int y = 0; y < upright.height; ++y) {
    uint8_t* target = upright.row(y);
    int64_t source = start + y * step_y;
    for (int x = 0; x < upright.width; ++x, source += step_x) {
      std::memcpy(target + 3 * x, stored.pixels.data() + source * 3, 3);
    }
  }
  return upright;
}

Image cap_short_side(Image image, int max_short_side) {
  const auto [width, height] = capped_size(image.width, image.height, max_short_side);
  return resize_area(std::move(image), width, height);
}

}  // namespace trashcl
