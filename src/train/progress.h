// Training progress for a person: a live bar on a terminal, plain periodic lines otherwise (logs, CI).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace trashcl {

struct StepStats {
  int64_t step_in_epoch = 0;   // 1-based
  double loss = 0;
  double lr = 0;
  double images_per_second = 0;
  double data_share = 0;       // 0-1: time waiting for or augmenting data
  double run_seconds_left = -1;  // the whole run's remaining time (< 0: not known)
};

// The run's remaining time: the mean wall time of the steps this process has taken (validation and checkpoint
// writes included once an epoch has passed) times the steps still to take; -1 before the first step.
double run_seconds_left(double seconds_so_far, int64_t steps_taken, int64_t steps_left);

// A duration for a person: "45s", "12m 05s", "2h 41m".
std::string format_duration(double seconds);

class Progress {
 public:
  // `first_step_in_epoch`: the steps of this epoch taken before this process (a run resumed mid-epoch).
  Progress(int64_t epoch, int64_t epochs, int64_t steps_in_epoch, int64_t first_step_in_epoch = 0);
  void update(const StepStats& stats);
  void finish();  // ends the bar's line

 private:
  int64_t epoch_, epochs_, steps_, first_step_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_, last_line_;
};

}  // namespace trashcl
