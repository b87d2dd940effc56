#include "support/image_variants.h"

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <vector>

#include <jpeglib.h>
#include <png.h>

namespace trashcl::testing {
namespace {

// Rows of `components` samples per pixel, handed to libjpeg one at a time. The library's default error
// handler exits, which is acceptable here: these writers only ever see valid input.
std::string compress_jpeg(const std::vector<uint8_t>& samples, int width, int height, int components,
                          J_COLOR_SPACE in_space, const JpegVariant& variant, J_COLOR_SPACE stored_space) {
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr error{};
  cinfo.err = jpeg_std_error(&error);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = components;
  cinfo.in_color_space = in_space;
  jpeg_set_defaults(&cinfo);
  if (stored_space != JCS_UNKNOWN) jpeg_set_colorspace(&cinfo, stored_space);
  jpeg_set_quality(&cinfo, variant.quality, TRUE);
  if (variant.progressive) jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  if (!variant.app1.empty()) {
    jpeg_write_marker(&cinfo, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(variant.app1.data()),
                      static_cast<unsigned int>(variant.app1.size()));
  }
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(samples.data()) +
                   static_cast<size_t>(cinfo.next_scanline) * width * components;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string bytes(reinterpret_cast<const char*>(buffer), size);
  std::free(buffer);
  return bytes;
}

void append_u16(std::string& out, uint16_t value, bool big_endian) {
  const char low = static_cast<char>(value & 0xFF), high = static_cast<char>(value >> 8);
  out += big_endian ? high : low;
  out += big_endian ? low : high;
}

void append_u32(std::string& out, uint32_t value, bool big_endian) {
  append_u16(out, static_cast<uint16_t>(big_endian ? value >> 16 : value & 0xFFFF), big_endian);
  append_u16(out, static_cast<uint16_t>(big_endian ? value & 0xFFFF : value >> 16), big_endian);
}

void write_png_bytes(png_structp png, png_bytep data, size_t length) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<const char*>(data), length);
}

// Pixel rows in the layout libpng expects for `kind`, plus the palette when there is one.
struct PngRows {
  int color_type = PNG_COLOR_TYPE_RGB;
  int bit_depth = 8;
  std::vector<std::vector<uint8_t>> rows;
  std::vector<png_color> palette;
};

PngRows png_rows(const Image& image, PngKind kind) {
  PngRows out;
  std::map<uint32_t, uint8_t> palette_index;
  for (int y = 0; y < image.height; ++y) {
    std::vector<uint8_t>& row = out.rows.emplace_back();
    for (int x = 0; x < image.width; ++x) {
      const uint8_t* p = image.row(y) + 3 * x;
      switch (kind) {
        case PngKind::grey8: row.push_back(p[1]); break;
        case PngKind::grey_alpha: row.insert(row.end(), {p[1], alpha_ramp(x, image.width)}); break;
        case PngKind::rgba: row.insert(row.end(), {p[0], p[1], p[2], alpha_ramp(x, image.width)}); break;
        case PngKind::rgb16: row.insert(row.end(), {p[0], p[0], p[1], p[1], p[2], p[2]}); break;
        case PngKind::palette: {
          const uint32_t key = (p[0] << 16) | (p[1] << 8) | p[2];
          auto [entry, added] = palette_index.emplace(key, static_cast<uint8_t>(out.palette.size()));
          if (added) {
            if (out.palette.size() == 256) throw std::invalid_argument("png_variant: more than 256 colours");
            out.palette.push_back(png_color{p[0], p[1], p[2]});
          }
          row.push_back(entry->second);
          break;
        }
      }
    }
  }
  static const std::map<PngKind, int> kColorTypes = {
      {PngKind::grey8, PNG_COLOR_TYPE_GRAY}, {PngKind::grey_alpha, PNG_COLOR_TYPE_GRAY_ALPHA},
      {PngKind::rgba, PNG_COLOR_TYPE_RGBA},  {PngKind::rgb16, PNG_COLOR_TYPE_RGB},
      {PngKind::palette, PNG_COLOR_TYPE_PALETTE}};
  out.color_type = kColorTypes.at(kind);
  out.bit_depth = kind == PngKind::rgb16 ? 16 : 8;
  return out;
}

uint32_t png_crc(const uint8_t* bytes, size_t size) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) {
    crc ^= bytes[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xFFFFFFFFu;
}

void put_be32(std::string& bytes, size_t offset, uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[offset + i] = static_cast<char>(value >> (24 - 8 * i));
}

}  // namespace

