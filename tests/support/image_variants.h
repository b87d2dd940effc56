// Odd-but-valid JPEG and PNG files, written with libjpeg and libpng directly (not with trashcl's encoder),
// and byte patches that turn them into bad files. Every function returns the file's bytes.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "data/image.h"

namespace trashcl::testing {

// Smooth colour ramps without sharp edges, so JPEG round trips can be held to a tight tolerance.
Image smooth_image(int width, int height);

// ---- JPEG ---------------------------------------------------------------------------------------

struct JpegVariant {
  int quality = 95;
  bool progressive = false;  // jpeg_simple_progression: several scans instead of one
  std::string app1;          // written as an APP1 marker when not empty, e.g. exif_orientation_block(6)
};

std::string jpeg_rgb(const Image& image, const JpegVariant& variant = {});

// One channel: the decoder must expand it to R = G = B.
std::string jpeg_grey(int width, int height);
// The grey value jpeg_grey writes at (x, y).
uint8_t grey_ramp(int x, int y, int width, int height);

// A solid colour given as ink amounts (C, M, Y, K; 255 = full ink), stored inverted with an Adobe APP14
// marker as Photoshop does. `ycck` stores it colour-transformed (YCCK) instead of plain CMYK.
std::string jpeg_cmyk_adobe(int width, int height, std::array<uint8_t, 4> ink, bool ycck = false);

// The APP1 payload "Exif\0\0" + TIFF header + IFD0 holding only the orientation tag (0x0112).
std::string exif_orientation_block(int orientation, bool big_endian = false);

// Rewrites the width and height in the first SOF marker.
std::string patch_jpeg_dimensions(std::string jpeg, uint16_t width, uint16_t height);

// ---- PNG ----------------------------------------------------------------------------------------

enum class PngKind {
  grey8,       // the G channel of the image as 8-bit grey
  palette,     // indexed colour; the image must have at most 256 distinct colours
  rgb16,       // 16-bit samples, each byte v stored as v * 257
  rgba,        // RGB plus alpha: 0 in the left third, 128 in the middle third, 255 in the right third
  grey_alpha,  // the G channel as grey plus the same alpha pattern
};

std::string png_variant(const Image& image, PngKind kind, bool interlaced = false);

// The alpha png_variant writes in column x of an image `width` wide.
uint8_t alpha_ramp(int x, int width);

// Rewrites width and height in IHDR and recomputes its CRC, so libpng reads on up to the size check.
std::string patch_png_dimensions(std::string png, uint32_t width, uint32_t height);

}  // namespace trashcl::testing
