// The presets in configs/ are what users start from: each must load, and each method preset must differ from
// its cross-entropy baseline only in the method's components.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>

#include "support/run_command.h"

namespace trashcl {
namespace {

using testing::run_trashcl;
using testing::shell_quote;

const std::filesystem::path kConfigs = std::filesystem::path(TRASHCL_SOURCE_DIR) / "configs";

// `key = value  # help` lines of --print-config -> {key: value}.
std::map<std::string, std::string> effective_config(const std::string& preset) {
  const auto result = run_trashcl("train --config " + shell_quote((kConfigs / preset).string()) + " --print-config");
  EXPECT_EQ(result.exit_code, 0) << preset << ": " << result.err;
  std::map<std::string, std::string> values;
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);) {
    const auto equals = line.find(" = ");
    if (equals == std::string::npos || line[0] == '#') continue;
    values[line.substr(0, equals)] = line.substr(equals + 3, line.find("  #") - equals - 3);
  }
  return values;
}

TEST(CliPresets, EveryPresetLoads) {
  int presets = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kConfigs)) {
    if (entry.path().extension() != ".toml") continue;
    EXPECT_FALSE(effective_config(entry.path().filename().string()).empty()) << entry.path();
    ++presets;
  }
  EXPECT_GE(presets, 5);
}

TEST(CliPresets, BaselinesDifferFromTheMethodOnlyInItsComponents) {
  for (const std::string device : {"cpu", "gpu"}) {
    auto method = effective_config("trashnet-" + device + ".toml");
    auto baseline = effective_config("trashnet-" + device + "-ce.toml");
    EXPECT_EQ(method["loss"], "'paco'");
    EXPECT_EQ(baseline["loss"], "'ce'");
    EXPECT_EQ(baseline["head"], "'linear'");
    EXPECT_EQ(baseline["features"], "'pool'");
    EXPECT_EQ(baseline["momentum"], "false");
    // The positive view feeds only the method's key encoder: its keys are the method's too.
    for (const std::string component : {"loss", "head", "features", "momentum", "queue_size", "paco_gamma", "tau",
                                        "moco_m", "hash_beta_rate", "positive_scale_min", "positive_jitter_p",
                                        "grayscale_p", "blur_p"}) {
      method.erase(component);
      baseline.erase(component);
    }
    EXPECT_EQ(method, baseline) << device;
  }
}

}  // namespace
}  // namespace trashcl
