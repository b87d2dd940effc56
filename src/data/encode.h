// Writing images: PNG (augmentation previews, synthetic data) and JPEG (synthetic data, tests).
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
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

// Writes `path` through a temporary file beside it: `write_temporary` fills the temporary, which is then (with
// kPowerLoss: flushed and) renamed over `path`. Whatever fails, no temporary is left; what `write_temporary`
// throws passes through, and a failed rename or flush throws UserError naming the path.
void replace_file_atomic(const std::filesystem::path& path,
                         const std::function<void(const std::filesystem::path& temporary)>& write_temporary,
                         Durability durability);

// `bytes` as the whole of `path`, through replace_file_atomic; throws UserError naming the path on failure.
void write_file_atomic(const std::filesystem::path& path, const std::vector<uint8_t>& bytes,
                       Durability durability = Durability::kProcessCrash);

// `text` as the whole of `path`, as write_file_atomic.
void write_text_atomic(const std::filesystem::path& path, const std::string& text,
                       Durability durability = Durability::kProcessCrash);

// fsync: a written file's data, or a folder's entries (a rename in it), are on the disk when this returns.
// Throws UserError naming the path on failure.
void sync_to_disk(const std::filesystem::path& path);
void write_png(const std::filesystem::path& path, const Image& image);
void write_jpeg(const std::filesystem::path& path, const Image& image, int quality = 90);

}  // namespace trashcl
