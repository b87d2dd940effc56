#include "common/device.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/error.h"
#include "common/pch.h"

namespace trashcl {

void require_device_name(const std::string& name) {
  const std::string gpu_prefix = "cuda:";
  const bool gpu_number = name.size() > gpu_prefix.size() && name.rfind(gpu_prefix, 0) == 0 &&
                          std::all_of(name.begin() + static_cast<std::ptrdiff_t>(gpu_prefix.size()), name.end(),
                                      [](char c) { return c >= '0' && c <= '9'; });
  if (name != "cpu" && name != "cuda" && !gpu_number) {
    throw UserError(fmt::format("--device '{}': use cpu, cuda or cuda:N", name));
  }
}

c10::Device chosen_device(const std::string& name) {
  require_device_name(name);
  const c10::Device device(name);
  if (device.is_cuda() && !torch::cuda::is_available()) {
    throw UserError(fmt::format("--device {}: no CUDA device is available (a CPU-only build, or no GPU seen)", name));
  }
  return device;
}

}  // namespace trashcl
