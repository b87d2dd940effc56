// An 8-bit RGB image in memory: the unit the decoder produces, the cache holds and augmentation reads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace trashcl {

struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // [height, width, 3] row-major, interleaved RGB

  Image() = default;
  Image(int w, int h) : width(w), height(h), pixels(static_cast<size_t>(w) * h * 3) {}

  bool empty() const { return pixels.empty(); }
  size_t bytes() const { return pixels.size(); }
  uint8_t* row(int y) { return pixels.data() + static_cast<size_t>(y) * width * 3; }
  const uint8_t* row(int y) const { return pixels.data() + static_cast<size_t>(y) * width * 3; }
};

// Area-averaging downscale (box filter) so that the short side becomes at most `max_short_side`,
// keeping the aspect ratio. Returns the image unchanged when it is already small enough.
Image cap_short_side(Image image, int max_short_side);

// The {width, height} cap_short_side gives an image of this size: the short side becomes max_short_side and
// the long side keeps the aspect ratio, rounded. Unchanged when the short side is already small enough.
std::pair<int, int> capped_size(int width, int height, int max_short_side);

// Area-averaging resize to exactly width x height; meant for shrinking (each output pixel averages the
// input pixels its footprint covers, with fractional weights at the edges).
Image resize_area(Image image, int width, int height);

// Turns a photo stored with EXIF orientation 1-8 upright: 2-4 mirror or rotate by 180 degrees, 5-8 also swap
// width and height. Any other value returns the image unchanged.
Image apply_exif_orientation(Image stored, int orientation);

}  // namespace trashcl
