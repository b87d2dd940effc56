// `trashcl train`: the training loop over library calls, and the run folder it keeps.
//
// RUN_DIR/config.toml   the effective config
// RUN_DIR/metrics.csv   one row per epoch
// RUN_DIR/train.log     everything logged
// RUN_DIR/last.ckpt     after every epoch (and when max_steps, Ctrl-C or SIGTERM stops the run)
// RUN_DIR/best.ckpt     the best validation top-1 so far (never chosen on the test split)
// RUN_DIR/report.html   the curves so far and the last validation, as charts (after every validated epoch)
#pragma once
#include <filesystem>
#include <string>

#include "common/config.h"

namespace trashcl {

struct TrainSummary {
  int64_t steps = 0;
  int64_t best_epoch = -1;
  double best_val_top1 = -1;
  double seconds = 0;
  int stop_signal = 0;  // SIGINT or SIGTERM when a signal stopped the run; last.ckpt holds the step it reached
};

// Trains with `config` into `run_dir`. With resume, continues from run_dir/last.ckpt at the exact next step
// (the config then comes from run_dir/config.toml unless the caller overrode keys). SIGINT and SIGTERM during
// the steps stop the run after the current one (StopSignals). Throws UserError for bad data, config or run folder.
TrainSummary train(Config config, const std::filesystem::path& run_dir, bool resume);

}  // namespace trashcl
