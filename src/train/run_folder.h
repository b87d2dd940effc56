// The run folder's bookkeeping beside the checkpoints: the folder itself, RUN_DIR/train.log and RUN_DIR/metrics.csv
// (the file list is in train/trainer.h).
#pragma once
#include <spdlog/spdlog.h>

#include <array>
#include <cstdint>
#include <filesystem>

namespace trashcl {

// The run folder, created, after checking that it holds a run to resume - or none that training would overwrite.
// Throws UserError naming the folder.
const std::filesystem::path& checked_run_folder(const std::filesystem::path& run_dir, bool resume);

// Adds RUN_DIR/train.log to the logger for the lifetime of the object, flushed at every message so that the file
// can be followed during the run and keeps every epoch's line if the process is killed.
class RunLog {
 public:
  explicit RunLog(const std::filesystem::path& file);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;

 private:
  spdlog::sink_ptr sink_;
  spdlog::level::level_enum previous_flush_level_;
};

// One row of metrics.csv; val_top1 and val_macro_f1 are -1 for an epoch not validated.
struct EpochRow {
  int64_t epoch = 0, step = 0;             // epoch 1-based; step: the steps taken when the epoch ended
  std::array<double, 4> mean_losses = {};  // total, classification, contrastive, quantization
  double lr = 0, val_top1 = -1, val_macro_f1 = -1, images_per_second = 0, data_share = 0, seconds = 0;
};

// A new metrics.csv holding its header (epoch, step, loss, ..., epoch_seconds).
void start_metrics_file(const std::filesystem::path& metrics);

// Appends the row and flushes it, so that the file can be followed during the run; a failed write is reported and
// training goes on (the checkpoints matter more than the curves).
void append_metrics_row(const std::filesystem::path& metrics, const EpochRow& row);

// A resumed run redoes the steps after its checkpoint, so metrics.csv keeps only the rows up to that step: a row
// written just before the process died, and before last.ckpt was saved, would otherwise list its epoch twice.
// A row cut short by the process's end is dropped too; a missing metrics.csv starts again from its header.
void keep_metrics_up_to_step(const std::filesystem::path& metrics, int64_t checkpoint_step);

}  // namespace trashcl
