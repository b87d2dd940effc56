// Mixed precision: bf16 autocast on CUDA (and on CPUs with AMX or AVX-512 BF16), as an RAII guard that
// works with LibTorch 1.13 and 2.x, whose autocast switches are named differently; and what precision = auto
// picks on this machine.
#pragma once
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <istream>
#include <string>
#include <vector>

// LibTorch 2.4 replaced the per-device autocast switches with ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define TRASHCL_AUTOCAST_BY_DEVICE_TYPE 1
#else
#define TRASHCL_AUTOCAST_BY_DEVICE_TYPE 0
#endif

namespace trashcl {

// precision = auto -> "bf16" on CUDA and on a CPU with bf16 instructions (AMX or AVX-512 BF16: bf16 training
// ran 1.9x and 1.6-1.8x the fp32 step there, docs/benchmarks.md), else "fp32" (an AVX2 CPU ran bf16 many times
// slower); fp32 and bf16 pass through.
std::string resolve_precision(const std::string& precision, bool cuda);

// Whether the "flags" line of /proc/cpuinfo-style text lists any of `flags` (e.g. "amx_bf16") as a whole word.
bool cpuinfo_has_any_flag(std::istream& cpuinfo, const std::vector<std::string>& flags);
// Whether it lists amx_bf16 or avx512_bf16: the CPUs whose oneDNN bf16 kernels beat fp32.
bool cpuinfo_has_bf16_kernels(std::istream& cpuinfo);

class AutocastGuard {
 public:
  AutocastGuard(bool enabled, bool cuda) : enabled_(enabled), cuda_(cuda) {
    if (!enabled_) return;
#if TRASHCL_AUTOCAST_BY_DEVICE_TYPE
    const auto type = cuda_ ? at::kCUDA : at::kCPU;
    at::autocast::set_autocast_dtype(type, at::kBFloat16);
    at::autocast::set_autocast_enabled(type, true);
#else
    if (cuda_) {
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
      at::autocast::set_enabled(true);
    } else {
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
      at::autocast::set_cpu_enabled(true);
    }
#endif
  }
  ~AutocastGuard() {
    if (!enabled_) return;
#if TRASHCL_AUTOCAST_BY_DEVICE_TYPE
    at::autocast::set_autocast_enabled(cuda_ ? at::kCUDA : at::kCPU, false);
#else
    if (cuda_) {
      at::autocast::set_enabled(false);
    } else {
      at::autocast::set_cpu_enabled(false);
    }
#endif
    at::autocast::clear_cache();
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool enabled_;
  bool cuda_;
};

}  // namespace trashcl
