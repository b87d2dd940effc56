// trashcl train: train the method (or an ablation of it) into a run folder.
#include <filesystem>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "common/error.h"
#include "train/stop_signals.h"
#include "train/trainer.h"

namespace trashcl {

void add_train_command(CLI::App& app) {
  struct Options {
    Config config;
    std::string out;
    bool resume = false;
    std::unique_ptr<ConfigBinding> binding;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("train", "train a classifier into a run folder (config, metrics, checkpoints)");
  command->add_option("--out", options->out, "run folder: config.toml, metrics.csv, train.log, last.ckpt, best.ckpt");
  command->add_flag("--resume", options->resume, "continue the run in --out from last.ckpt, at the exact next step");
  options->binding = std::make_unique<ConfigBinding>(
      *command, options->config, std::vector<std::string>{"data", "augment", "model", "train", "runtime"});
  command->callback([options] {
    // A resumed run starts from its own stored config; flags given now still override it.
    const auto stored = std::filesystem::path(options->out) / "config.toml";
    if (options->resume && !options->binding->has_config_file() && std::filesystem::exists(stored)) {
      options->binding->set_config_file(stored.string());
    }
    options->binding->resolve();
    if (options->binding->printed()) return;
    if (options->out.empty()) throw UserError("train: --out RUN_DIR is required");
    set_compute_threads(options->config.threads);
    const TrainSummary summary = train(options->config, options->out, options->resume);
    if (summary.stop_signal != 0) end_by_signal(summary.stop_signal);
  });
}

}  // namespace trashcl
