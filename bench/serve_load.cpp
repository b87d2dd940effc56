// trashcl_serve_load: load test of a running `trashcl serve`. C connections (one thread each, keep-alive) send
// POST /v1/classify with the same photo back to back for D seconds; prints requests per second and latency
// percentiles, or one JSON document with --json. bench/serve_load.sh starts a server and runs this against it.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "data/encode.h"
#include "data/synth.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string url;           // http://host:port
  std::string image;         // photo to send; empty: a synthetic 512x384 JPEG, TrashNet's size
  std::string path = "/v1/classify";
  int connections = 4;
  double seconds = 10;
  bool json = false;
};

struct ConnectionResult {
  std::vector<double> latencies_ms;  // of the 200 answers
  int64_t errors = 0;                // other statuses and failed connections
};

std::string photo_bytes(const std::string& path) {
  if (path.empty()) {
    const std::vector<uint8_t> bytes = trashcl::encode_jpeg(trashcl::synth_image(0, 512, 384, 1), 90);
    return std::string(bytes.begin(), bytes.end());
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  if (!in || bytes.str().empty()) throw std::runtime_error(path + ": cannot read the image");
  return bytes.str();
}

ConnectionResult run_connection(const Options& options, const std::string& host, int port, const std::string& photo,
                                Clock::time_point deadline) {
  httplib::Client client(host, port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);  // headers and body go out in two writes: without it Nagle delays the body
  client.set_read_timeout(60, 0);
  ConnectionResult result;
  while (Clock::now() < deadline) {
    const auto started = Clock::now();
    const auto answer = client.Post(options.path.c_str(), photo, "image/jpeg");
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    if (answer && answer->status == 200) {
      result.latencies_ms.push_back(ms);
    } else {
      ++result.errors;
      if (!answer) std::this_thread::sleep_for(std::chrono::milliseconds(10));  // do not spin on a dead server
    }
  }
  return result;
}

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<size_t>(fraction * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

int run(const Options& options) {
  std::smatch match;
  if (!std::regex_match(options.url, match, std::regex(R"(http://([^/:]+):(\d+)/?)"))) {
    std::cerr << "error: --url " << options.url << ": write http://HOST:PORT (the line `trashcl serve` prints)\n";
    return 1;
  }
  const std::string host = match[1];
  const int port = std::stoi(match[2]);
  const std::string photo = photo_bytes(options.image);

  httplib::Client warm_up(host, port);  // the first forward pass allocates; keep it out of the figures
  warm_up.set_read_timeout(60, 0);
  const auto first = warm_up.Post(options.path.c_str(), photo, "image/jpeg");
  if (!first || first->status != 200) {
    std::cerr << "error: " << options.url << options.path << ": "
              << (first ? fmt::format("HTTP {}: {}", first->status, first->body) : httplib::to_string(first.error())) << '\n';
    return 1;
  }

  const auto started = Clock::now();
  const auto deadline = started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.seconds));
  std::vector<ConnectionResult> results(static_cast<size_t>(options.connections));
  std::vector<std::thread> threads;
  for (size_t c = 0; c < results.size(); ++c) {
    threads.emplace_back([&, c] { results[c] = run_connection(options, host, port, photo, deadline); });
  }
  for (std::thread& thread : threads) thread.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();

  std::vector<double> latencies;
  int64_t errors = 0;
  for (const ConnectionResult& result : results) {
    latencies.insert(latencies.end(), result.latencies_ms.begin(), result.latencies_ms.end());
    errors += result.errors;
  }
  std::sort(latencies.begin(), latencies.end());
  const nlohmann::json report{{"url", options.url + options.path},
                              {"connections", options.connections},
                              {"seconds", elapsed},
                              {"image_bytes", photo.size()},
                              {"requests", latencies.size()},
                              {"errors", errors},
                              {"requests_per_second", static_cast<double>(latencies.size()) / elapsed},
                              {"p50_ms", percentile(latencies, 0.50)},
                              {"p90_ms", percentile(latencies, 0.90)},
                              {"p99_ms", percentile(latencies, 0.99)},
                              {"max_ms", latencies.empty() ? 0.0 : latencies.back()}};
  if (options.json) {
    std::cout << report.dump() << '\n';
  } else {
    std::cout << fmt::format("{} requests in {:.1f} s over {} connections ({} errors): {:.1f} req/s\n"
                             "latency p50 {:.1f} ms, p90 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms\n",
                             latencies.size(), elapsed, options.connections, errors, report["requests_per_second"].get<double>(),
                             report["p50_ms"].get<double>(), report["p90_ms"].get<double>(), report["p99_ms"].get<double>(),
                             report["max_ms"].get<double>());
  }
  return errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"load test of a running `trashcl serve`: requests per second and latency percentiles"};
  app.add_option("--url", options.url, "the server, http://HOST:PORT")->required();
  app.add_option("--image", options.image, "photo to send (default: a synthetic 512x384 JPEG)");
  app.add_option("--endpoint", options.path, "/v1/classify or /v1/similar")->capture_default_str();
  app.add_option("--connections", options.connections, "concurrent connections")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--seconds", options.seconds, "how long to send requests")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_flag("--json", options.json, "one JSON document instead of the two lines");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(options);
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << '\n';
    return 1;
  }
}
