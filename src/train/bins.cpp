#include "train/bins.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "common/error.h"

namespace trashcl {

const std::vector<std::string> kDisposalBins{"recyclable", "kitchen", "hazardous", "other"};

namespace {

const std::map<std::string, std::string>& default_bins() {
  static const std::map<std::string, std::string> bins{
      {"cardboard", "recyclable"}, {"glass", "recyclable"},  {"metal", "recyclable"},    {"paper", "recyclable"},
      {"plastic", "recyclable"},   {"bottle", "recyclable"}, {"box", "recyclable"},      {"can", "recyclable"},
      {"cup", "recyclable"},       {"clothes", "recyclable"}, {"trash", "other"},        {"wrapper", "other"},
      {"food", "kitchen"},         {"organic", "kitchen"},   {"biological", "kitchen"},  {"battery", "hazardous"},
      {"batteries", "hazardous"},  {"medicine", "hazardous"}};
  return bins;
}

}  // namespace

std::vector<std::string> class_bins(const std::vector<std::string>& class_names, const std::string& overrides) {
  std::map<std::string, std::string> chosen;
  std::stringstream stream(overrides);
  std::string pair;
  while (std::getline(stream, pair, ',')) {
    if (pair.empty()) continue;
    const auto equals = pair.find('=');
    if (equals == std::string::npos) throw UserError(fmt::format("--bins '{}': write class=bin pairs, e.g. trash=other", pair));
    const std::string name = pair.substr(0, equals), bin = pair.substr(equals + 1);
    if (std::find(kDisposalBins.begin(), kDisposalBins.end(), bin) == kDisposalBins.end()) {
      throw UserError(fmt::format("--bins '{}': unknown bin '{}'; use recyclable, kitchen, hazardous or other", pair, bin));
    }
    if (std::find(class_names.begin(), class_names.end(), name) == class_names.end()) {
      throw UserError(fmt::format("--bins '{}': the data has no class '{}'", pair, name));
    }
    chosen[name] = bin;
  }
  std::vector<std::string> bins;
  for (const auto& name : class_names) {
    if (auto it = chosen.find(name); it != chosen.end()) {
      bins.push_back(it->second);
    } else if (auto known = default_bins().find(name); known != default_bins().end()) {
      bins.push_back(known->second);
    } else {
      bins.push_back("other");
    }
  }
  return bins;
}

}  // namespace trashcl
