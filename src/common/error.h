// Errors a user can act on. Every message names the file or option, the cause and, where one exists, the fix.
#pragma once
#include <stdexcept>
#include <string>
#include <system_error>

namespace trashcl {

// A problem with the user's input (a missing file, a bad flag, an empty class folder).
// The CLI prints what() on stderr and exits with status 1; it is never a crash.
class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An image file that cannot be used: zero bytes, truncated, not an image, too large, unreadable.
// Data loading catches it, records {path, reason} and skips the file.
class BadImageError : public std::runtime_error {
 public:
  BadImageError(std::string path, std::string reason)
      : std::runtime_error(path + ": " + reason), path_(std::move(path)), reason_(std::move(reason)) {}
  const std::string& path() const { return path_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string path_;
  std::string reason_;
};

// strerror's text for an errno value, e.g. "No such file or directory".
inline std::string errno_text(int error_number) { return std::generic_category().message(error_number); }

}  // namespace trashcl
