// Batching of concurrent requests: HTTP workers decode their image and submit it; one inference thread
// gathers up to max_batch images (waiting at most max_wait after the first), runs one Predictor::predict over
// them and hands each request its own result through a promise.
//
// The wait is cut short when no other image is on its way: HTTP workers announce an upload when it starts
// (an Upcoming), so a lone request goes at once, and requests that arrive together still share a pass.
//
// Why one thread: a forward pass over 8 images costs far less than 8 passes over one (the convolutions and the
// decoder's matrix products use the cores better), and LibTorch's intra-op threads already use every core, so
// parallel forward passes would only fight over them. The queue needs no bound of its own: every queued
// image belongs to an HTTP worker that waits for it, so it holds at most --workers images.
#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "data/image.h"
#include "infer/predictor.h"
#include "serve/metrics.h"

namespace trashcl {

struct BatcherOptions {
  int max_batch = 8;                            // images per forward pass at most
  std::chrono::microseconds max_wait{5'000};    // how long the first image of a batch waits for company
};

class InferenceBatcher {
 public:
  // `predictor` and `metrics` must outlive the batcher; only the batcher's thread calls predictor.predict.
  InferenceBatcher(Predictor& predictor, BatcherOptions options, ServeMetrics& metrics);
  ~InferenceBatcher();  // stop()
  InferenceBatcher(const InferenceBatcher&) = delete;
  InferenceBatcher& operator=(const InferenceBatcher&) = delete;

  // An image still being received or decoded. While one is announced, a batch with room waits for it (at most
  // max_wait); it stops counting when it is submitted or when this object dies (a bad upload).
  class Upcoming {
   public:
    explicit Upcoming(InferenceBatcher& batcher);
    ~Upcoming();
    Upcoming(const Upcoming&) = delete;
    Upcoming& operator=(const Upcoming&) = delete;

   private:
    friend class InferenceBatcher;
    InferenceBatcher& batcher_;
    bool counted_ = true;
  };

  // Queues one decoded image; the future holds its prediction with `top_k` classes, or the exception the
  // forward pass threw. After stop() the future holds a ShuttingDown error.
  std::future<Prediction> submit(Upcoming& upcoming, Image image, int top_k);

  // Runs what is queued, then ends the inference thread. Safe to call twice.
  void stop();

  class ShuttingDown : public std::runtime_error {
   public:
    ShuttingDown() : std::runtime_error("the server is shutting down") {}
  };

 private:
  struct Job {
    Image image;
    int top_k = 3;
    std::promise<Prediction> result;
  };

  void run();                    // the inference thread
  std::deque<Job> next_batch();  // blocks until a batch is due; empty when stopping with nothing queued
  void run_batch(std::deque<Job>& jobs);

  Predictor& predictor_;
  BatcherOptions options_;
  ServeMetrics& metrics_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  int64_t upcoming_ = 0;  // announced images not yet queued
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace trashcl
