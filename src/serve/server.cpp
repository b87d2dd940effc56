#include "serve/server.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <regex>
#include <thread>

#include "common/clock.h"
#include "common/device.h"
#include "common/error.h"
#include "retrieval/encode_images.h"
#include "serve/state.h"

namespace trashcl {
namespace {

const ServeOptions& checked(const ServeOptions& options) {
  auto require = [](bool ok, const std::string& message) {
    if (!ok) throw UserError(message);
  };
  require(options.port >= 0 && options.port <= 65535, fmt::format("--port {}: use 0-65535 (0: any free port)", options.port));
  require(options.max_batch >= 1, fmt::format("--max-batch {}: use 1 or more", options.max_batch));
  require(options.max_wait_ms >= 0, fmt::format("--max-wait-ms {}: use 0 or more", options.max_wait_ms));
  require(options.max_body_mb >= 1, fmt::format("--max-body-mb {}: use 1 or more", options.max_body_mb));
  require(options.workers >= 1, fmt::format("--workers {}: use 1 or more", options.workers));
  require(options.data.empty() || !options.index.empty(), "--data names the gallery's image folder; it needs --index FILE");
  return options;  // --device is checked where it is parsed: chosen_device, in load_predictor below
}

Predictor load_predictor(const ServeOptions& options) {
  const torch::Device device = chosen_device(options.device);
  try {
    PredictorOptions predictor_options;
    predictor_options.load.predict_prior = options.predict_prior;
    predictor_options.int8 = options.int8;
    return Predictor(options.model, device, predictor_options);
  } catch (const c10::Error& error) {  // e.g. cuda:N past the GPUs there are
    throw UserError(fmt::format("{}: cannot run the model on --device {}: {}", options.model, options.device,
                                error.what_without_backtrace()));
  }
}

std::optional<HashIndex> load_index(const ServeOptions& options, const Predictor& predictor) {
  if (options.index.empty()) return std::nullopt;
  HashIndex index = HashIndex::load(options.index);
  require_index_fits_model(index, options.index, predictor, options.model);
  return index;
}

// When the request being answered on this worker thread reached routing; read by the logger for its latency.
// Each connection is served start to end on one worker thread, so a thread-local needs no locking.
thread_local std::optional<Clock::time_point> request_started;

std::string error_json(const std::string& message) { return nlohmann::json{{"error", message}}.dump(); }

}  // namespace

ServeState::ServeState(const ServeOptions& options_in)
    : options(checked(options_in)),
      predictor(load_predictor(options)),
      index(load_index(options, predictor)),
      metrics(options.max_batch),
      batcher(predictor, {options.max_batch, std::chrono::milliseconds(options.max_wait_ms)}, metrics) {}

struct Server::Impl {
  explicit Impl(const ServeOptions& options) : state(options) {}

  struct Registered {
    Route route;
    std::regex path;
  };

  void configure();
  void add(Route route);
  void answer_error(const httplib::Request& req, httplib::Response& res) const;
  const Registered* find(const httplib::Request& req, bool any_method) const;

