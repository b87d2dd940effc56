// Suggestions for misspelt names: an unknown config key or command-line flag is answered with the known name
// it most likely meant ("imagesize" -> "image_size", "--modle" -> "--model").
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace trashcl {

// Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`; case is ignored.
int spelling_distance(const std::string& a, const std::string& b);

// The name in `known` nearest to `typed`, if it is close enough to be a likely misspelling: at most 2 edits,
// and fewer than half of the typed name's characters. None for a name that resembles nothing known.
std::optional<std::string> nearest_name(const std::string& typed, const std::vector<std::string>& known);

}  // namespace trashcl
