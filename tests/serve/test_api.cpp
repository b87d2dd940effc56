// The HTTP API of `trashcl serve`, against a real server on 127.0.0.1: every endpoint, and every kind of bad
// request answered with the right 4xx and a JSON {"error"} while the server keeps serving.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "serve_testing.h"
#include "support/image_variants.h"

namespace trashcl {
namespace {

using testing::json_of;
using testing::post_image;
using testing::RunningServer;
using testing::tiny_classes;
using testing::tiny_model;
using testing::tiny_serve_options;

std::string good_jpeg() { return testing::jpeg_bytes(synth_image(0, 64, 48, 101)); }

void expect_classification(const nlohmann::json& body, size_t top_k) {
  ASSERT_EQ(body["top"].size(), top_k) << body;
  const auto& classes = tiny_classes();
  for (const auto& entry : body["top"]) {
    EXPECT_NE(std::find(classes.begin(), classes.end(), entry["class"].get<std::string>()), classes.end()) << body;
    EXPECT_GE(entry["prob"].get<double>(), 0.0);
    EXPECT_LE(entry["prob"].get<double>(), 1.0);
  }
  EXPECT_GE(body["top"][0]["prob"].get<double>(), body["top"][top_k - 1]["prob"].get<double>());
  EXPECT_EQ(body["hash"].get<std::string>().size(), 16u);  // 16 bits -> one 64-bit word as hex
  EXPECT_GE(body["latency_ms"].get<double>(), 0.0);
  EXPECT_TRUE(body["bin"].is_string());
}

// status and a JSON body {"error": non-empty string}
void expect_error(const httplib::Result& result, int status, const std::string& needle = "") {
  ASSERT_TRUE(result) << "no answer: " << httplib::to_string(result.error());
  EXPECT_EQ(result->status, status) << result->body;
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
  const auto body = nlohmann::json::parse(result->body, nullptr, false);
  ASSERT_TRUE(body.is_object() && body.contains("error")) << result->body;
  EXPECT_FALSE(body["error"].get<std::string>().empty());
  EXPECT_NE(body["error"].get<std::string>().find(needle), std::string::npos) << body;
}

TEST(ServeApi, PredictPriorChosenAtStartIsReported) {
  ServeOptions options = tiny_serve_options(false);
  options.predict_prior = "uniform";
  RunningServer server(options);
  EXPECT_EQ(json_of(server.client()->Get("/v1/model"))["predict_prior"], "uniform");
}

TEST(ServeApi, Int8BackboneChosenAtStartIsReportedAndClassifies) {
  testing::TempDir dir;
  testing::write_bytes(dir / "calibration" / "glass" / "a.jpg", good_jpeg());
  ServeOptions options = tiny_serve_options(false);
  options.int8.folder = (dir / "calibration").string();
  RunningServer server(options);
  auto client = server.client();
  EXPECT_EQ(json_of(client->Get("/v1/model"))["backbone_path"], "int8");
  auto classified = client->Post("/v1/classify?top_k=2", good_jpeg(), "application/octet-stream");
  ASSERT_TRUE(classified);
  ASSERT_EQ(classified->status, 200) << classified->body;
  expect_classification(json_of(classified), 2);
}

TEST(ServeApi, HealthModelAndClassify) {
  RunningServer server(tiny_serve_options(false));
  auto client = server.client();
  auto health = client->Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(json_of(health), nlohmann::json({{"status", "ok"}}));

  auto model = client->Get("/v1/model");
  ASSERT_TRUE(model);
  const auto info = json_of(model);
  EXPECT_EQ(info["classes"], nlohmann::json(tiny_classes()));
  EXPECT_EQ(info["bins"], nlohmann::json({"recyclable", "kitchen", "hazardous", "other"}));
  EXPECT_EQ(info["image_size"], 32);
  EXPECT_EQ(info["hash_bits"], 16);
  EXPECT_EQ(info["format_version"], kCheckpointFormatVersion);
  EXPECT_EQ(info["predict_prior"], "train");  // the model's own
  EXPECT_NE(info["backbone_path"], "int8");      // float unless --int8-calibration
  EXPECT_EQ(info["gallery"]["loaded"], false);

  auto multipart = post_image(*client, "/v1/classify?top_k=2", good_jpeg());
  ASSERT_TRUE(multipart);
  ASSERT_EQ(multipart->status, 200) << multipart->body;
  expect_classification(json_of(multipart), 2);

  // The same photo as the raw body, any content type: the same answer.
  auto raw = client->Post("/v1/classify?top_k=2", good_jpeg(), "application/octet-stream");
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->status, 200) << raw->body;
  EXPECT_EQ(json_of(raw)["top"], json_of(multipart)["top"]);
  EXPECT_EQ(json_of(raw)["hash"], json_of(multipart)["hash"]);

