#include "common/spelling.h"

#include <algorithm>
#include <cctype>

namespace trashcl {

int spelling_distance(const std::string& a, const std::string& b) {
  auto lower = [](char c) { return std::tolower(static_cast<unsigned char>(c)); };
  auto same = [&](char x, char y) { return lower(x) == lower(y); };
  // d[i][j]: edits between the first i characters of a and the first j of b (optimal string alignment).
  std::vector<std::vector<int>> d(a.size() + 1, std::vector<int>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = static_cast<int>(i);
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (same(a[i - 1], b[j - 1]) ? 0 : 1)});
      if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) && same(a[i - 2], b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::optional<std::string> nearest_name(const std::string& typed, const std::vector<std::string>& known) {
  std::optional<std::string> nearest;
  int nearest_distance = std::min(2, (static_cast<int>(typed.size()) - 1) / 2);
  for (const auto& name : known) {
    const int distance = spelling_distance(typed, name);
    if (distance <= nearest_distance && (!nearest || distance < nearest_distance)) {
      nearest = name;
      nearest_distance = distance;
    }
  }
  return nearest;
}

}  // namespace trashcl
