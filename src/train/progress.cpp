#include "train/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace trashcl {

Progress::Progress(int64_t epoch, int64_t epochs, int64_t steps_in_epoch)
    : epoch_(epoch),
      epochs_(epochs),
      steps_(steps_in_epoch),
      terminal_(::isatty(STDOUT_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_line_(start_) {}

void Progress::update(const StepStats& stats) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = stats.step_in_epoch > 0 ? elapsed / stats.step_in_epoch * (steps_ - stats.step_in_epoch) : 0;
  const std::string numbers = fmt::format("loss {:.4f}  lr {:.4g}  {:.1f} img/s  data {:.0f}%  eta {:.0f}s", stats.loss,
                                          stats.lr, stats.images_per_second, 100 * stats.data_share, eta);
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
