// Decoding JPEG and PNG bytes to 8-bit RGB. Every failure, from an empty file to a decompression bomb,
// becomes a BadImageError naming the file and the cause: the data loader skips such files and carries on.
#include "data/decode.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <jerror.h>
#include <jpeglib.h>
#include <libexif/exif-data.h>
#include <png.h>

#include "common/error.h"

namespace trashcl {
namespace {

namespace fs = std::filesystem;

// Larger files are not photos of garbage; reading them would only risk the loader's memory.
constexpr uint64_t kMaxFileBytes = uint64_t{256} << 20;
// A corrupt progressive JPEG can declare thousands of tiny scans and take minutes; real files have about 10.
constexpr int kMaxProgressiveScans = 500;

bool starts_with(const uint8_t* bytes, size_t size, size_t offset, const char* magic) {
  const size_t length = std::strlen(magic);
  return size >= offset + length && std::memcmp(bytes + offset, magic, length) == 0;
}

uint32_t read_le32(const uint8_t* bytes) {
  return bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (static_cast<uint32_t>(bytes[3]) << 24);
}

// Formats we do not decode but can name, so the user learns to convert them instead of seeing "not an image".
const char* unsupported_format_name(const uint8_t* bytes, size_t size) {
  if (starts_with(bytes, size, 0, "GIF87a") || starts_with(bytes, size, 0, "GIF89a")) return "GIF";
  if (starts_with(bytes, size, 0, "RIFF") && starts_with(bytes, size, 8, "WEBP")) return "WEBP";
  if (starts_with(bytes, size, 0, "II*") && size >= 4 && bytes[3] == 0) return "TIFF";
  if (starts_with(bytes, size, 0, "MM") && size >= 4 && bytes[2] == 0 && bytes[3] == '*') return "TIFF";
  if (starts_with(bytes, size, 4, "ftyp")) {
    for (const char* brand : {"heic", "heix", "heim", "heis", "mif1", "msf1"}) {
      if (starts_with(bytes, size, 8, brand)) return "HEIC";
    }
    if (starts_with(bytes, size, 8, "avif") || starts_with(bytes, size, 8, "avis")) return "AVIF";
  }
  // "BM" alone is too common at the start of a text file: also require a known BMP info-header size.
  if (starts_with(bytes, size, 0, "BM") && size >= 18) {
    const uint32_t header_size = read_le32(bytes + 14);
    for (uint32_t known : {12u, 40u, 52u, 56u, 64u, 108u, 124u}) {
      if (header_size == known) return "BMP";
    }
  }
  return nullptr;
}

void check_declared_size(const std::string& name, int64_t width, int64_t height, const DecodeOptions& options) {
  if (width * height > options.max_pixels) {
    throw BadImageError(name, "declared size " + std::to_string(width) + "x" + std::to_string(height) +
                                  " exceeds the " + std::to_string(options.max_pixels) + "-pixel limit");
  }
}

// ---- EXIF orientation -------------------------------------------------------------------------

// The orientation tag (1-8) of an APP1 "Exif\0\0" block, or 1 when the block is absent or malformed.
int exif_orientation(const jpeg_saved_marker_ptr markers) {
  for (jpeg_saved_marker_ptr marker = markers; marker != nullptr; marker = marker->next) {
    if (marker->marker != JPEG_APP0 + 1 || !starts_with(marker->data, marker->data_length, 0, "Exif")) continue;
    ExifData* exif = exif_data_new_from_data(marker->data, marker->data_length);
    if (exif == nullptr) return 1;
    int orientation = 1;
    ExifEntry* entry = exif_data_get_entry(exif, EXIF_TAG_ORIENTATION);
    if (entry != nullptr && entry->format == EXIF_FORMAT_SHORT && entry->components >= 1 && entry->data != nullptr &&
        entry->size >= 2) {
      orientation = exif_get_short(entry->data, exif_data_get_byte_order(exif));
    }
    exif_data_unref(exif);
    return orientation >= 1 && orientation <= 8 ? orientation : 1;
  }
  return 1;
}

// ---- JPEG -----------------------------------------------------------------------------------------

struct JpegErrorManager {
  jpeg_error_mgr base;  // first member: libjpeg hands callbacks a pointer to it
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
};

// Everything the libjpeg calls touch, allocated before setjmp so that a longjmp skips no destructor and
// finds no stale register copy of a local.
struct JpegDecodeSession {
  jpeg_decompress_struct cinfo{};
  JpegErrorManager error{};
  jpeg_progress_mgr progress{};
  Image image;
  std::vector<uint8_t> cmyk_row;
  int orientation = 1;
  ~JpegDecodeSession() { jpeg_destroy_decompress(&cinfo); }
};

[[noreturn]] void on_jpeg_error(j_common_ptr cinfo) {
  auto* error = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  error->truncated = error->base.msg_code == JWRN_JPEG_EOF;
  (*error->base.format_message)(cinfo, error->message);
  std::longjmp(error->jump, 1);
}

// libjpeg only warns about corrupt data and fills the gap with grey; a training set is better without
// such images. Warnings about harmless oddities of the file's metadata pass.
void on_jpeg_message(j_common_ptr cinfo, int level) {
  const int code = cinfo->err->msg_code;
  const bool harmless = code == JWRN_EXTRANEOUS_DATA || code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM ||
                        code == JWRN_BOGUS_ICC;
  if (level < 0 && !harmless) on_jpeg_error(cinfo);
}

void limit_progressive_scans(j_common_ptr cinfo) {
  auto* decompress = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (decompress->input_scan_number > kMaxProgressiveScans) {
    auto* error = reinterpret_cast<JpegErrorManager*>(cinfo->err);
    std::snprintf(error->message, sizeof(error->message), "more than %d progressive scans", kMaxProgressiveScans);
    std::longjmp(error->jump, 1);
  }
}

// libjpeg scales in the DCT domain by M/8. Only 1/8, 1/4 and 1/2 pay off: libjpeg-turbo's other M/8
// scales skip its SIMD code and are slower than a full decode. Take the smallest scale whose exact
// (unrounded) short side still reaches the target; then both sides are at least the final size computed
// from the stored dimensions, and the area filter afterwards only ever shrinks.
int dct_scale_eighths(int stored_short_side, int max_short_side) {
  if (max_short_side <= 0) return 8;
  for (int eighths : {1, 2, 4}) {
    if (int64_t{stored_short_side} * eighths >= int64_t{8} * max_short_side) return eighths;
  }
  return 8;
}

void choose_output(JpegDecodeSession& session, const DecodeOptions& options) {
  jpeg_decompress_struct& cinfo = session.cinfo;
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;  // grey input expands to RGB in libjpeg
  cinfo.scale_num = dct_scale_eighths(static_cast<int>(std::min(cinfo.image_width, cinfo.image_height)),
                                      options.max_short_side);
  cinfo.scale_denom = 8;
  if (options.apply_exif_orientation) session.orientation = exif_orientation(cinfo.marker_list);
}

void allocate_output(JpegDecodeSession& session) {
  const jpeg_decompress_struct& cinfo = session.cinfo;
  session.image = Image(static_cast<int>(cinfo.output_width), static_cast<int>(cinfo.output_height));
  if (cinfo.out_color_space == JCS_CMYK) session.cmyk_row.resize(static_cast<size_t>(cinfo.output_width) * 4);
}

// CMYK to RGB by the naive ink model R = (1 - C)(1 - K). Adobe's encoder, the usual source of CMYK JPEGs,
// stores every channel inverted (255 = no ink), which its APP14 marker announces.
void cmyk_row_to_rgb(const uint8_t* cmyk, uint8_t* rgb, int width, bool stored_inverted) {
  for (int x = 0; x < width; ++x, cmyk += 4, rgb += 3) {
    int remaining[4];
    for (int c = 0; c < 4; ++c) remaining[c] = stored_inverted ? cmyk[c] : 255 - cmyk[c];
    for (int c = 0; c < 3; ++c) rgb[c] = static_cast<uint8_t>((remaining[c] * remaining[3] + 127) / 255);
  }
}

// From header to last scanline. libjpeg reports errors by longjmp back into this frame, so it creates no
// object with a destructor; all state lives in `session`. Returns false when libjpeg gave up, with the
// reason in session.error; the size check throws as usual (an exception may leave a setjmp frame).
bool run_jpeg_decoder(JpegDecodeSession& session, const uint8_t* bytes, size_t size, const std::string& name,
                      const DecodeOptions& options) {
  jpeg_decompress_struct& cinfo = session.cinfo;
  cinfo.err = jpeg_std_error(&session.error.base);
  session.error.base.error_exit = on_jpeg_error;
  session.error.base.emit_message = on_jpeg_message;
  if (setjmp(session.error.jump)) return false;
  jpeg_create_decompress(&cinfo);
  session.progress.progress_monitor = limit_progressive_scans;
  cinfo.progress = &session.progress;
  jpeg_mem_src(&cinfo, bytes, static_cast<unsigned long>(size));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
  jpeg_read_header(&cinfo, TRUE);
  check_declared_size(name, cinfo.image_width, cinfo.image_height, options);
  choose_output(session, options);
  jpeg_start_decompress(&cinfo);
  allocate_output(session);
  const bool cmyk = cinfo.out_color_space == JCS_CMYK;
  while (cinfo.output_scanline < cinfo.output_height) {
    uint8_t* rgb_row = session.image.row(static_cast<int>(cinfo.output_scanline));
    JSAMPROW row = cmyk ? session.cmyk_row.data() : rgb_row;
    if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) return false;
    if (cmyk) cmyk_row_to_rgb(row, rgb_row, session.image.width, cinfo.saw_Adobe_marker);
  }
  jpeg_finish_decompress(&cinfo);
  return true;
}

std::string lower_first(std::string text) {
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] - 'A' + 'a');
  return text;
}

