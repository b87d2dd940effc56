// Image decoding: JPEG (libjpeg-turbo) and PNG (libpng) to 8-bit RGB, never crashing on bad input.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "data/image.h"

namespace trashcl {

enum class ImageFormat { jpeg, png, unknown };

// The format told by the file's first bytes (magic numbers), never by its extension.
ImageFormat sniff_format(const uint8_t* bytes, size_t size);

struct DecodeOptions {
  // 0 keeps the full size. Otherwise JPEGs use DCT-domain scaling (1/2, 1/4, 1/8) to the smallest scale
  // whose short side is still >= this, and the result is then capped to exactly this short side with an
  // area filter, so a 4000x3000 photo costs a fraction of a full decode.
  int max_short_side = 0;
  // Declared width*height above this is rejected before any pixel buffer is allocated (decompression bombs).
  int64_t max_pixels = 100'000'000;
  // Rotate/flip by the EXIF orientation tag (JPEG APP1) so the image is upright as the camera saw it.
  bool apply_exif_orientation = true;
};

// Decode bytes already in memory; `name` is used in error messages only.
// Throws BadImageError(name, reason) for anything that is not a usable JPEG or PNG.
Image decode_image(const uint8_t* bytes, size_t size, const std::string& name, const DecodeOptions& options = {});

// Read and decode a file. Throws BadImageError(path, reason) for missing, unreadable, empty, truncated,
// corrupt, unsupported or oversized files.
Image decode_image_file(const std::filesystem::path& path, const DecodeOptions& options = {});

}  // namespace trashcl
