#include "train/stop_signals.h"

#include <csignal>
#include <cstdlib>

namespace trashcl {
namespace {

volatile std::sig_atomic_t received_signal = 0;
struct sigaction previous_interrupt, previous_terminate;

// SA_RESETHAND puts the default action back as this runs, so a second signal ends the process.
void on_stop_signal(int signal) { received_signal = signal; }

}  // namespace

StopSignals::StopSignals() {
  received_signal = 0;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  sigaction(SIGTERM, &action, &previous_terminate);
  sigaction(SIGINT, nullptr, &previous_interrupt);
  if (previous_interrupt.sa_handler != SIG_IGN) sigaction(SIGINT, &action, nullptr);
}

StopSignals::~StopSignals() {
  sigaction(SIGTERM, &previous_terminate, nullptr);
  sigaction(SIGINT, &previous_interrupt, nullptr);
}

int StopSignals::received() const { return received_signal; }

void end_by_signal(int signal) {
  std::signal(signal, SIG_DFL);
  std::raise(signal);
  std::_Exit(128 + signal);  // only if the signal did not end the process
}

}  // namespace trashcl