Image decode_jpeg(const uint8_t* bytes, size_t size, const std::string& name, const DecodeOptions& options) {
  auto session = std::make_unique<JpegDecodeSession>();
  if (!run_jpeg_decoder(*session, bytes, size, name, options)) {
    if (session->error.truncated) throw BadImageError(name, "truncated JPEG data");
    const std::string detail = session->error.message[0] != '\0' ? session->error.message : "decoding stopped";
    throw BadImageError(name, "corrupt JPEG data (" + lower_first(detail) + ")");
  }
  Image upright = apply_exif_orientation(std::move(session->image), session->orientation);
  // The final size comes from the stored dimensions, so it does not depend on the DCT scale's rounding:
  // the same photo as JPEG or PNG gives the same size.
  const bool swaps_axes = session->orientation >= 5;
  const auto stored_width = static_cast<int>(session->cinfo.image_width);
  const auto stored_height = static_cast<int>(session->cinfo.image_height);
  const auto [width, height] = capped_size(swaps_axes ? stored_height : stored_width,
                                           swaps_axes ? stored_width : stored_height, options.max_short_side);
  return resize_area(std::move(upright), width, height);
}

// ---- PNG ----------------------------------------------------------------------------------------
// libpng's full API rather than its simplified one: the simplified reader returns wrong pixels for
// interlaced 16-bit files in Debian's libpng 1.6.39 (pnggroup/libpng#853), and it blends alpha in linear
// light where PIL and most other tools blend the stored values.