Image smooth_image(int width, int height) {
  Image image(width, height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      uint8_t* pixel = image.row(y) + 3 * x;
      pixel[0] = static_cast<uint8_t>(40 + (x * 170) / std::max(1, width - 1));
      pixel[1] = static_cast<uint8_t>(200 - (y * 150) / std::max(1, height - 1));
      pixel[2] = static_cast<uint8_t>(90 + ((x + y) * 100) / std::max(1, width + height - 2));
    }
  }
  return image;
}

std::string jpeg_rgb(const Image& image, const JpegVariant& variant) {
  return compress_jpeg(image.pixels, image.width, image.height, 3, JCS_RGB, variant, JCS_UNKNOWN);
}

uint8_t grey_ramp(int x, int y, int width, int height) {
  return static_cast<uint8_t>(((x + y) * 255) / std::max(1, width + height - 2));
}

std::string jpeg_grey(int width, int height) {
  std::vector<uint8_t> samples;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) samples.push_back(grey_ramp(x, y, width, height));
  }
  return compress_jpeg(samples, width, height, 1, JCS_GRAYSCALE, {}, JCS_UNKNOWN);
}

std::string jpeg_cmyk_adobe(int width, int height, std::array<uint8_t, 4> ink, bool ycck) {
  std::vector<uint8_t> samples;
  for (int i = 0; i < width * height; ++i) {
    for (uint8_t amount : ink) samples.push_back(static_cast<uint8_t>(255 - amount));
  }
  // jpeg_set_colorspace writes the Adobe APP14 marker for both CMYK and YCCK.
  return compress_jpeg(samples, width, height, 4, JCS_CMYK, {}, ycck ? JCS_YCCK : JCS_CMYK);
}

std::string exif_orientation_block(int orientation, bool big_endian) {
  std::string block("Exif\0\0", 6);
  block += big_endian ? std::string("MM\0*", 4) : std::string("II*\0", 4);
  append_u32(block, 8, big_endian);   // IFD0 right after the 8-byte TIFF header
  append_u16(block, 1, big_endian);   // one entry
  append_u16(block, 0x0112, big_endian);  // Orientation
  append_u16(block, 3, big_endian);   // SHORT
  append_u32(block, 1, big_endian);   // one value, stored in the first two bytes of the value field
  append_u16(block, static_cast<uint16_t>(orientation), big_endian);
  append_u16(block, 0, big_endian);
  append_u32(block, 0, big_endian);   // no IFD1
  return block;
}

std::string patch_jpeg_dimensions(std::string jpeg, uint16_t width, uint16_t height) {
  size_t pos = 2;
  while (pos + 9 <= jpeg.size() && static_cast<uint8_t>(jpeg[pos]) == 0xFF) {
    const auto marker = static_cast<uint8_t>(jpeg[pos + 1]);
    const bool is_sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (is_sof) {
      jpeg[pos + 5] = static_cast<char>(height >> 8), jpeg[pos + 6] = static_cast<char>(height & 0xFF);
      jpeg[pos + 7] = static_cast<char>(width >> 8), jpeg[pos + 8] = static_cast<char>(width & 0xFF);
      return jpeg;
    }
    pos += 2 + ((static_cast<uint8_t>(jpeg[pos + 2]) << 8) | static_cast<uint8_t>(jpeg[pos + 3]));
  }
  throw std::invalid_argument("patch_jpeg_dimensions: no SOF marker found");
}

uint8_t alpha_ramp(int x, int width) {
  const int third = 3 * x / std::max(1, width);
  return third == 0 ? 0 : third == 1 ? 128 : 255;
}

std::string png_variant(const Image& image, PngKind kind, bool interlaced) {
  PngRows layout = png_rows(image, kind);
  std::vector<png_bytep> row_pointers;
  for (auto& row : layout.rows) row_pointers.push_back(row.data());
  std::string bytes;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  // libpng longjmps here on error; everything with a destructor was made above.
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw std::runtime_error("png_variant: libpng failed to write the file");
  }
  png_set_write_fn(png, &bytes, write_png_bytes, nullptr);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height),
               layout.bit_depth, layout.color_type, interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!layout.palette.empty()) {
    png_set_PLTE(png, info, layout.palette.data(), static_cast<int>(layout.palette.size()));
  }
  png_write_info(png, info);
  png_write_image(png, row_pointers.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return bytes;
}

std::string patch_png_dimensions(std::string png, uint32_t width, uint32_t height) {
  // Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4), 5 more fields, then the CRC over
  // the chunk type and data.
  if (png.size() < 33 || png.compare(12, 4, "IHDR") != 0) throw std::invalid_argument("patch_png_dimensions: no IHDR");
  put_be32(png, 16, width);
  put_be32(png, 20, height);
  put_be32(png, 29, png_crc(reinterpret_cast<const uint8_t*>(png.data()) + 12, 17));
  return png;
}

}  // namespace trashcl::testing
