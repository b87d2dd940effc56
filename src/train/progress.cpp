#include "train/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace trashcl {

double run_seconds_left(double seconds_so_far, int64_t steps_taken, int64_t steps_left) {
  if (steps_taken <= 0) return -1;
  return seconds_so_far / static_cast<double>(steps_taken) * static_cast<double>(std::max<int64_t>(steps_left, 0));
}

std::string format_duration(double seconds) {
  const auto whole = static_cast<int64_t>(std::llround(std::max(seconds, 0.0)));
  if (whole < 60) return fmt::format("{}s", whole);
  if (whole < 3600) return fmt::format("{}m {:02}s", whole / 60, whole % 60);
  const int64_t minutes = (whole + 30) / 60;  // to the nearest minute
  return fmt::format("{}h {:02}m", minutes / 60, minutes % 60);
}

Progress::Progress(int64_t epoch, int64_t epochs, int64_t steps_in_epoch, int64_t first_step_in_epoch)
    : epoch_(epoch),
      epochs_(epochs),
      steps_(steps_in_epoch),
      first_step_(first_step_in_epoch),
      terminal_(::isatty(STDOUT_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_line_(start_) {}

void Progress::update(const StepStats& stats) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = std::max(0.0, run_seconds_left(elapsed, stats.step_in_epoch - first_step_, steps_ - stats.step_in_epoch));
  std::string numbers = fmt::format("loss {:.4f}  lr {:.4g}  {:.1f} img/s  data {:.0f}%  eta {}", stats.loss, stats.lr,
                                    stats.images_per_second, 100 * stats.data_share, format_duration(eta));
  if (stats.run_seconds_left >= 0) numbers += fmt::format(" (run {})", format_duration(stats.run_seconds_left));
  if (terminal_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * stats.step_in_epoch / std::max<int64_t>(steps_, 1));
    std::fputs(fmt::format("\r\033[Kepoch {}/{} [{}{}] {}/{}  {}", epoch_ + 1, epochs_, std::string(filled, '#'),
                           std::string(kWidth - filled, '.'), stats.step_in_epoch, steps_, numbers)
                   .c_str(),
               stdout);
    std::fflush(stdout);
  } else if (std::chrono::duration<double>(now - last_line_).count() >= 30 || stats.step_in_epoch == steps_) {
    // Not a terminal: a line every 30 s and at the end of the epoch keeps logs readable.
    std::fputs(fmt::format("epoch {}/{} step {}/{}  {}\n", epoch_ + 1, epochs_, stats.step_in_epoch, steps_, numbers).c_str(),
               stdout);
    std::fflush(stdout);
    last_line_ = now;
  }
}

void Progress::finish() {
  if (terminal_) std::fputs("\n", stdout);
}

}  // namespace trashcl
