// Wall time on the monotonic clock, for throughput, latency and ETA figures.
#pragma once
#include <chrono>

namespace trashcl {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace trashcl
