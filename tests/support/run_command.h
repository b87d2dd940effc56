// Running the trashcl binary (or a script around it) from tests, as a user would.
#pragma once
#include <string>

namespace trashcl::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs a shell command line and captures both streams (stdin is /dev/null).
CommandResult run_command(const std::string& command_line);

// Runs `trashcl <arguments>` (arguments are passed to the shell as written) and captures both streams.
CommandResult run_trashcl(const std::string& arguments);

// Quotes a path or word for the shell.
std::string shell_quote(const std::string& text);

}  // namespace trashcl::testing
