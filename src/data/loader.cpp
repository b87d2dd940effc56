#include "data/loader.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock.h"
#include "common/error.h"
#include "common/random.h"
#include "data/view_cpu.h"

namespace trashcl {

TwoViewBatch make_two_views(const RawBatch& batch, const AugmentConfig& config, const torch::Device& device,
                            bool with_positive) {
  TwoViewBatch views;
  if (device.is_cpu()) {
    // Both views of a sample in one go, while its pixels are in cache.
    std::vector<ViewKind> kinds{ViewKind::anchor};
    if (with_positive) kinds.push_back(ViewKind::positive);
    std::vector<torch::Tensor> built = make_views_cpu(batch.images, kinds, batch.sample_seeds, config);
    views.anchor = built[0];                       // [B,3,S,S]
    if (with_positive) views.positive = built[1];  // [B,3,S,S]
  } else {
    views.anchor = make_view(batch.images, ViewKind::anchor, batch.sample_seeds, config, device);  // [B,3,S,S]
    if (with_positive) {
      views.positive = make_view(batch.images, ViewKind::positive, batch.sample_seeds, config, device);  // [B,3,S,S]
    }
  }
  views.labels = batch.labels.to(device);  // [B]
  return views;
}

TwoViewBatch in_channels_last(TwoViewBatch views) {
  views.anchor = views.anchor.contiguous(torch::MemoryFormat::ChannelsLast);  // [B,3,S,S], NHWC storage
  if (views.positive.defined()) views.positive = views.positive.contiguous(torch::MemoryFormat::ChannelsLast);
  return views;
}

BatchLoader::BatchLoader(std::shared_ptr<ImageCache> cache, std::vector<int> labels, int num_classes,
                         LoaderOptions options)
    : cache_(std::move(cache)), labels_(std::move(labels)), num_classes_(num_classes), options_(options) {
  if (options_.batch_size < 1) throw UserError(fmt::format("--batch-size {}: must be at least 1", options_.batch_size));
  if (labels_.size() != cache_->size()) throw std::invalid_argument("BatchLoader: one label per cached image");
  if (labels_.empty()) throw UserError("the loader got no images");
}

BatchLoader::~BatchLoader() { stop_workers(); }

int64_t BatchLoader::batches_per_epoch() const {
  const auto n = static_cast<int64_t>(labels_.size());
  const int64_t full = n / options_.batch_size;
  return options_.drop_last ? std::max<int64_t>(full, 1) : (n + options_.batch_size - 1) / options_.batch_size;
}

std::vector<int64_t> BatchLoader::epoch_order(int64_t epoch) const {
  const auto n = static_cast<int64_t>(labels_.size());
  SplitMix64 rng(mix_seed(options_.seed, static_cast<uint64_t>(epoch), 0x5A3D1E));
  std::vector<int64_t> order;
  if (options_.class_balanced) {
    // Draw a class uniformly, then a member of it: every class is seen equally often in expectation.
    std::vector<std::vector<int64_t>> members(num_classes_);
    for (int64_t i = 0; i < n; ++i) members[labels_[i]].push_back(i);
    std::vector<int> present;
    for (int c = 0; c < num_classes_; ++c) {
      if (!members[c].empty()) present.push_back(c);
    }
    for (int64_t i = 0; i < n; ++i) {
      const auto& pool = members[present[rng.below(present.size())]];
      order.push_back(pool[rng.below(pool.size())]);
    }
    return order;
  }
  order.resize(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  if (options_.shuffle) shuffle(order, rng);
  return order;
}

void BatchLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  stop_workers();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    epoch_ = epoch;
    order_ = epoch_order(epoch);
    batches_in_epoch_ = batches_per_epoch();
    next_to_build_ = std::clamp<int64_t>(first_batch, 0, batches_in_epoch_);
    next_to_deliver_ = next_to_build_;
    ready_.clear();
    stopping_ = false;
  }
  for (int t = 0; t < std::max(1, options_.threads); ++t) workers_.emplace_back([this] { worker_loop(); });
}

void BatchLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
}

void BatchLoader::worker_loop() {
  for (;;) {
    int64_t batch_number;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // Claim the next batch once it is within the prefetch window of the consumer.
      changed_.wait(lock, [&] {
        return stopping_ || next_to_build_ >= batches_in_epoch_ ||
               next_to_build_ < next_to_deliver_ + std::max(1, options_.prefetch);
      });
      if (stopping_ || next_to_build_ >= batches_in_epoch_) return;
      batch_number = next_to_build_++;
    }
    BuiltBatch built;
    try {
      built.batch = build_batch(batch_number);
    } catch (...) {
      built.error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(batch_number, std::move(built));
    }
    changed_.notify_all();
  }
}

RawBatch BatchLoader::build_batch(int64_t batch_number) {
  const auto begin = static_cast<size_t>(batch_number * options_.batch_size);
  const auto end = std::min(order_.size(), begin + static_cast<size_t>(options_.batch_size));
  RawBatch batch;
  std::vector<std::shared_ptr<const Image>> images;
  for (size_t position = begin; position < end; ++position) {
    const int64_t index = order_[position];
    try {
      images.push_back(cache_->get(static_cast<size_t>(index)));
      batch.indices.push_back(index);
    } catch (const BadImageError& error) {
      spdlog::warn("replacing {} in this batch by another of its images: {}", error.path(), error.reason());
    }
  }
  if (images.empty()) {
    throw UserError(fmt::format("batch {} of epoch {}: none of its images could be read (were the files removed?)",
                                batch_number, epoch_));
  }
  // Batch norm and the queue want full batches: the readable images fill the places of the unreadable ones (each
  // copy gets its own views, seeded by its place).
  const size_t readable = images.size();
  for (size_t copy = 0; images.size() < end - begin; ++copy) {
    images.push_back(images[copy % readable]);
    batch.indices.push_back(batch.indices[copy % readable]);
  }
  std::vector<const Image*> pointers;
  std::vector<int64_t> labels;
  for (size_t i = 0; i < images.size(); ++i) {
    pointers.push_back(images[i].get());
    labels.push_back(labels_[batch.indices[i]]);
    // Seeded by (seed, epoch, position in the epoch): a class-balanced epoch may hold a sample twice,
    // and the two copies still get different views.
    batch.sample_seeds.push_back(mix_seed(options_.seed, static_cast<uint64_t>(epoch_), begin + i));
  }
  batch.images = pack_images(pointers);
  batch.labels = torch::tensor(labels, torch::kInt64);  // [B]
  return batch;
}

std::optional<RawBatch> BatchLoader::next() {
  const Clock::time_point wait_start = Clock::now();
  BuiltBatch built;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (epoch_ < 0) throw std::logic_error("BatchLoader::next() before start_epoch()");
    if (next_to_deliver_ >= batches_in_epoch_) return std::nullopt;
    changed_.wait(lock, [&] { return ready_.count(next_to_deliver_) > 0; });
    auto node = ready_.extract(next_to_deliver_++);
    built = std::move(node.mapped());
  }
  changed_.notify_all();
  if (built.error) std::rethrow_exception(built.error);

  timing_.wait_seconds += seconds_since(wait_start);
  timing_.images += built.batch.labels.size(0);
  return std::move(built.batch);
}

}  // namespace trashcl
