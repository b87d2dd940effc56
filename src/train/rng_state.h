// The state of LibTorch's default CPU generator (dropout, weight initialisation), read and written under its
// lock: checkpoints save it, and code that must not disturb the random stream puts it back.
#pragma once
#include <torch/torch.h>

#include <mutex>

namespace trashcl {

inline torch::Tensor cpu_rng_state() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

inline void set_cpu_rng_state(const torch::Tensor& state) {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

}  // namespace trashcl
