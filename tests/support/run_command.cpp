#include "support/run_command.h"

#include <sys/wait.h>

#include <cstdio>

#include "support/test_support.h"

namespace trashcl::testing {

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char ch : text) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return quoted + "'";
}

CommandResult run_command(const std::string& command_line) {
  TempDir streams("trashcl-run");
  const auto out_file = streams / "out", err_file = streams / "err";
  const std::string command =
      command_line + " >" + shell_quote(out_file.string()) + " 2>" + shell_quote(err_file.string()) + " </dev/null";
  const int status = std::system(command.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_bytes(out_file);
  result.err = read_bytes(err_file);
  return result;
}

CommandResult run_trashcl(const std::string& arguments) {
  return run_command(shell_quote(TRASHCL_BINARY) + " " + arguments);
}

}  // namespace trashcl::testing
