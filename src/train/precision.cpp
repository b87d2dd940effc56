#include "train/precision.h"

#include <fstream>
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

std::string resolve_precision(const std::string& precision, bool cuda) {
  if (precision != "auto") return precision;
  if (cuda) return "bf16";
  std::ifstream cpuinfo("/proc/cpuinfo");
  return cpuinfo_has_flag(cpuinfo, "amx_bf16") ? "bf16" : "fp32";
}

}  // namespace trashcl
