#include "support/test_support.h"

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace trashcl::testing {

TempDir::TempDir(const std::string& prefix) {
  std::random_device device;
  std::mt19937_64 rng(device());
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(rng()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("could not create a temporary folder");
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

Image make_test_image(int width, int height, uint32_t seed) {
  Image image(width, height);
  for (int y = 0; y < height; ++y) {
    uint8_t* row = image.row(y);
    for (int x = 0; x < width; ++x) {
      row[3 * x + 0] = static_cast<uint8_t>((x * 255) / std::max(1, width - 1));
      row[3 * x + 1] = static_cast<uint8_t>((y * 255) / std::max(1, height - 1));
      row[3 * x + 2] = static_cast<uint8_t>(((x / 8 + y / 8 + seed) % 2) * 200 + (seed * 37) % 55);
    }
  }
  return image;
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("could not write " + path.string());
}

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

std::filesystem::path shared_dir() {
  std::filesystem::path dir = TRASHCL_SHARED_DIR;
  return std::filesystem::exists(dir / "data") ? dir : std::filesystem::path();
}

}  // namespace trashcl::testing
