// Decoded images held in RAM (uint8, short side capped) under a memory bound, so that an epoch over a
// small dataset decodes nothing: TrashNet at 448 px short side is ~2527 x 0.8 MB = ~2 GB.
#pragma once
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/decode.h"
#include "data/image.h"

namespace trashcl {

struct BadFile {
  std::string path;
  std::string reason;
};

// Thread-safe: loader threads call get() concurrently. The policy once the bound is reached is
// "keep what is held, decode the rest on every access": with shuffled epochs every image is equally
// likely next, so evicting (LRU) would only trade one decode for another and add churn.
class ImageCache {
 public:
  // `preloaded` (optional, one entry per file, null where not held) seeds the cache with decoded images.
  ImageCache(std::vector<std::filesystem::path> files, DecodeOptions decode_options, int64_t max_bytes,
             std::vector<std::shared_ptr<const Image>> preloaded = {});

  // The decoded image of file `index`, from RAM or freshly decoded (and kept if it fits the bound).
  // Throws BadImageError for an unusable file.
  std::shared_ptr<const Image> get(size_t index);

  // The image if it is held in RAM, else null; never decodes.
  std::shared_ptr<const Image> held(size_t index) const;

  size_t size() const { return files_.size(); }
  const std::filesystem::path& file(size_t index) const { return files_[index]; }
  int64_t bytes_held() const { return bytes_held_.load(); }
  size_t images_held() const;

 private:
  std::vector<std::filesystem::path> files_;
  DecodeOptions decode_options_;
  int64_t max_bytes_;
  std::atomic<int64_t> bytes_held_{0};
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<const Image>> slots_;
};

// A dataset whose every image has been decoded once: the unusable files are dropped (one warning each)
// and listed, the rest sit in the cache (as far as its bound allows).
struct LoadedDataset {
  Dataset dataset;                      // usable samples only
  std::vector<BadFile> bad_files;       // in listing order
  std::shared_ptr<ImageCache> cache;    // index i = dataset.samples[i]
};

struct LoadOptions {
  DecodeOptions decode;                 // max_short_side: about 2x the training size
  int64_t cache_bytes = int64_t{4} << 30;
  int threads = 2;                      // decoding threads (nothing else runs while the dataset loads)
  bool warn = true;                     // one spdlog warning per bad file
  bool require_every_class = true;      // a class left with no usable image is a UserError
};

// Decodes every file of `dataset` in parallel. Throws UserError when a class ends up with no usable image,
// unless options.require_every_class is false (data-stats reports such a class instead).
LoadedDataset load_dataset(const Dataset& dataset, const LoadOptions& options);

}  // namespace trashcl
