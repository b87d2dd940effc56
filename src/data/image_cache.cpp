#include "data/image_cache.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "common/error.h"

namespace trashcl {

ImageCache::ImageCache(std::vector<std::filesystem::path> files, DecodeOptions decode_options, int64_t max_bytes,
                       std::vector<std::shared_ptr<const Image>> preloaded)
    : files_(std::move(files)), decode_options_(decode_options), max_bytes_(max_bytes), slots_(std::move(preloaded)) {
  slots_.resize(files_.size());
  for (const auto& slot : slots_) {
    if (slot) bytes_held_ += static_cast<int64_t>(slot->bytes());
  }
}

std::shared_ptr<const Image> ImageCache::get(size_t index) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (slots_[index]) return slots_[index];
  }
  // Decode outside the lock so that threads decode different files in parallel.
  auto image = std::make_shared<const Image>(decode_image_file(files_[index], decode_options_));
  const auto bytes = static_cast<int64_t>(image->bytes());
  std::lock_guard<std::mutex> lock(mutex_);
  if (slots_[index]) return slots_[index];  // another thread decoded it meanwhile
  if (bytes_held_.load() + bytes <= max_bytes_) {
    slots_[index] = image;
    bytes_held_ += bytes;
  }
  return image;
}

std::shared_ptr<const Image> ImageCache::held(size_t index) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return slots_[index];
}

size_t ImageCache::images_held() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t held = 0;
  for (const auto& slot : slots_) held += slot != nullptr;
  return held;
}

LoadedDataset load_dataset(const Dataset& dataset, const LoadOptions& options) {
  std::vector<std::filesystem::path> files;
  files.reserve(dataset.samples.size());
  for (const Sample& sample : dataset.samples) files.push_back(dataset.file(sample));
  // Decode everything once, in parallel, through a cache with the same bound; remember failures.
  ImageCache all(files, options.decode, options.cache_bytes);
  std::vector<std::string> failure(files.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < files.size(); i = next++) {
      try {
        all.get(i);
      } catch (const BadImageError& error) {
        failure[i] = error.reason();
      } catch (const std::exception& error) {  // e.g. std::bad_alloc: still one bad file, not a dead run
        failure[i] = error.what();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, options.threads); ++t) threads.emplace_back(worker);
  for (auto& thread : threads) thread.join();

  LoadedDataset loaded;
  loaded.dataset.root = dataset.root;
  loaded.dataset.class_names = dataset.class_names;
  std::vector<std::filesystem::path> good_files;
  std::vector<std::shared_ptr<const Image>> good_images;
  for (size_t i = 0; i < files.size(); ++i) {
    if (failure[i].empty()) {
      loaded.dataset.samples.push_back(dataset.samples[i]);
      good_files.push_back(files[i]);
      good_images.push_back(all.held(i));
    } else {
      loaded.bad_files.push_back({files[i].string(), failure[i]});
      if (options.warn) spdlog::warn("skipping {}: {}", files[i].string(), failure[i]);
    }
  }
  if (!loaded.bad_files.empty() && options.warn) {
    spdlog::warn("{} of {} files are unusable and were skipped", loaded.bad_files.size(), files.size());
  }

  // Re-index the cache to the usable samples, keeping what was decoded.
  loaded.cache = std::make_shared<ImageCache>(good_files, options.decode, options.cache_bytes, std::move(good_images));

  const auto counts = loaded.dataset.class_counts();
  for (size_t c = 0; c < counts.size() && options.require_every_class; ++c) {
    if (counts[c] == 0) {
      throw UserError(fmt::format("{}: class '{}' has no usable image (see the warnings above); add images or "
                                  "remove the class folder",
                                  (dataset.root / dataset.class_names[c]).string(), dataset.class_names[c]));
    }
  }
  return loaded;
}

}  // namespace trashcl
