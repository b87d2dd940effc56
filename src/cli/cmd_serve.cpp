// trashcl serve: the HTTP service and web page over one model (src/serve/, docs/serving.md).
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "common/error.h"
#include "serve/server.h"

namespace trashcl {
namespace {

// SIGTERM and SIGINT stop the server gracefully. A signal handler may do almost nothing safely, so it only
// writes a byte to a pipe; a watcher thread waits on the pipe and calls Server::stop().
int stop_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int) {
  const char byte = 1;
  [[maybe_unused]] const ssize_t written = ::write(stop_pipe[1], &byte, 1);
}

void install_stop_signals() {
  if (::pipe(stop_pipe) != 0) throw UserError("cannot create the pipe that SIGTERM/SIGINT handling needs");
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up mid-answer must not end the process
}

void run_serve(const ServeOptions& options, int threads) {
  set_compute_threads(threads);
  install_stop_signals();
  Server server(options);
  server.bind();
  // The first line on stdout is the address, so scripts and tests started with --port 0 can find the server.
  std::cout << "listening on " << server.url() << std::endl;
  std::thread watcher([&server] {
    char byte = 0;
    while (::read(stop_pipe[0], &byte, 1) < 0 && errno == EINTR) {
    }
    if (byte == 1) spdlog::info("stopping: finishing the requests in flight");
    server.stop();
  });
  server.run();
  const char wake = 0;  // run() ended without a signal: let the watcher go
  [[maybe_unused]] const ssize_t written = ::write(stop_pipe[1], &wake, 1);
  watcher.join();
  spdlog::info("stopped");
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto options = std::make_shared<ServeOptions>();
  auto threads = std::make_shared<int>(0);
  CLI::App* command = app.add_subcommand("serve", "HTTP service and web page: classify photos, find similar gallery images");
  command->add_option("--model", options->model, "checkpoint, or a run folder (its best.ckpt)")->required();
  command->add_option("--host", options->host, "address to listen on (0.0.0.0: every interface; there is no authentication)")
      ->capture_default_str();
  command->add_option("--port", options->port, "port (0: any free one; the first line on stdout names it)")
      ->capture_default_str()->check(CLI::Range(0, 65535));
  command->add_option("--index", options->index, "gallery index (`trashcl index build`) for /v1/similar");
  command->add_option("--data", options->data, "the gallery's folder (index build's --data, wherever it is now), to serve its images to the page");
  command->add_option("--device", options->device, "cpu or cuda")->capture_default_str();
  add_predict_prior_option(*command, options->predict_prior);
  add_int8_options(*command, options->int8);
  add_compute_threads_option(*command, *threads);
  add_number_option(*command, "--max-batch", options->max_batch, "images per forward pass at most",
                    NumberBound::positive);
  add_number_option(*command, "--max-wait-ms", options->max_wait_ms,
                    "how long a request waits for others to share its batch", NumberBound::non_negative);
  add_number_option(*command, "--max-body-mb", options->max_body_mb, "largest request body in MiB (larger: 413)",
                    NumberBound::positive);
  add_number_option(*command, "--workers", options->workers, "HTTP worker threads: connections served at once",
                    NumberBound::positive);
  command->callback([options, threads] { run_serve(*options, *threads); });
}

}  // namespace trashcl
