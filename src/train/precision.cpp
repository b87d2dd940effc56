#include "train/precision.h"

#include <fstream>
#include <iterator>
#include <sstream>

namespace trashcl {

bool cpuinfo_has_flag(std::istream& cpuinfo, const std::string& flag) {
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    for (std::string word; words >> word;) {
      if (word == flag) return true;
    }
    return false;  // every core lists the same flags
  }
  return false;
}

bool cpuinfo_has_bf16_kernels(std::istream& cpuinfo) {
  const std::string text{std::istreambuf_iterator<char>(cpuinfo), std::istreambuf_iterator<char>()};
  for (const char* flag : {"amx_bf16", "avx512_bf16"}) {
    std::istringstream flags(text);
    if (cpuinfo_has_flag(flags, flag)) return true;
  }
  return false;
}

std::string resolve_precision(const std::string& precision, bool cuda) {
  if (precision != "auto") return precision;
  if (cuda) return "bf16";
  std::ifstream cpuinfo("/proc/cpuinfo");
  return cpuinfo_has_bf16_kernels(cpuinfo) ? "bf16" : "fp32";
}

}  // namespace trashcl
