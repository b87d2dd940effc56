// Concurrent requests are batched into one forward pass and each still gets its own, correct answer.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "serve/batcher.h"
#include "serve_testing.h"

namespace trashcl {
namespace {

using testing::RunningServer;
using testing::tiny_model;
using testing::tiny_serve_options;

constexpr int kClients = 6;

std::string photo(int i) { return testing::jpeg_bytes(synth_image(i % 4, 56 + 8 * i, 48, 500 + static_cast<uint64_t>(i))); }

// The value of one sample line of a Prometheus exposition, e.g. `trashcl_batch_size_count`.
double metric(const std::string& text, const std::string& sample) {
  const std::regex line("(^|\n)" + std::regex_replace(sample, std::regex(R"([{}\\+."])"), R"(\$&)") + R"( ([0-9.e+-]+))");
  std::smatch match;
  if (!std::regex_search(text, match, line)) return -1;
  return std::stod(match[2]);
}

// The answer over HTTP is the predictor's own answer for the photo alone.
void expect_answer(int status, const nlohmann::json& answer, const Prediction& expected, int client) {
  ASSERT_EQ(status, 200) << "client " << client << ": " << answer;
  const auto& top = answer["top"];
  ASSERT_EQ(top.size(), expected.top.size());
  for (size_t j = 0; j < top.size(); ++j) {
    EXPECT_EQ(top[j]["class"], expected.top[j].name) << "client " << client;
    EXPECT_NEAR(top[j]["prob"].get<double>(), expected.top[j].prob, 1e-5) << "client " << client;
  }
  EXPECT_EQ(answer["hash"], expected.hash) << "client " << client;
  EXPECT_EQ(answer["bin"], expected.bin) << "client " << client;
}

TEST(ServeBatching, ConcurrentClientsGetTheirOwnAnswersInSharedBatches) {
  // What each photo gets alone, straight from the predictor.
  Predictor predictor(tiny_model().checkpoint);
  std::vector<Prediction> expected;
  for (int i = 0; i < kClients; ++i) {
    const Image image = predictor.decode_bytes(photo(i), "photo");
    expected.push_back(predictor.predict({&image}, 4)[0]);
  }

  ServeOptions options = tiny_serve_options(false);
  options.max_batch = kClients;
  options.max_wait_ms = 400;  // long enough that requests sent together meet in the queue on a busy machine
  RunningServer server(options);
  // Whether two requests share a pass depends on the scheduler; a few rounds make one that does all but certain.
  std::string text;
  for (int round = 0; round < 5; ++round) {
    std::vector<nlohmann::json> answers(kClients);
    std::vector<int> statuses(kClients, -1);
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back([&, i] {
        auto client = server.client();
        auto result = client->Post("/v1/classify?top_k=4", photo(i), "image/jpeg");
        if (!result) return;
        statuses[i] = result->status;
        answers[i] = nlohmann::json::parse(result->body);
      });
    }
    for (std::thread& client : clients) client.join();
    for (int i = 0; i < kClients; ++i) expect_answer(statuses[i], answers[i], expected[i], i);

    text = server.client()->Get("/metrics")->body;
    if (metric(text, "trashcl_batch_size_count") > metric(text, "trashcl_batch_size_bucket{le=\"1\"}")) break;
  }
  const double batches = metric(text, "trashcl_batch_size_count");
  EXPECT_EQ(std::fmod(metric(text, "trashcl_batch_size_sum"), kClients), 0) << text;
  EXPECT_GT(batches - metric(text, "trashcl_batch_size_bucket{le=\"1\"}"), 0) << "no batch held more than one image\n" << text;
}

TEST(ServeBatching, BatcherWaitsOnlyForAnnouncedImagesAndAnswersItsQueueWhenStopped) {
  Predictor predictor(tiny_model().checkpoint);
  ServeMetrics metrics(4);
  InferenceBatcher batcher(predictor, {4, std::chrono::seconds(30)}, metrics);
  const Image image = predictor.decode_bytes(photo(0), "photo");

  // Alone: nobody else is on the way, so the image does not wait out the 30 s.
  const auto started = std::chrono::steady_clock::now();
  InferenceBatcher::Upcoming alone(batcher);
  EXPECT_EQ(batcher.submit(alone, image, 2).get().top.size(), 2u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));

  // Three announced, two arrive: they wait for the third until stop(), then go together, each cut to its top_k.
  InferenceBatcher::Upcoming first(batcher), second(batcher), never(batcher);
  auto one = batcher.submit(first, image, 1);
  auto three = batcher.submit(second, image, 3);
  EXPECT_EQ(three.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  batcher.stop();
  EXPECT_EQ(one.get().top.size(), 1u);
  EXPECT_EQ(three.get().top.size(), 3u);
  InferenceBatcher::Upcoming late(batcher);
  auto refused = batcher.submit(late, image, 1);
  EXPECT_THROW(refused.get(), InferenceBatcher::ShuttingDown);
  const std::string text = metrics.prometheus_text();
  EXPECT_NE(text.find("trashcl_batch_size_bucket{le=\"1\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("trashcl_batch_size_bucket{le=\"2\"} 2"), std::string::npos) << text;
}

}  // namespace
}  // namespace trashcl
