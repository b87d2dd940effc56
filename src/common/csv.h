// CSV fields as RFC 4180 has them: commas, quotes and line breaks inside double quotes.
#pragma once
#include <string>
#include <vector>

namespace trashcl {

// The fields of one line (a trailing carriage return is dropped).
std::vector<std::string> parse_csv_line(const std::string& line);

// `value` quoted when it holds a comma, a quote or a line break; as it is otherwise.
std::string csv_field(const std::string& value);

}  // namespace trashcl
