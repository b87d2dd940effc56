// The web page's static files (web/ in the source tree), built into the binary by a generated .cpp
// (see the "web page" block of CMakeLists.txt), so `trashcl serve` needs no files beside it.
#pragma once
#include <string>
#include <vector>

namespace trashcl {

struct WebAsset {
  std::string name;     // file name in web/, e.g. "app.js"; served at "/<name>" ("/" serves index.html)
  std::string content;  // the file's bytes
};

const std::vector<WebAsset>& web_assets();

}  // namespace trashcl