  ServeState state;
  httplib::Server http;
  std::vector<Registered> routes;
  int port = -1;
  std::atomic<bool> run_entered{false}, run_returned{false}, stop_requested{false};
};

void Server::Impl::configure() {
  const int workers = state.options.workers;
  http.new_task_queue = [workers] { return new httplib::ThreadPool(static_cast<size_t>(workers)); };
  http.set_payload_max_length(static_cast<size_t>(state.options.max_body_mb) * 1024 * 1024);
  http.set_keep_alive_max_count(100);  // httplib's default of 5 makes busy clients reconnect every 5 requests
  // httplib writes the headers and the body of an answer separately; with Nagle's algorithm the body then waits
  // for the client's delayed ACK of the headers (~40-80 ms on Linux, more than the inference itself).
  http.set_tcp_nodelay(true);
  // httplib's default options add SO_REUSEPORT, with which a second server on a taken port starts without an
  // error and the kernel splits the connections between the two; SO_REUSEADDR alone still allows a restart
  // while old connections linger in TIME_WAIT.
  http.set_socket_options([](socket_t sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    request_started = Clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // a route's own JSON error
    answer_error(req, res);
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const Registered* match = find(req, true);
    double seconds = -1;
    if (request_started) seconds = seconds_since(*request_started);
    request_started.reset();
    state.metrics.record_request(match != nullptr ? match->route.label : "unmatched", res.status, seconds);
  });
  for (Route& route : api_routes(state)) add(std::move(route));
  for (Route& route : page_routes(state)) add(std::move(route));
}

namespace {

// Runs a handler so that every error is answered as {"error": ...}: its own HttpError, or anything unforeseen.
template <typename Handle>
void answer_guarded(const httplib::Request& req, httplib::Response& res, const Handle& handle) {
  try {
    handle();
  } catch (const HttpError& error) {
    res.status = error.status();
    res.set_content(error_json(error.what()), "application/json");
  } catch (const std::exception& error) {
    spdlog::error("{} {}: {}", req.method, req.path, error.what());
    res.status = 500;
    res.set_content(error_json(fmt::format("internal error: {}", error.what())), "application/json");
  }
}

}  // namespace

void Server::Impl::add(Route route) {
  if (route.upload) {
    http.Post(route.pattern, [upload = route.upload](const httplib::Request& req, httplib::Response& res,
                                                     const httplib::ContentReader& reader) {
      answer_guarded(req, res, [&] { upload(req, res, reader); });
    });
  } else {
    auto handle = [handler = route.handle](const httplib::Request& req, httplib::Response& res) {
      answer_guarded(req, res, [&] { handler(req, res); });
    };
    if (route.method == "POST") {
      http.Post(route.pattern, handle);
    } else {
      http.Get(route.pattern, handle);
    }
  }
  std::regex path(route.pattern);
  routes.push_back({std::move(route), std::move(path)});
}

const Server::Impl::Registered* Server::Impl::find(const httplib::Request& req, bool any_method) const {
  const std::string method = req.method == "HEAD" ? "GET" : req.method;
  for (const Registered& registered : routes) {
    if ((any_method || registered.route.method == method) && std::regex_match(req.path, registered.path)) return &registered;
  }
  return nullptr;
}

// The errors httplib answers on its own, before or instead of a route, get a JSON body that says what to do.
void Server::Impl::answer_error(const httplib::Request& req, httplib::Response& res) const {
  std::string message;
  // No route for this method but one for the path: 405. httplib says 404 for it, or 400 when it first failed
  // to read a body the method would carry (a PUT without Content-Length).
  const bool unrouted = (res.status == 404 || res.status == 400) && find(req, false) == nullptr;
  const Registered* other_method = unrouted ? find(req, true) : nullptr;
  if (other_method != nullptr) {
    res.status = 405;
    res.set_header("Allow", other_method->route.method);
    message = fmt::format("{} does not take {}; use {}", req.path, req.method, other_method->route.method);
  } else if (res.status == 404) {
    message = fmt::format("no such endpoint: {} {}; see GET /v1/model, POST /v1/classify, POST /v1/similar, GET /metrics",
                          req.method, req.path);
  } else if (res.status == 413) {
    message = body_too_large_message(state.options.max_body_mb);
  } else if (res.status == 400) {
    message = "malformed request: the HTTP request line or headers could not be parsed";
  } else {
    message = fmt::format("HTTP {} for {} {}", res.status, req.method, req.path);
  }
  res.set_content(error_json(message), "application/json");
}

Server::Server(const ServeOptions& options) : impl_(std::make_unique<Impl>(options)) { impl_->configure(); }

Server::~Server() {
  stop();
  impl_->state.batcher.stop();
}

int Server::bind() {
  const ServeOptions& options = impl_->state.options;
  impl_->port = options.port == 0 ? impl_->http.bind_to_any_port(options.host)
                                  : (impl_->http.bind_to_port(options.host, options.port) ? options.port : -1);
  if (impl_->port < 0) {
    throw UserError(fmt::format("--host {} --port {}: cannot listen there (address in use or not on this machine); "
                                "pick another --port, or 0 for any free one", options.host, options.port));
  }
  return impl_->port;
}

void Server::run() {
  impl_->run_entered = true;
  if (!impl_->stop_requested) impl_->http.listen_after_bind();  // returns after the workers finished their requests
  impl_->state.batcher.stop();
  impl_->run_returned = true;
}

void Server::stop() {
  impl_->stop_requested = true;
  // httplib ignores stop() until listen_after_bind() has begun listening; wait for that if run() was entered.
  while (impl_->run_entered && !impl_->run_returned && !impl_->http.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->http.stop();
}

std::string Server::url() const {
  const std::string& host = impl_->state.options.host;
  const bool ipv6 = host.find(':') != std::string::npos;  // a literal IPv6 address goes in brackets in a URL
  return fmt::format("http://{}{}{}:{}", ipv6 ? "[" : "", host, ipv6 ? "]" : "", impl_->port);
}

}  // namespace trashcl
