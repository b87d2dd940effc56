#include "train/precision.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace trashcl {

bool cpuinfo_has_any_flag(std::istream& cpuinfo, const std::vector<std::string>& flags) {
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    for (std::string word; words >> word;) {
      if (std::find(flags.begin(), flags.end(), word) != flags.end()) return true;
    }
    return false;  // every core lists the same flags
  }
  return false;
}

bool cpuinfo_has_bf16_kernels(std::istream& cpuinfo) {
  return cpuinfo_has_any_flag(cpuinfo, {"amx_bf16", "avx512_bf16"});
}

std::string resolve_precision(const std::string& precision, bool cuda) {
  if (precision != "auto") return precision;
  if (cuda) return "bf16";
  std::ifstream cpuinfo("/proc/cpuinfo");
  return cpuinfo_has_bf16_kernels(cpuinfo) ? "bf16" : "fp32";
}

}  // namespace trashcl
