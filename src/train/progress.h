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
};

class Progress {
 public:
  Progress(int64_t epoch, int64_t epochs, int64_t steps_in_epoch);
  void update(const StepStats& stats);
  void finish();  // ends the bar's line

 private:
  int64_t epoch_, epochs_, steps_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_, last_line_;
};

}  // namespace trashcl
