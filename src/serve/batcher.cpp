#include "serve/batcher.h"

#include <algorithm>

#include "common/clock.h"

namespace trashcl {

InferenceBatcher::InferenceBatcher(Predictor& predictor, BatcherOptions options, ServeMetrics& metrics)
    : predictor_(predictor), options_(options), metrics_(metrics) {
  options_.max_batch = std::max(1, options_.max_batch);
  thread_ = std::thread([this] { run(); });
}

InferenceBatcher::~InferenceBatcher() { stop(); }

InferenceBatcher::Upcoming::Upcoming(InferenceBatcher& batcher) : batcher_(batcher) {
  std::lock_guard<std::mutex> lock(batcher_.mutex_);
  ++batcher_.upcoming_;
}

InferenceBatcher::Upcoming::~Upcoming() {
  if (!counted_) return;
  {
    std::lock_guard<std::mutex> lock(batcher_.mutex_);
    --batcher_.upcoming_;
  }
  batcher_.wake_.notify_one();  // a batch waiting for this image need not wait any longer
}

std::future<Prediction> InferenceBatcher::submit(Upcoming& upcoming, Image image, int top_k) {
  Job job;
  job.image = std::move(image);
  job.top_k = top_k;
  std::future<Prediction> future = job.result.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (upcoming.counted_) --upcoming_;
    upcoming.counted_ = false;
    if (stopping_) {
      job.result.set_exception(std::make_exception_ptr(ShuttingDown()));
      return future;
    }
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return future;
}

void InferenceBatcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void InferenceBatcher::run() {
  for (;;) {
    std::deque<Job> jobs = next_batch();
    if (jobs.empty()) return;  // stopping, and nothing left to answer
    run_batch(jobs);
  }
}

std::deque<InferenceBatcher::Job> InferenceBatcher::next_batch() {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
  if (queue_.empty()) return {};
  // The oldest image waits at most max_wait for the images on their way to share its forward pass; a full
  // batch, or one that nobody else is on the way to join, goes at once.
  const auto max_batch = static_cast<size_t>(options_.max_batch);
  const auto deadline = Clock::now() + options_.max_wait;
  wake_.wait_until(lock, deadline, [&] { return stopping_ || queue_.size() >= max_batch || upcoming_ == 0; });
  const size_t take = std::min(max_batch, queue_.size());
  std::deque<Job> jobs(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + take));
  queue_.erase(queue_.begin(), queue_.begin() + take);
  return jobs;
}

void InferenceBatcher::run_batch(std::deque<Job>& jobs) {
  std::vector<const Image*> images;
  int top_k = 1;
  for (const Job& job : jobs) {
    images.push_back(&job.image);
    top_k = std::max(top_k, job.top_k);  // one pass for all: ask for the most any job wants, then cut
  }
  const Clock::time_point started = Clock::now();
  std::vector<Prediction> predictions;
  try {
    predictions = predictor_.predict(images, top_k);
  } catch (...) {
    for (Job& job : jobs) job.result.set_exception(std::current_exception());
    return;
  }
  metrics_.record_batch(static_cast<int64_t>(jobs.size()), seconds_since(started));
  for (size_t i = 0; i < jobs.size(); ++i) {
    Prediction& prediction = predictions[i];
    if (prediction.top.size() > static_cast<size_t>(std::max(1, jobs[i].top_k))) {
      prediction.top.resize(static_cast<size_t>(std::max(1, jobs[i].top_k)));
    }
    jobs[i].result.set_value(std::move(prediction));
  }
}

}  // namespace trashcl
