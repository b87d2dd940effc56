// Writing images: PNG (augmentation previews, synthetic data) and JPEG (synthetic data, tests).
#pragma once
#include <cstdint>
#include <filesystem>
#include <vector>

#include "data/image.h"

namespace trashcl {

std::vector<uint8_t> encode_png(const Image& image);
std::vector<uint8_t> encode_jpeg(const Image& image, int quality = 90);

// Writes atomically (temporary file + rename); throws UserError naming the path on failure.
void write_file_atomic(const std::filesystem::path& path, const std::vector<uint8_t>& bytes);
void write_png(const std::filesystem::path& path, const Image& image);
void write_jpeg(const std::filesystem::path& path, const Image& image, int quality = 90);

}  // namespace trashcl
