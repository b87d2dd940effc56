// Encoding 8-bit RGB to PNG (libpng's simplified API) and JPEG (libjpeg), and writing files atomically so a
// reader never sees half an image.
#include "data/encode.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csetjmp>
#include <cstdlib>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

#include "common/error.h"

namespace trashcl {
namespace {

void check_encodable(const Image& image, const char* what) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height * 3) {
    throw std::invalid_argument(std::string(what) + ": image must be non-empty with width x height x 3 bytes, got " +
                                std::to_string(image.width) + "x" + std::to_string(image.height) + " and " +
                                std::to_string(image.pixels.size()) + " bytes");
  }
}

struct JpegErrorManager {
  jpeg_error_mgr base;  // first member: libjpeg hands callbacks a pointer to it
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void on_jpeg_error(j_common_ptr cinfo) {
  auto* error = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  (*error->base.format_message)(cinfo, error->message);
  std::longjmp(error->jump, 1);
}

// State of one compression, allocated before setjmp so that a longjmp skips no destructor. The output
// buffer is owned here rather than by jpeg_mem_dest, which loses track of its buffer when an error
// interrupts it after a reallocation.
struct JpegEncodeSession {
  jpeg_compress_struct cinfo{};
  JpegErrorManager error{};
  jpeg_destination_mgr destination{};
  unsigned char* buffer = nullptr;  // malloc'd: libjpeg callbacks must not throw
  size_t capacity = 0;
  size_t size = 0;
  ~JpegEncodeSession() {
    jpeg_destroy_compress(&cinfo);
    std::free(buffer);
  }
};

JpegEncodeSession& session_of(j_compress_ptr cinfo) { return *static_cast<JpegEncodeSession*>(cinfo->client_data); }

// Grows the output to `capacity` bytes, keeping the first `used`; reports failure through libjpeg.
void reserve_output(j_compress_ptr cinfo, size_t capacity, size_t used) {
  JpegEncodeSession& session = session_of(cinfo);
  auto* grown = static_cast<unsigned char*>(std::realloc(session.buffer, capacity));
  if (grown == nullptr) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 0);
  session.buffer = grown;
  session.capacity = capacity;
  session.destination.next_output_byte = grown + used;
  session.destination.free_in_buffer = capacity - used;
}

void start_output(j_compress_ptr cinfo) { reserve_output(cinfo, size_t{1} << 16, 0); }

boolean grow_output(j_compress_ptr cinfo) {
  const size_t full = session_of(cinfo).capacity;  // libjpeg calls this only when every byte is used
  reserve_output(cinfo, full * 2, full);
  return TRUE;
}

void finish_output(j_compress_ptr cinfo) {
  JpegEncodeSession& session = session_of(cinfo);
  session.size = session.capacity - session.destination.free_in_buffer;
}

// libjpeg reports errors by longjmp back into this frame, so it creates no object with a destructor.
bool run_jpeg_encoder(JpegEncodeSession& session, const Image& image, int quality) {
  jpeg_compress_struct& cinfo = session.cinfo;
  cinfo.err = jpeg_std_error(&session.error.base);
  cinfo.client_data = &session;
  session.error.base.error_exit = on_jpeg_error;
  if (setjmp(session.error.jump)) return false;
  jpeg_create_compress(&cinfo);
  session.destination.init_destination = start_output;
  session.destination.empty_output_buffer = grow_output;
  session.destination.term_destination = finish_output;
  cinfo.dest = &session.destination;
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, std::clamp(quality, 1, 100), TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    // libjpeg's API takes non-const rows but only reads them.
    JSAMPROW row = const_cast<uint8_t*>(image.row(static_cast<int>(cinfo.next_scanline)));
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  return true;
}

// Writes all of `bytes` to a new file; returns 0 or the errno of the first failure.
int write_new_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  const int descriptor = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (descriptor < 0) return errno;
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t count = ::write(descriptor, bytes.data() + written, bytes.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) {
      const int failure = errno;
      ::close(descriptor);
      return failure;
    }
    written += static_cast<size_t>(count);
  }
  // close() is where a full disk on a network file system shows up; it must not go unnoticed.
  return ::close(descriptor) == 0 ? 0 : errno;
}

}  // namespace

std::vector<uint8_t> encode_png(const Image& image) {
  check_encodable(image, "encode_png");
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = PNG_FORMAT_RGB;
  const auto stride = static_cast<png_int_32>(image.width * 3);
  // The first call only measures; the second writes into a buffer of exactly that size.
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&png, nullptr, &size, 0, image.pixels.data(), stride, nullptr)) {
    throw std::runtime_error(std::string("PNG encoding failed: ") + png.message);
  }
  std::vector<uint8_t> bytes(size);
  if (!png_image_write_to_memory(&png, bytes.data(), &size, 0, image.pixels.data(), stride, nullptr)) {
    throw std::runtime_error(std::string("PNG encoding failed: ") + png.message);
  }
  bytes.resize(size);
  return bytes;
}

std::vector<uint8_t> encode_jpeg(const Image& image, int quality) {
  check_encodable(image, "encode_jpeg");
  auto session = std::make_unique<JpegEncodeSession>();
  if (!run_jpeg_encoder(*session, image, quality)) {
    throw std::runtime_error(std::string("JPEG encoding failed: ") + session->error.message);
  }
  return std::vector<uint8_t>(session->buffer, session->buffer + session->size);
}

void sync_to_disk(const std::filesystem::path& path) {
  const int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  int failure = descriptor < 0 ? errno : 0;
  if (descriptor >= 0) {
    if (::fsync(descriptor) != 0) failure = errno;
    ::close(descriptor);
  }
  if (failure != 0) throw UserError("cannot flush " + path.string() + " to the disk: " + errno_text(failure));
}

void replace_file_atomic(const std::filesystem::path& path,
                         const std::function<void(const std::filesystem::path& temporary)>& write_temporary,
                         Durability durability) {
  // The pid keeps two processes writing the same file from sharing a temporary; rename replaces the
  // target in one step, so readers see the old file or the new one, never a mix. Without the flush before it, a
  // power cut soon after the rename can leave the new name on an empty file.
  std::filesystem::path temporary = path;
  temporary += ".tmp-" + std::to_string(::getpid());
  try {
    write_temporary(temporary);
    if (durability == Durability::kPowerLoss) sync_to_disk(temporary);
    std::error_code error;
    std::filesystem::rename(temporary, path, error);
    if (error) throw UserError("cannot write " + path.string() + ": " + error.message());
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw;
  }
  if (durability == Durability::kPowerLoss) sync_to_disk(std::filesystem::absolute(path).parent_path());
}

void write_file_atomic(const std::filesystem::path& path, const std::vector<uint8_t>& bytes, Durability durability) {
  auto write_bytes = [&](const std::filesystem::path& temporary) {
    if (const int failure = write_new_file(temporary.string(), bytes); failure != 0) {
      throw UserError("cannot write " + path.string() + ": " + errno_text(failure) +
                      " (check that the folder exists, is writable and has free space)");
    }
  };
  replace_file_atomic(path, write_bytes, durability);
}

void write_text_atomic(const std::filesystem::path& path, const std::string& text, Durability durability) {
  write_file_atomic(path, std::vector<uint8_t>(text.begin(), text.end()), durability);
}

void write_png(const std::filesystem::path& path, const Image& image) { write_file_atomic(path, encode_png(image)); }

void write_jpeg(const std::filesystem::path& path, const Image& image, int quality) {
  write_file_atomic(path, encode_jpeg(image, quality));
}

}  // namespace trashcl
