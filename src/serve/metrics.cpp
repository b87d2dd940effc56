#include "serve/metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace trashcl {
namespace {

// Request latency buckets in seconds: 1 ms to 10 s, dense around the tens of milliseconds a CPU model takes.
const std::vector<double> kLatencyBounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// Batch size buckets 1, 2, 3, 4, 6, 9, 13, ... and max_batch itself: every small size has its own bucket and a
// large --max-batch does not need one bucket per size.
std::vector<double> batch_bounds(int max_batch) {
  std::vector<double> bounds;
  for (int size = 1; size < max_batch; size = size < 4 ? size + 1 : size + size / 2) bounds.push_back(size);
  bounds.push_back(std::max(1, max_batch));
  return bounds;
}

std::string join_labels(const std::string& labels, const std::string& extra) {
  return labels.empty() ? extra : labels + "," + extra;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();  // first bound >= value
  ++counts_[static_cast<size_t>(bucket)];
  sum_ += value;
  ++count_;
}

void Histogram::write(std::string& out, const std::string& name, const std::string& labels) const {
  int64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{{}}} {}\n", name, join_labels(labels, fmt::format("le=\"{}\"", bounds_[i])), cumulative);
  }
  out += fmt::format("{}_bucket{{{}}} {}\n", name, join_labels(labels, "le=\"+Inf\""), count_);
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += fmt::format("{}_sum{} {}\n", name, braces, sum_);
  out += fmt::format("{}_count{} {}\n", name, braces, count_);
}

ServeMetrics::ServeMetrics(int max_batch)
    : batch_size_(batch_bounds(max_batch)), batch_seconds_(kLatencyBounds) {}

void ServeMetrics::record_request(const std::string& endpoint, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{endpoint, status}];
  if (seconds < 0) return;
  auto found = latency_.find(endpoint);
  if (found == latency_.end()) found = latency_.emplace(endpoint, Histogram(kLatencyBounds)).first;
  found->second.observe(seconds);
}

void ServeMetrics::record_batch(int64_t images, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  batch_size_.observe(static_cast<double>(images));
  batch_seconds_.observe(seconds);
}

std::string ServeMetrics::prometheus_text() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  out += "# HELP trashcl_requests_total HTTP requests answered, by endpoint and status code.\n";
  out += "# TYPE trashcl_requests_total counter\n";
  std::map<std::string, int64_t> errors;  // endpoint -> 4xx and 5xx answers
  for (const auto& [key, count] : requests_) {
    out += fmt::format("trashcl_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, count);
    if (key.second >= 400) errors[key.first] += count;
  }
  out += "# HELP trashcl_request_errors_total Requests answered with a 4xx or 5xx status, by endpoint.\n";
  out += "# TYPE trashcl_request_errors_total counter\n";
  for (const auto& [endpoint, count] : errors) {
    out += fmt::format("trashcl_request_errors_total{{endpoint=\"{}\"}} {}\n", endpoint, count);
  }
  out += "# HELP trashcl_request_duration_seconds Time from the request's headers to its response, by endpoint.\n";
  out += "# TYPE trashcl_request_duration_seconds histogram\n";
  for (const auto& [endpoint, histogram] : latency_) {
    histogram.write(out, "trashcl_request_duration_seconds", fmt::format("endpoint=\"{}\"", endpoint));
  }
  out += "# HELP trashcl_batch_size Images per inference batch (concurrent requests run together).\n";
  out += "# TYPE trashcl_batch_size histogram\n";
  batch_size_.write(out, "trashcl_batch_size", "");
  out += "# HELP trashcl_batch_duration_seconds Time of one batched forward pass.\n";
  out += "# TYPE trashcl_batch_duration_seconds histogram\n";
  batch_seconds_.write(out, "trashcl_batch_duration_seconds", "");
  return out;
}

}  // namespace trashcl
