// Counters and histograms of `trashcl serve`, written out in the Prometheus text format at GET /metrics.
//
// Every HTTP worker and the inference thread record into one ServeMetrics; a mutex guards it (a handful of
// additions per request, nothing next to decoding and inference).
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace trashcl {

// A cumulative histogram with fixed upper bounds, as Prometheus defines one: bucket i counts the
// observations <= bounds[i]; the implicit last bucket (+Inf) counts them all.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // `name`_bucket{labels,le=...}, `name`_sum, `name`_count; `labels` is "" or `key="value",...`.
  void write(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // [bounds + 1], not cumulative; the last is the overflow bucket
  double sum_ = 0;
  int64_t count_ = 0;
};

class ServeMetrics {
 public:
  explicit ServeMetrics(int max_batch);

  // One answered request: `endpoint` is a route label (never the raw path, so clients cannot create
  // labels), `status` its HTTP status; `seconds` < 0 when the request never reached routing.
  void record_request(const std::string& endpoint, int status, double seconds);
  // One Predictor::predict call over `images` images that took `seconds`.
  void record_batch(int64_t images, double seconds);

  // The whole exposition, ending in a newline.
  std::string prometheus_text() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> requests_;  // {endpoint, status} -> count
  std::map<std::string, Histogram> latency_;                 // endpoint -> request seconds
  Histogram batch_size_;
  Histogram batch_seconds_;
};

}  // namespace trashcl
