// index build -> search -> index eval through the commands, on a tiny untrained model and generated images.
// The commands run in-process (CLI::App), so this test needs no trashcl binary.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/commands.h"
#include "common/config.h"
#include "common/error.h"
#include "data/dataset.h"
#include "data/synth.h"
#include "retrieval/hash_index.h"
#include "support/test_support.h"
#include "support/tiny_model.h"

namespace trashcl {
namespace {

using testing::TempDir;

// A checkpoint of a randomly initialised tiny model: its codes are arbitrary but fixed, which is all that
// building and searching an index needs.
void write_tiny_checkpoint(const std::filesystem::path& path, const std::string& features, int hash_bits) {
  Config config = testing::tiny_model_config();
  config.features = features;
  config.hash_bits = hash_bits;
  config.flip_test = false;
  testing::write_untrained_checkpoint(path, config, synth_class_names(3), {6, 6, 6}, 0);
}

// Runs `trashcl <args>` in this process and returns its stdout; a UserError propagates.
std::string run_cli(std::vector<std::string> args) {
  CLI::App app;
  app.require_subcommand(1);
  add_index_command(app);
  add_search_command(app);
  std::string program = "trashcl";
  std::vector<char*> argv{program.data()};
  for (std::string& arg : args) argv.push_back(arg.data());
  ::testing::internal::CaptureStdout();
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (...) {
    ::testing::internal::GetCapturedStdout();
    throw;
  }
  std::cout.flush();
  return ::testing::internal::GetCapturedStdout();
}

// The UserError message of a command expected to fail (empty if it succeeded).
std::string error_of(std::vector<std::string> args) {
  try {
    run_cli(std::move(args));
  } catch (const UserError& error) {
    return error.what();
  }
  return "";
}

class IndexEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    write_synth_dataset(data_, {3, 8, 48, 0});
    write_split_csv(split_, make_stratified_split(list_image_folder(data_), SplitRatios{}, 0));
    testing::write_bytes(data_ / "box/zz_broken.jpg", "\xFF\xD8\xFF truncated");  // in the folder, not the split
    write_tiny_checkpoint(model_, "hash", 48);  // 48 bits: not a multiple of 64
  }
  TempDir dir_;
  std::filesystem::path data_ = dir_ / "data", split_ = dir_ / "split.csv", model_ = dir_ / "model.ckpt";
  std::filesystem::path index_ = dir_ / "gallery.idx";
};

TEST_F(IndexEndToEnd, BuildSearchAndEvaluate) {
  const auto built = nlohmann::json::parse(run_cli({"index", "build", "--model", model_.string(), "--data",
                                                    data_.string(), "--out", index_.string(), "--json", "--threads", "2"}));
  EXPECT_EQ(built["items"], 24);
  EXPECT_EQ(built["bits"], 48);
  EXPECT_EQ(built["skipped"], 1);
  EXPECT_NE(built["bad_files"][0]["path"].get<std::string>().find("zz_broken.jpg"), std::string::npos);
  const HashIndex index = HashIndex::load(index_);
  ASSERT_EQ(index.size(), 24);
  EXPECT_EQ(index.class_names(), synth_class_names(3));
  const GalleryItem query = index.items()[9];
  EXPECT_FALSE(query.label.empty());

  const auto found = nlohmann::json::parse(run_cli({"search", "--model", model_.string(), "--index", index_.string(),
                                                    "--k", "24", "--json", query.path,
                                                    (data_ / "box/zz_broken.jpg").string()}));
  ASSERT_EQ(found["results"].size(), 2u);
  const auto& neighbours = found["results"][0]["neighbours"];
  ASSERT_EQ(neighbours.size(), 24u);
  EXPECT_EQ(neighbours[0]["distance"], 0);  // the query image itself is in the gallery
  bool found_itself = false;
  for (const auto& neighbour : neighbours) {
    EXPECT_GE(neighbour["distance"].get<int64_t>(), neighbours[0]["distance"].get<int64_t>());
    found_itself |= neighbour["path"] == query.path && neighbour["distance"] == 0;
  }
  EXPECT_TRUE(found_itself);
  EXPECT_TRUE(found["results"][1].contains("error"));
  EXPECT_FALSE(found["results"][1].contains("neighbours"));
  EXPECT_NE(run_cli({"search", "--model", model_.string(), "--index", index_.string(), "--k", "2", query.path})
                .find("distance"), std::string::npos);  // the human table

  const auto quality = nlohmann::json::parse(run_cli({"index", "eval", "--model", model_.string(), "--data",
                                                      data_.string(), "--split", split_.string(), "--json"}));
  EXPECT_EQ(quality["bits"], 48);
  EXPECT_GT(quality["queries"].get<int64_t>(), 0);
  EXPECT_GE(quality["map"].get<double>(), 0.0);
  EXPECT_LE(quality["map"].get<double>(), 1.0);
  EXPECT_TRUE(quality["precision_at"].contains("5"));
  ASSERT_EQ(quality["prefix"].size(), 2u);  // first 16 and 32 bits of the 48
  EXPECT_EQ(quality["prefix"][0]["bits"], 16);
}

TEST_F(IndexEndToEnd, ModelsThatCannotServeTheIndexAreUserErrors) {
  const auto pool = dir_ / "pool.ckpt", narrow = dir_ / "narrow.ckpt";
  write_tiny_checkpoint(pool, "pool", 48);
  write_tiny_checkpoint(narrow, "hash", 16);
  const std::string no_hash = error_of({"index", "build", "--model", pool.string(), "--data", data_.string(), "--out",
                                        index_.string()});
  EXPECT_NE(no_hash.find(pool.string()), std::string::npos) << no_hash;
  EXPECT_NE(no_hash.find("no hash code"), std::string::npos) << no_hash;
  EXPECT_FALSE(std::filesystem::exists(index_));

  run_cli({"index", "build", "--model", model_.string(), "--data", data_.string(), "--split", split_.string(),
           "--out", index_.string()});
  EXPECT_EQ(HashIndex::load(index_).size(), 18);  // round(0.7 x 8) = 6 training images per class
  const std::string mismatch = error_of({"search", "--model", narrow.string(), "--index", index_.string(),
                                         (data_ / "box/box_000.jpg").string()});
  EXPECT_NE(mismatch.find("48-bit"), std::string::npos) << mismatch;
  const std::string pool_search = error_of({"search", "--model", pool.string(), "--index", index_.string(),
                                            (data_ / "box/box_000.jpg").string()});
  EXPECT_NE(pool_search.find(pool.string() + ": this model makes no hash code"), std::string::npos) << pool_search;
  const std::string same = error_of({"index", "eval", "--model", model_.string(), "--data", data_.string(), "--split",
                                     split_.string(), "--query", "train"});
  EXPECT_NE(same.find("--query"), std::string::npos) << same;
}

}  // namespace
}  // namespace trashcl
