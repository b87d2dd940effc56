// Binding the flat Config to a subcommand: a flag per key, --config FILE (TOML), --print-config.
#pragma once
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "common/config.h"

namespace trashcl {

class ConfigBinding {
 public:
  // Adds --config, --print-config and one flag per key of the given sections ("data", "augment", ...).
  ConfigBinding(CLI::App& command, Config& config, const std::vector<std::string>& sections);

  // Call after parsing: keys not given as flags take their value from the --config file (flags win);
  // then validates. Throws UserError naming the file, the key and the fix.
  void resolve();

  bool has_config_file() const { return !config_file_.empty(); }
  void set_config_file(const std::string& path) { config_file_ = path; }

  // True when --print-config was given: the effective config has been printed and the command stops.
  bool printed() const { return printed_; }

 private:
  Config& config_;
  std::string config_file_;
  bool print_config_ = false;
  bool printed_ = false;
  std::vector<std::pair<Config::Field, CLI::Option*>> bound_;
};

// Checks ranges and names; throws UserError with the offending key.
void validate_config(const Config& config);

}  // namespace trashcl
