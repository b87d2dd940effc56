// Process-wide runtime settings shared by the subcommands.
#include <thread>

#include "cli/commands.h"
#include "common/pch.h"

namespace trashcl {

void set_compute_threads(int requested) {
  // LibTorch defaults to one thread on some machines; ask for every core unless told otherwise.
  const int threads = requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
}

}  // namespace trashcl
