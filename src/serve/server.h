// `trashcl serve`: the HTTP service over one model (and optionally a gallery index) - JSON API, metrics and
// the web page. Endpoints, limits and batching: docs/serving.md.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "infer/int8_calibration.h"

namespace trashcl {

struct ServeOptions {
  std::string model;               // checkpoint
  std::string host = "127.0.0.1";  // local only unless asked: the service has no authentication
  int port = 8080;                 // 0: an ephemeral port (Server::bind returns it)
  std::string index;               // gallery index for /v1/similar; empty: none
  std::string data;                // folder the index's relative image paths start from (its --data)
  std::string device = "cpu";
  int max_batch = 8;               // images per forward pass
  int max_wait_ms = 5;             // how long a request waits for others to batch with
  int max_body_mb = 16;            // larger request bodies get 413
  int workers = 8;                 // HTTP worker threads = connections served at once
  std::optional<std::string> predict_prior;  // unset: the model's own (Config::predict_prior)
  Int8Calibration int8;            // a folder: the backbone runs in int8 on the CPU
};

class Server {
 public:
  // Loads the model and the index; throws UserError naming the file or option at fault.
  explicit Server(const ServeOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port and returns the port (the chosen one for port 0); throws UserError when it cannot.
  int bind();
  // Serves until stop(); returns once the requests in flight are answered.
  void run();
  // Stops accepting connections and makes run() return; callable from any thread, before or during run().
  void stop();
  // http://host:port/ once bound.
  std::string url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trashcl
