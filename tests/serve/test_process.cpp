// `trashcl serve` as a user runs it: the address on stdout's first line, a graceful stop on SIGTERM, and
// exit status 1 with a clear message for bad flags.
#include <gtest/gtest.h>

#include <regex>

#include "child_process.h"
#include "serve_testing.h"
#include "support/run_command.h"

namespace trashcl {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::run_trashcl;
using testing::shell_quote;
using testing::tiny_model;

TEST(ServeProcess, PrintsItsAddressAndStopsGracefullyOnSigterm) {
  ChildProcess serve({TRASHCL_BINARY, "serve", "--model", tiny_model().checkpoint.string(), "--port", "0", "--threads", "1"},
                     ChildProcess::Output::pipe);
  const auto line = serve.read_line(60s);
  ASSERT_TRUE(line) << "no address on stdout";
  std::smatch match;
  ASSERT_TRUE(std::regex_match(*line, match, std::regex(R"(listening on http://127\.0\.0\.1:(\d+))"))) << *line;
  const int port = std::stoi(match[1]);

  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30, 0);
  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  // An upload that is half sent when SIGTERM arrives is still received, classified and answered.
  const std::string photo = testing::jpeg_bytes(synth_image(1, 64, 48, 9));
  testing::RawConnection upload(port);
  ASSERT_TRUE(upload.send("POST /v1/classify HTTP/1.1\r\nHost: t\r\nContent-Type: image/jpeg\r\nContent-Length: " +
                          std::to_string(photo.size()) + "\r\n\r\n" + photo.substr(0, photo.size() / 2)));
  std::this_thread::sleep_for(300ms);
  serve.signal(SIGTERM);
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(upload.send(photo.substr(photo.size() / 2)));
  const std::string answer = upload.answer();
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_NE(answer.find("\"top\""), std::string::npos) << answer;
  EXPECT_EQ(serve.wait(30s), std::optional<int>(0));
  httplib::Client after("127.0.0.1", port);
  after.set_connection_timeout(2, 0);
  EXPECT_FALSE(after.Get("/health")) << "still answering after SIGTERM";
}

TEST(ServeProcess, BadFlagsExitWithStatusOneAndSayWhy) {
  const std::string model = shell_quote(tiny_model().checkpoint.string());
  auto missing = run_trashcl("serve --port 0 --model /nonexistent/tiny.ckpt");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("/nonexistent/tiny.ckpt"), std::string::npos) << missing.err;

  auto bad_port = run_trashcl("serve --model " + model + " --port 70000");
  EXPECT_EQ(bad_port.exit_code, 1);
  EXPECT_NE(bad_port.err.find("--port"), std::string::npos) << bad_port.err;

  auto no_index = run_trashcl("serve --model " + model + " --port 0 --index /nonexistent/gallery.idx");
  EXPECT_EQ(no_index.exit_code, 1);
  EXPECT_NE(no_index.err.find("/nonexistent/gallery.idx"), std::string::npos) << no_index.err;

  testing::RunningServer taken(testing::tiny_serve_options(false));
  auto busy = run_trashcl("serve --model " + model + " --port " + std::to_string(taken.port()));
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_NE(busy.err.find("cannot listen"), std::string::npos) << busy.err;
}

}  // namespace
}  // namespace trashcl