  auto all = client->Post("/v1/classify?top_k=50", good_jpeg(), "image/jpeg");  // clamped to the 4 classes
  ASSERT_TRUE(all);
  expect_classification(json_of(all), 4);

  // curl --data-binary @photo.jpg sends application/x-www-form-urlencoded; a photo is far over httplib's
  // 8 KiB limit for such bodies, and must still be read as an image.
  const std::string large = testing::jpeg_bytes(synth_image(1, 480, 360, 7));
  ASSERT_GT(large.size(), 8192u);
  auto form_typed = client->Post("/v1/classify", large, "application/x-www-form-urlencoded");
  ASSERT_TRUE(form_typed);
  EXPECT_EQ(form_typed->status, 200) << form_typed->body;

  // An answer given before the image is used still reads the whole body: the next request on the same
  // keep-alive connection is understood.
  client->set_keep_alive(true);
  expect_error(post_image(*client, "/v1/similar", large), 409, "--index");
  auto next = client->Post("/v1/classify", large, "image/jpeg");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200) << next->body;
}

TEST(ServeApi, BadRequestsGetJsonErrorsAndTheServerCarriesOn) {
  ServeOptions options = tiny_serve_options(false);
  options.max_body_mb = 1;
  RunningServer server(options);
  auto client = server.client();
  const std::string jpeg = good_jpeg();

  expect_error(client->Post("/v1/classify", "", "image/jpeg"), 400, "empty");
  expect_error(client->Post("/v1/classify", "hello, not an image", "text/plain"), 400, "not a usable image");
  expect_error(client->Post("/v1/classify", jpeg.substr(0, jpeg.size() / 2), "image/jpeg"), 400, "not a usable image");
  const std::string bomb = testing::patch_png_dimensions(
      testing::png_variant(testing::smooth_image(16, 16), testing::PngKind::grey8), 60000, 60000);
  expect_error(client->Post("/v1/classify", bomb, "image/png"), 400, "pixel");
  const httplib::MultipartFormDataItems wrong_field{{"photo", jpeg, "photo.jpg", "image/jpeg"}};
  expect_error(client->Post("/v1/classify", wrong_field), 400, "'image'");
  const std::string cut_form = "--b0und\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nxyz";
  expect_error(client->Post("/v1/classify", cut_form, "multipart/form-data; boundary=b0und"), 400, "multipart");
  expect_error(client->Post("/v1/classify", std::string(1536 * 1024, 'x'), "image/jpeg"), 413, "--max-body-mb");
  expect_error(client->Post("/v1/classify?top_k=0", jpeg, "image/jpeg"), 400, "top_k");
  expect_error(client->Post("/v1/classify?top_k=two", jpeg, "image/jpeg"), 400, "top_k");
  expect_error(client->Get("/v1/nothing-here"), 404, "no such endpoint");
  expect_error(client->Get("/gallery/0"), 404, "--index");
  auto wrong_method = client->Get("/v1/classify");
  expect_error(wrong_method, 405, "POST");
  EXPECT_EQ(wrong_method->get_header_value("Allow"), "POST");
  expect_error(client->Delete("/health"), 405, "GET");
  // A request httplib cannot parse is rejected before routing, and still the answer is JSON.
  const std::string garbage = testing::raw_exchange(server.port(), "NONSENSE\r\n\r\n");
  EXPECT_EQ(garbage.rfind("HTTP/1.1 400", 0), 0u) << garbage;
  EXPECT_NE(garbage.find("{\"error\":\"malformed request"), std::string::npos) << garbage;

  auto after = client->Post("/v1/classify", jpeg, "image/jpeg");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200) << after->body;

  // Every answer above is counted by endpoint and status. A request is counted once its answer has gone out, so
  // the last ones may reach /metrics a moment after their client has read the answer: ask until all are there.
  const std::vector<std::string> expected_lines{
      "trashcl_requests_total{endpoint=\"/v1/classify\",status=\"400\"} 8",
      "trashcl_requests_total{endpoint=\"/v1/classify\",status=\"413\"} 1",
      "trashcl_requests_total{endpoint=\"/v1/classify\",status=\"405\"} 1",
      "trashcl_requests_total{endpoint=\"/v1/classify\",status=\"200\"} 1",
      "trashcl_requests_total{endpoint=\"unmatched\",status=\"404\"} 1",
      "trashcl_request_errors_total{endpoint=\"/v1/classify\"} 10",
      "trashcl_request_duration_seconds_bucket{endpoint=\"/v1/classify\",le=\"+Inf\"}",
      "# TYPE trashcl_batch_size histogram",
      "trashcl_batch_size_count 1"};
  auto all_counted = [&](const std::string& text) {
    return std::all_of(expected_lines.begin(), expected_lines.end(),
                       [&](const std::string& line) { return text.find(line) != std::string::npos; });
  };
  std::string metrics;
  for (int attempt = 0; attempt < 100; ++attempt) {  // 5 s at the most
    auto answer = client->Get("/metrics");
    ASSERT_TRUE(answer);
    metrics = answer->body;
    if (all_counted(metrics)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (const std::string& line : expected_lines) {
    EXPECT_NE(metrics.find(line), std::string::npos) << line << "\n" << metrics;
  }
}

TEST(ServeApi, SimilarFindsTheGalleryPhotoAndServesItsImage) {
  RunningServer server(tiny_serve_options(true));
  auto client = server.client();
  EXPECT_EQ(json_of(client->Get("/v1/model"))["gallery"], nlohmann::json({{"loaded", true}, {"size", 8}}));

  const auto& model = tiny_model();
  const std::string photo = testing::jpeg_bytes(synth_image(2, 64, 48, 2));  // gallery item 2, byte for byte
  auto similar = post_image(*client, "/v1/similar?k=3&top_k=1", photo);
  ASSERT_TRUE(similar);
  ASSERT_EQ(similar->status, 200) << similar->body;
  const auto body = json_of(similar);
  expect_classification(body, 1);
  ASSERT_EQ(body["similar"].size(), 3u) << body;
  EXPECT_EQ(body["similar"][0]["distance"], 0);  // the photo itself is in the gallery
  bool found_itself = false;
  for (const auto& match : body["similar"]) {
    EXPECT_LE(body["similar"][0]["distance"].get<int64_t>(), match["distance"].get<int64_t>());
    const auto item = match["item"].get<size_t>();
    EXPECT_EQ(match["path"], model.gallery_files[item]);
    EXPECT_EQ(match["url"], "/gallery/" + std::to_string(item));
    found_itself = found_itself || (item == 2 && match["distance"] == 0);
  }
  EXPECT_TRUE(found_itself) << body;

  auto image = client->Get("/gallery/2");
  ASSERT_TRUE(image);
  EXPECT_EQ(image->status, 200);
  EXPECT_EQ(image->get_header_value("Content-Type"), "image/jpeg");
  EXPECT_EQ(image->body, photo);
  expect_error(client->Get("/gallery/8"), 404, "items 0 to 7");
  expect_error(client->Get("/gallery/99999999999999999999"), 404);
  expect_error(client->Get("/gallery/..%2F..%2Fetc%2Fpasswd"), 404, "no such endpoint");
  expect_error(post_image(*client, "/v1/similar?k=1000", photo), 400, "k=1000");
}

TEST(ServeApi, WebPageAndItsFilesAreBuiltIn) {
  RunningServer server(tiny_serve_options(false));
  auto client = server.client();
  auto page = client->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  for (const char* needle : {"id=\"file\"", "capture=\"environment\"", "id=\"result-class\"", "id=\"result-bin\"",
                             "name=\"viewport\"", "/app.js", "/style.css"}) {
    EXPECT_NE(page->body.find(needle), std::string::npos) << needle;
  }
  EXPECT_EQ(page->body.find("http"), std::string::npos) << "the page must load nothing from other sites";
  auto script = client->Get("/app.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_NE(script->get_header_value("Content-Type").find("javascript"), std::string::npos);
  auto style = client->Get("/style.css");
  ASSERT_TRUE(style);
  EXPECT_EQ(style->status, 200);
  for (const char* bin : {".bin-recyclable", ".bin-kitchen", ".bin-hazardous", ".bin-other"}) {
    EXPECT_NE(style->body.find(bin), std::string::npos) << bin;
  }
}

TEST(ServeApi, StartupRefusesAnIndexOfOtherCodesAndMissingFiles) {
  testing::TempDir dir;
  HashIndex(32).save(dir / "wide.idx");
  ServeOptions options = tiny_serve_options(false);
  options.index = (dir / "wide.idx").string();
  try {
    Server server(options);
    FAIL() << "a 32-bit index with a 16-bit model must be refused";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("32-bit"), std::string::npos) << error.what();
  }
  options.index = (dir / "missing.idx").string();
  EXPECT_THROW(Server{options}, UserError);
  options = tiny_serve_options(false);
  options.model = (dir / "missing.ckpt").string();
  EXPECT_THROW(Server{options}, UserError);
}

}  // namespace
}  // namespace trashcl
