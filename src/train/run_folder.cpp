#include "train/run_folder.h"

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "common/csv.h"
#include "common/error.h"
#include "data/encode.h"

namespace trashcl {
namespace fs = std::filesystem;
namespace {

const char* kMetricsHeader =
    "epoch,step,loss,classification_loss,contrastive_loss,quantization_loss,lr,val_top1,val_macro_f1,img_per_s,"
    "data_wait_pct,epoch_seconds\n";

}  // namespace

const fs::path& checked_run_folder(const fs::path& run_dir, bool resume) {
  std::error_code error;
  fs::create_directories(run_dir, error);
  if (error) throw UserError(fmt::format("{}: cannot create the run folder: {}", run_dir.string(), error.message()));
  const bool has_run = fs::exists(run_dir / "last.ckpt");
  if (resume && !has_run) throw UserError(fmt::format("{}: nothing to resume (no last.ckpt)", run_dir.string()));
  if (!resume && has_run) {
    throw UserError(fmt::format("{}: holds a run already; add --resume to continue it, or choose another --out",
                                run_dir.string()));
  }
  return run_dir;
}

RunLog::RunLog(const fs::path& file)
    : sink_(std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string())),
      previous_flush_level_(spdlog::default_logger()->flush_level()) {
  sink_->set_pattern("%Y-%m-%d %H:%M:%S %l: %v");
  spdlog::default_logger()->sinks().push_back(sink_);
  spdlog::default_logger()->flush_on(spdlog::level::trace);
}

RunLog::~RunLog() {
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  spdlog::default_logger()->flush_on(previous_flush_level_);
}

void start_metrics_file(const fs::path& metrics) { write_text_atomic(metrics, kMetricsHeader); }

void append_metrics_row(const fs::path& metrics, const EpochRow& row) {
  std::ofstream file(metrics, std::ios::app);
  file << fmt::format("{},{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6g},{:.4f},{:.4f},{:.1f},{:.1f},{:.1f}\n", row.epoch,
                      row.step, row.mean_losses[0], row.mean_losses[1], row.mean_losses[2], row.mean_losses[3], row.lr,
                      row.val_top1, row.val_macro_f1, row.images_per_second, 100 * row.data_share, row.seconds);
  if (!file.flush()) {
    spdlog::warn("{}: cannot append epoch {}'s row (is the disk full?); training goes on", metrics.string(), row.epoch);
  }
}

void keep_metrics_up_to_step(const fs::path& metrics, int64_t checkpoint_step) {
  const std::string header = kMetricsHeader;
  const auto columns = static_cast<size_t>(std::count(header.begin(), header.end(), ',') + 1);
  std::ifstream in(metrics);
  std::string kept = header, line;
  int dropped = 0;
  if (std::getline(in, line)) {  // the header
    while (std::getline(in, line)) {
      const std::vector<std::string> fields = parse_csv_line(line);
      int64_t row_step = -1;
      try {
        if (fields.size() == columns) row_step = std::stoll(fields[1]);
      } catch (const std::exception&) {  // not a number: the row is dropped
      }
      if (row_step >= 0 && row_step <= checkpoint_step) {
        kept += line + "\n";
      } else {
        ++dropped;
      }
    }
  }
  if (dropped > 0) {
    spdlog::info("{}: dropped {} row(s) cut short or past the checkpoint's step {}; the run redoes those steps",
                 metrics.string(), dropped, checkpoint_step);
  }
  write_text_atomic(metrics, kept);
}

}  // namespace trashcl