// Everything the libpng calls touch, allocated before setjmp (see JpegDecodeSession).
struct PngDecodeSession {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const uint8_t* unread = nullptr;
  size_t unread_size = 0;
  char message[256] = {};
  Image image;
  std::vector<png_bytep> rows;
  ~PngDecodeSession() { png_destroy_read_struct(&png, &info, nullptr); }
};

PngDecodeSession& session_of(png_structp png) { return *static_cast<PngDecodeSession*>(png_get_error_ptr(png)); }

[[noreturn]] void on_png_error(png_structp png, png_const_charp message) {
  std::snprintf(session_of(png).message, sizeof(PngDecodeSession::message), "%s", message);
  png_longjmp(png, 1);
}

// Warnings (an odd colour profile, a bad CRC in an optional chunk) are common in real photos and leave the
// pixels intact.
void on_png_warning(png_structp, png_const_charp) {}

void read_png_bytes(png_structp png, png_bytep target, size_t length) {
  PngDecodeSession& session = session_of(png);
  if (length > session.unread_size) png_error(png, "read beyond end of data");
  std::memcpy(target, session.unread, length);
  session.unread += length;
  session.unread_size -= length;
}

// Grey, palette, low or 16-bit depth, transparency and interlacing all become 8-bit RGB, alpha blended
// onto white.
void request_rgb8(png_structp png) {
  png_set_expand(png);
  png_set_scale_16(png);
  png_set_gray_to_rgb(png);
  png_color_16 white{0, 255, 255, 255, 255};
  png_set_background(png, &white, PNG_BACKGROUND_GAMMA_SCREEN, 0, 1.0);
  png_set_interlace_handling(png);
}

void allocate_rows(PngDecodeSession& session) {
  session.image = Image(static_cast<int>(png_get_image_width(session.png, session.info)),
                        static_cast<int>(png_get_image_height(session.png, session.info)));
  session.rows.resize(static_cast<size_t>(session.image.height));
  for (int y = 0; y < session.image.height; ++y) session.rows[y] = session.image.row(y);
}

