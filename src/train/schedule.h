// The learning-rate schedule: a pure function of the step, so resuming needs nothing but the step.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace trashcl {

// Linear warm-up from peak/warmup_steps to peak over `warmup_steps`, then cosine decay to 0 at `total_steps`.
inline double learning_rate_at(int64_t step, int64_t warmup_steps, int64_t total_steps, double peak) {
  if (step < warmup_steps) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  const double progress =
      static_cast<double>(step - warmup_steps) / static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  return peak * 0.5 * (1.0 + std::cos(3.14159265358979323846 * std::min(1.0, progress)));
}

}  // namespace trashcl
