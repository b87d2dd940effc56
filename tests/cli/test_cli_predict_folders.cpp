// `predict` and `search` given folders: every image under a folder, in sorted order, batch by batch.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "serve/serve_testing.h"
#include "support/run_command.h"

namespace trashcl {
namespace {

using testing::jpeg_bytes;
using testing::run_trashcl;
using testing::shell_quote;
using testing::TempDir;
using testing::tiny_model;
using testing::write_bytes;

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> records;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) records.push_back(nlohmann::json::parse(line));
  return records;
}

TEST(CliPredictFolders, AFolderStandsForEveryImageUnderItInSortedOrder) {
  TempDir dir;
  const auto photos = dir / "photos";
  write_bytes(photos / "b/2.jpg", jpeg_bytes(synth_image(0, 64, 48, 1)));
  write_bytes(photos / "a.jpg", jpeg_bytes(synth_image(1, 64, 48, 2)));
  write_bytes(photos / "b/10", jpeg_bytes(synth_image(2, 64, 48, 3)));  // no extension: found by its bytes
  write_bytes(photos / "c/broken.jpg", "\xFF\xD8\xFF truncated");        // named like a photo: reported
  write_bytes(photos / "notes.txt", "not a photo");                      // neither: left out
  write_bytes(photos / ".thumbs/a.jpg", jpeg_bytes(synth_image(1, 64, 48, 2)));
  std::filesystem::create_directories(dir / "empty");
  const std::string model = "predict --model " + shell_quote(tiny_model().checkpoint.string());

  const auto result = run_trashcl(model + " --batch-size 2 " + shell_quote(photos.string()) + " " +
                                  shell_quote((dir / "empty").string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<nlohmann::json> records = json_lines(result.out);
  std::vector<std::string> paths;
  for (const auto& record : records) paths.push_back(record["path"].get<std::string>());
  EXPECT_EQ(paths, (std::vector<std::string>{(photos / "a.jpg").string(), (photos / "b/10").string(),
                                             (photos / "b/2.jpg").string(), (photos / "c/broken.jpg").string(),
                                             (dir / "empty").string()}));
  ASSERT_EQ(records.size(), 5u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(records[i]["top"].size(), 3u) << records[i];
  EXPECT_TRUE(records[3].contains("error") && !records[3].contains("top")) << records[3];
  EXPECT_EQ(records[4]["error"], "a folder with no images in it");

  // One image per forward pass gives the same records as batches of two, to float precision.
  const auto single = run_trashcl(model + " --batch-size 1 " + shell_quote(photos.string()));
  ASSERT_EQ(single.exit_code, 0) << single.err;
  const std::vector<nlohmann::json> one_by_one = json_lines(single.out);
  ASSERT_EQ(one_by_one.size(), 4u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(one_by_one[i]["path"], records[i]["path"]);
    EXPECT_EQ(one_by_one[i]["hash"], records[i]["hash"]) << records[i];
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(one_by_one[i]["top"][k]["class"], records[i]["top"][k]["class"]) << records[i];
      EXPECT_NEAR(one_by_one[i]["top"][k]["prob"].get<double>(), records[i]["top"][k]["prob"].get<double>(), 1e-4);
    }
  }
}

TEST(CliPredictFolders, SearchFindsEachGalleryImageOfAFolderAtDistanceZero) {
  const auto result = run_trashcl("search --json --k 2 --batch-size 3 --model " +
                                  shell_quote(tiny_model().checkpoint.string()) + " --index " +
                                  shell_quote(tiny_model().index.string()) + " " +
                                  shell_quote(tiny_model().gallery.string()));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto results = nlohmann::json::parse(result.out)["results"];
  ASSERT_EQ(results.size(), tiny_model().gallery_files.size());
  for (const auto& record : results) {
    ASSERT_EQ(record["neighbours"].size(), 2u) << record;
    EXPECT_EQ(record["neighbours"][0]["distance"], 0) << record;  // the query is in the gallery
  }
}

}  // namespace
}  // namespace trashcl
