// The web page: GET / (index.html), the page's other files (built into the binary), and GET /gallery/<n>,
// the n-th image of the loaded index, so the page can show the most similar gallery photos.
#include <fmt/format.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "data/decode.h"
#include "serve/state.h"
#include "serve/web_assets.h"

namespace trashcl {
namespace {

std::string content_type_for(const std::string& name) {
  const std::string extension = std::filesystem::path(name).extension().string();
  if (extension == ".html") return "text/html; charset=utf-8";
  if (extension == ".js") return "text/javascript; charset=utf-8";
  if (extension == ".css") return "text/css; charset=utf-8";
  if (extension == ".svg") return "image/svg+xml";
  if (extension == ".json" || extension == ".webmanifest") return "application/json";
  return "application/octet-stream";
}

// httplib routes are regular expressions; a file name is matched literally.
std::string literal_pattern(const std::string& text) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(text, special, R"(\$&)");
}

Route asset_route(const WebAsset& asset) {
  const std::string path = asset.name == "index.html" ? "/" : "/" + asset.name;
  const std::string type = content_type_for(asset.name);
  return {"GET", literal_pattern(path), asset.name == "index.html" ? "/" : "/static",
          [&asset, type](const httplib::Request&, httplib::Response& res) {
            // The files change with the binary, not while it runs; no-cache makes a browser revalidate after
            // an upgrade instead of mixing an old script with a new page.
            res.set_header("Cache-Control", "no-cache");
            res.set_content(asset.content, type.c_str());
          }};
}

// Only an item of the loaded index can be read: the number picks it, and no part of the URL becomes a path.
void send_gallery_image(const ServeState& state, const httplib::Request& req, httplib::Response& res) {
  if (!state.index) throw HttpError(404, "no gallery index is loaded; start the server with --index FILE");
  const std::string number = req.matches[1];
  const long long item = number.size() > 12 ? -1 : std::stoll(number);
  if (item < 0 || item >= state.index->size()) {
    throw HttpError(404, fmt::format("no gallery item {}; the index holds items 0 to {}", number, state.index->size() - 1));
  }
  const GalleryItem& gallery_item = state.index->items()[static_cast<size_t>(item)];
  const std::filesystem::path file = locate_gallery_file(gallery_item.path, state.options.data);
  std::ifstream in(file, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string content = bytes.str();
  if (!in || content.empty()) {
    throw HttpError(404, fmt::format("gallery item {}: cannot read {}; start the server with --data DIR, the "
                                     "gallery's folder (the --data of `index build`)", item, file.string()));
  }
  const ImageFormat format = sniff_format(reinterpret_cast<const uint8_t*>(content.data()), content.size());
  const char* type = format == ImageFormat::jpeg ? "image/jpeg" : format == ImageFormat::png ? "image/png"
                                                                                               : "application/octet-stream";
  res.set_header("Cache-Control", "max-age=3600");
  res.set_content(content, type);
}

}  // namespace

std::vector<Route> page_routes(ServeState& state) {
  std::vector<Route> routes;
  for (const WebAsset& asset : web_assets()) routes.push_back(asset_route(asset));
  routes.push_back({"GET", R"(/gallery/(\d+))", "/gallery/:n",
                    [&state](const httplib::Request& req, httplib::Response& res) { send_gallery_image(state, req, res); }});
  return routes;
}

}  // namespace trashcl
