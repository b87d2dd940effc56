#include "cli/config_cli.h"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <type_traits>

#include "cli/commands.h"
#include "common/device.h"
#include "common/error.h"

namespace trashcl {
namespace {

std::string flag_name(const std::string& key) {
  std::string flag = "--" + key;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

}  // namespace

ConfigBinding::ConfigBinding(CLI::App& command, Config& config, const std::vector<std::string>& sections)
    : config_(config) {
  command.add_option("--config", config_file_, "TOML file with config keys; flags override it")
      ->check(CLI::ExistingFile);
  command.add_flag("--print-config", print_config_, "print the effective config as TOML and stop");
  for (const auto& field : config.fields()) {
    if (std::find(sections.begin(), sections.end(), field.section) == sections.end()) continue;
    CLI::Option* option = std::visit(
        [&](auto* value) -> CLI::Option* {
          using T = std::remove_pointer_t<decltype(value)>;
          if constexpr (std::is_same_v<T, bool>) {
            return command.add_flag(flag_name(field.name), *value, field.help);  // --x, or --x=false
          } else if constexpr (std::is_arithmetic_v<T>) {
            return add_number_option(command, flag_name(field.name), *value, field.help);
          } else {
            return command.add_option(flag_name(field.name), *value, field.help)->capture_default_str();
          }
        },
        field.value);
    option->group(field.section);
    bound_.emplace_back(field, option);
  }
}

void ConfigBinding::resolve() {
  if (!config_file_.empty()) {
    std::vector<std::string> given;
    for (const auto& [field, option] : bound_) {
      if (option->count() > 0) given.push_back(field.name);
    }
    // Flags were parsed into config_ already; the file fills every other key.
    apply_config_file(config_file_, config_, given);
  }
  validate_config(config_);
  if (print_config_) {
    std::cout << config_to_toml(config_);
    printed_ = true;
  }
}

void validate_config(const Config& config) {
  auto require = [](bool ok, const std::string& message) {
    if (!ok) throw UserError(message);
  };
  require(config.image_size >= 16 && config.image_size <= 1024, fmt::format("--image-size {}: must be 16-1024", config.image_size));
  require(config.decode_short_side >= 0, "--decode-short-side: must be 0 (automatic) or a positive size");
  require(config.cache_mb >= 0, "--cache-mb: must be >= 0");
  require(config.loader_threads >= 1 && config.loader_threads <= 64, "--loader-threads: must be 1-64");
  require(config.threads >= 0, "--threads: must be >= 0 (0: one per core)");
  require(config.anchor_scale_min > 0 && config.anchor_scale_min <= 1, "--anchor-scale-min: must be in (0, 1]");
  require(config.positive_scale_min > 0 && config.positive_scale_min <= 1, "--positive-scale-min: must be in (0, 1]");
  require(config.randaugment_ops >= 0 && config.randaugment_ops <= 8, "--randaugment-ops: must be 0-8");
  require(config.randaugment_magnitude >= 0 && config.randaugment_magnitude <= 30, "--randaugment-magnitude: must be 0-30");
  for (auto [name, p] : {std::pair{"--positive-jitter-p", config.positive_jitter_p}, {"--grayscale-p", config.grayscale_p},
                         {"--blur-p", config.blur_p}, {"--cutmix-p", config.cutmix_p}}) {
    require(p >= 0 && p <= 1, fmt::format("{} {}: a probability must be in [0, 1]", name, p));
  }
  require(config.mixup_alpha >= 0, fmt::format("--mixup-alpha {}: must be >= 0 (0: no mixup)", config.mixup_alpha));
  require((config.cutmix_p == 0 && config.mixup_alpha == 0) || !config.symmetric,
          "--cutmix-p or --mixup-alpha with --symmetric: the mirrored term would take the mixed anchor view as a key; use "
          "one or the other");
  require(config.epochs >= 1, fmt::format("--epochs {}: must be at least 1", config.epochs));
  require(config.self_supervised_epochs >= 0 && config.self_supervised_epochs < config.epochs,
          fmt::format("--self-supervised-epochs {}: must be 0 (off) to {}, fewer than --epochs, so the class head "
                      "learns for at least one epoch",
                      config.self_supervised_epochs, config.epochs - 1));
  require(config.self_supervised_epochs == 0 || config.loss != "ce",
          "--self-supervised-epochs with --loss ce: the warm-up contrasts the two views, and cross-entropy trains on "
          "one; use --loss paco or supcon");
  require(config.self_supervised_epochs == 0 || (config.cutmix_p == 0 && config.mixup_alpha == 0),
          "--self-supervised-epochs with --cutmix-p or --mixup-alpha: a mixed anchor view has two photos' labels, and "
          "the warm-up gives every photo its own; use one or the other");
  require(config.batch_size >= 2, fmt::format("--batch-size {}: must be at least 2 (batch norm needs two images)", config.batch_size));
  require(config.lr > 0, "--lr: must be positive");
  require(config.head_lr_scale > 0, "--head-lr-scale: must be positive");
  require(config.decoder_query_std > 0, "--decoder-query-std: must be positive (0.0625 by default)");
  require(config.predict_prior == "train" || config.predict_prior == "uniform",
          fmt::format("--predict-prior '{}': use train or uniform", config.predict_prior));
  require(config.weight_decay >= 0 && config.grad_clip >= 0 && config.warmup_epochs >= 0,
          "--weight-decay, --grad-clip and --warmup-epochs: must not be negative");
  require(config.max_steps >= 0, "--max-steps: must not be negative (0: no limit)");
  require(config.model_ema >= 0 && config.model_ema < 1,
          fmt::format("--model-ema {}: must be in [0, 1) (0: no weight average; 0.998 averages about 500 steps)",
                      config.model_ema));
  require(config.precision == "fp32" || config.precision == "bf16" || config.precision == "auto",
          fmt::format("--precision '{}': use fp32, bf16 or auto", config.precision));
  require_device_name(config.device);
}

}  // namespace trashcl
