// Shared helpers for the test executables: temporary folders and generated images.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "data/image.h"

namespace trashcl::testing {

// A fresh folder under the system temp dir, removed with everything in it when the object dies.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "trashcl-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A deterministic test image: a smooth colour gradient plus a seed-dependent pattern, so that images
// made with different seeds differ and the same seed always gives the same pixels.
Image make_test_image(int width, int height, uint32_t seed = 0);

// Writes bytes to a file, creating parent folders.
void write_bytes(const std::filesystem::path& path, const std::string& bytes);

// A whole file's bytes; empty when it cannot be read.
std::string read_bytes(const std::filesystem::path& path);

// The shared/ folder beside the project (TrashNet, the Python peer); empty when it is not there.
std::filesystem::path shared_dir();

}  // namespace trashcl::testing
