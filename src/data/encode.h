// Writing images: PNG (augmentation previews, synthetic data) and JPEG (synthetic data, tests).
#pragma once
#include <cstdint>
#include <filesystem>
#include <vector>

#include "data/image.h"

namespace trashcl {

std::vector<uint8_t> encode_png(const Image& image);
std::vector<uint8_t> encode_jpeg(const Image& image, int quality = 90);

// How much of a write survives when write_file_atomic has returned.
enum class Durability {
  kProcessCrash,  // temporary file + rename: a reader, or a process killed at any point, sees the old or the new file
  kPowerLoss,     // also flushed to the disk (the file before the rename, the folder after): so does a power cut
};

// Writes through a temporary file beside `path`; throws UserError naming the path on failure.
void write_file_atomic(const std::filesystem::path& path, const std::vector<uint8_t>& bytes,
                       Durability durability = Durability::kProcessCrash);

// fsync: a written file's data, or a folder's entries (a rename in it), are on the disk when this returns.
// Throws UserError naming the path on failure.
void sync_to_disk(const std::filesystem::path& path);
void write_png(const std::filesystem::path& path, const Image& image);
void write_jpeg(const std::filesystem::path& path, const Image& image, int quality = 90);

}  // namespace trashcl
