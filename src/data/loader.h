// The batch loader: background threads fetch (from the cache, decoding on a miss) and pack batches of
// uint8 images while the model computes; augmentation then runs on the training device (see augment.h).
//
// Threads only copy bytes (and decode on cache misses); they run no tensor compute, so they never fight
// the training step's OpenMP threads for the two cores.
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <exception>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "data/augment.h"
#include "data/image_cache.h"

namespace trashcl {

struct LoaderOptions {
  int batch_size = 32;
  bool shuffle = true;            // a new permutation every epoch, from (seed, epoch)
  bool drop_last = false;         // false: every sample exactly once per epoch, the last batch may be short
  bool class_balanced = false;    // sample classes equally often (with replacement); coverage is then not exact
  uint64_t seed = 0;
  int threads = 1;                // background packing threads
  int prefetch = 3;               // batches prepared ahead of the consumer
};

struct RawBatch {
  ImageBatch images;                  // uint8 [B,Hmax,Wmax,3] + sizes [B,2]
  torch::Tensor labels;               // int64 [B]
  std::vector<int64_t> indices;       // dataset sample indices, in batch order
  std::vector<uint64_t> sample_seeds; // per-sample augmentation seeds, from (seed, epoch, index)
};

struct TwoViewBatch {
  torch::Tensor anchor;    // float [B,3,S,S], normalised, on the device
  torch::Tensor positive;  // float [B,3,S,S], normalised, on the device
  torch::Tensor labels;    // int64 [B], on the device
};

// The training views of a raw batch, built on `device`: the anchor always, the positive view when
// `with_positive` (plain cross-entropy trains on the anchor view alone, so it skips the cost).
TwoViewBatch make_two_views(const RawBatch& batch, const AugmentConfig& config, const torch::Device& device,
                            bool with_positive = true);

// The same views stored channels-last (NHWC), for a model whose weights are (to_channels_last, Config::channels_last).
TwoViewBatch in_channels_last(TwoViewBatch views);

// Since the last reset_timing(): the consumer's time spent waiting in next() for data, and the images delivered.
struct LoaderTiming {
  double wait_seconds = 0;
  int64_t images = 0;
};

class BatchLoader {
 public:
  // `labels[i]` is the class of cache image i.
  BatchLoader(std::shared_ptr<ImageCache> cache, std::vector<int> labels, int num_classes, LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Starts producing the batches of `epoch` in the background (stops any unfinished epoch first), from
  // batch number `first_batch` on (a run resumed mid-epoch skips what it has already trained on).
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch of the current epoch, in a deterministic order; nullopt at the end of the epoch.
  // An image that fails to decode here (a file changed since loading) is replaced by another sample of
  // the same batch, with a warning, so training goes on.
  std::optional<RawBatch> next();

  int64_t batches_per_epoch() const;
  const LoaderTiming& timing() const { return timing_; }
  void reset_timing() { timing_ = {}; }

 private:
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  RawBatch build_batch(int64_t batch_number);
  void stop_workers();
  void worker_loop();

  std::shared_ptr<ImageCache> cache_;
  std::vector<int> labels_;
  int num_classes_;
  LoaderOptions options_;

  // Current epoch, guarded by mutex_.
  std::mutex mutex_;
  std::condition_variable changed_;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;
  int64_t batches_in_epoch_ = 0;
  int64_t next_to_build_ = 0;      // next batch number a worker will claim
  int64_t next_to_deliver_ = 0;    // next batch number next() returns
  struct BuiltBatch {
    RawBatch batch;
    std::exception_ptr error;  // a failure is handed to the consumer, in order, instead of killing a thread
  };
  std::map<int64_t, BuiltBatch> ready_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;

  LoaderTiming timing_;
};

}  // namespace trashcl
