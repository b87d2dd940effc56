// Ctrl-C (SIGINT) and SIGTERM while training: finish the step, save last.ckpt there, then end - instead of
// losing everything since the last epoch. A second signal ends the process at once.
#pragma once

namespace trashcl {

class StopSignals {
 public:
  // Catches SIGTERM, and SIGINT unless it is ignored (as for a background job of a script); restores the
  // previous handlers when destroyed. One instance at a time.
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  int received() const;  // the signal that asked to stop, or 0
};

// After a run stopped by `signal`: ends the process by that signal, as if it had not been caught, so that
// shells and scripts see an interrupted command (exit status 128 + signal).
[[noreturn]] void end_by_signal(int signal);

}  // namespace trashcl
