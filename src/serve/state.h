// What the routes of `trashcl serve` share (the model, the gallery, the batcher, the metrics) and the shape
// of a route; the server (server.cpp) registers the routes of api.cpp and pages.cpp with httplib.
#pragma once
#include <httplib.h>

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "infer/predictor.h"
#include "retrieval/hash_index.h"
#include "serve/batcher.h"
#include "serve/metrics.h"
#include "serve/server.h"

namespace trashcl {

struct ServeState {
  explicit ServeState(const ServeOptions& options);  // throws UserError for the model, the index or a flag

  ServeOptions options;
  Predictor predictor;
  std::optional<HashIndex> index;  // the gallery; empty without --index
  ServeMetrics metrics;
  InferenceBatcher batcher;  // last: it stops (and finishes its queue) before the rest goes away
};

struct Route {
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  // Reads the request body itself through the reader: httplib's own body reading refuses any
  // application/x-www-form-urlencoded body over 8 KiB (curl --data-binary's default type) and parses small
  // ones into query parameters, where an upload route wants the bytes as they came.
  using UploadHandler = std::function<void(const httplib::Request&, httplib::Response&, const httplib::ContentReader&)>;

  std::string method;   // GET or POST
  std::string pattern;  // httplib's regular expression for the path
  std::string label;    // the endpoint's name in /metrics, e.g. "/gallery/:n"
  Handler handle{};     // one of the two
  UploadHandler upload{};
};

// An answer other than 200 that a handler decides on; the server turns it into {"error": message}.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

inline std::string body_too_large_message(int max_body_mb) {
  return "the request body is larger than " + std::to_string(max_body_mb) + " MiB (--max-body-mb); send a smaller image";
}

std::vector<Route> api_routes(ServeState& state);   // /health, /v1/*, /metrics (api.cpp)
std::vector<Route> page_routes(ServeState& state);  // /, the page's files, /gallery/<n> (pages.cpp)

}  // namespace trashcl