// libpng reports errors by longjmp back into this frame, so it creates no object with a destructor.
bool run_png_decoder(PngDecodeSession& session, const std::string& name, const DecodeOptions& options) {
  session.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &session, on_png_error, on_png_warning);
  if (session.png != nullptr) session.info = png_create_info_struct(session.png);
  if (session.info == nullptr) {
    std::snprintf(session.message, sizeof(session.message), "out of memory");
    return false;
  }
  if (setjmp(png_jmpbuf(session.png))) return false;
  png_set_read_fn(session.png, &session, read_png_bytes);
  png_read_info(session.png, session.info);
  check_declared_size(name, png_get_image_width(session.png, session.info),
                      png_get_image_height(session.png, session.info), options);
  request_rgb8(session.png);
  png_read_update_info(session.png, session.info);
  if (png_get_channels(session.png, session.info) != 3 || png_get_bit_depth(session.png, session.info) != 8) {
    png_error(session.png, "unexpected layout after conversion to RGB");
  }
  allocate_rows(session);
  png_read_image(session.png, session.rows.data());
  return true;  // what follows the pixels (text, the end marker) cannot change them: it is not read
}

Image decode_png(const uint8_t* bytes, size_t size, const std::string& name, const DecodeOptions& options) {
  auto session = std::make_unique<PngDecodeSession>();
  session->unread = bytes;
  session->unread_size = size;
  if (!run_png_decoder(*session, name, options)) {
    const std::string message = session->message;
    if (message == "read beyond end of data" || message == "Not enough image data") {
      throw BadImageError(name, "truncated PNG data");
    }
    throw BadImageError(name, "corrupt PNG data (" + lower_first(message) + ")");
  }
  return cap_short_side(std::move(session->image), options.max_short_side);
}

// ---- files ----------------------------------------------------------------------------------------

struct FileCloser {
  int descriptor;
  ~FileCloser() { ::close(descriptor); }
};

// Tells missing, dangling, directory and special files apart before opening, so each gets its own reason.
void check_is_regular_file(const fs::path& path, const std::string& name) {
  std::error_code error;
  const fs::file_status link = fs::symlink_status(path, error);
  if (link.type() == fs::file_type::not_found) throw BadImageError(name, "no such file");
  if (error) throw BadImageError(name, "cannot access (" + error.message() + ")");
  const fs::file_status target = fs::status(path, error);
  if (target.type() == fs::file_type::not_found) throw BadImageError(name, "dangling symbolic link");
  if (error) throw BadImageError(name, "cannot access (" + error.message() + ")");
  if (fs::is_directory(target)) throw BadImageError(name, "is a directory");
  if (!fs::is_regular_file(target)) throw BadImageError(name, "not a regular file");
}

std::vector<uint8_t> read_whole_file(const fs::path& path, const std::string& name) {
  const int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) throw BadImageError(name, "cannot open (" + errno_text(errno) + ")");
  const FileCloser closer{descriptor};
  struct stat info {};
  if (::fstat(descriptor, &info) != 0) throw BadImageError(name, "cannot read (" + errno_text(errno) + ")");
  const auto size = static_cast<uint64_t>(info.st_size);
  if (size == 0) throw BadImageError(name, "empty file (0 bytes)");
  if (size > kMaxFileBytes) {
    throw BadImageError(name, "file too large (" + std::to_string(size) + " bytes, the limit is 256 MiB)");
  }
  std::vector<uint8_t> bytes(size);
  size_t filled = 0;
  while (filled < bytes.size()) {
    const ssize_t count = ::read(descriptor, bytes.data() + filled, bytes.size() - filled);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) throw BadImageError(name, "cannot read (" + errno_text(errno) + ")");
    if (count == 0) break;  // the file shrank while we read it: decode what is there
    filled += static_cast<size_t>(count);
  }
  bytes.resize(filled);
  return bytes;
}

}  // namespace

ImageFormat sniff_format(const uint8_t* bytes, size_t size) {
  if (bytes == nullptr) return ImageFormat::unknown;
  if (size >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) return ImageFormat::jpeg;
  static const uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (size >= 8 && std::memcmp(bytes, kPngSignature, 8) == 0) return ImageFormat::png;
  return ImageFormat::unknown;
}

Image decode_image(const uint8_t* bytes, size_t size, const std::string& name, const DecodeOptions& options) {
  if (bytes == nullptr || size == 0) throw BadImageError(name, "empty file (0 bytes)");
  switch (sniff_format(bytes, size)) {
    case ImageFormat::jpeg:
      return decode_jpeg(bytes, size, name, options);
    case ImageFormat::png:
      return decode_png(bytes, size, name, options);
    case ImageFormat::unknown:
      break;
  }
  if (const char* format = unsupported_format_name(bytes, size)) {
    throw BadImageError(name, std::string("unsupported format: ") + format);
  }
  throw BadImageError(name, "not an image (unrecognised bytes)");
}

Image decode_image_file(const std::filesystem::path& path, const DecodeOptions& options) {
  const std::string name = path.string();
  check_is_regular_file(path, name);
  const std::vector<uint8_t> bytes = read_whole_file(path, name);
  return decode_image(bytes.data(), bytes.size(), name, options);
}

}  // namespace trashcl
