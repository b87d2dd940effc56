// `trashcl bench predict`: latency percentiles and throughput as one JSON document, for the three sources of
// a model and of images.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/run_command.h"
#include "support/test_support.h"
#include "support/tiny_model.h"

namespace trashcl {
namespace {

using testing::run_trashcl;
using testing::shell_quote;
using testing::TempDir;
using testing::tiny_model_config;
using testing::write_untrained_checkpoint;

const char* kTinyModel = " --backbone tiny --image-size 32 --hash-bits 16 --decoder-width 32 --queue-size 16"
                         " --batch-size 2 --steps 4 --warmup 1 --batch-steps 1 --threads 1 --json";

nlohmann::json run_bench(const std::string& arguments) {
  const auto result = run_trashcl("bench predict" + std::string(kTinyModel) + " " + arguments);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return result.exit_code == 0 ? nlohmann::json::parse(result.out) : nlohmann::json::object();
}

TEST(CliBenchPredict, ReportsPercentilesThroughputMemoryAndThePath) {
  const auto report = run_bench("--synthetic --flip-test=false");
  for (const char* key : {"predict_ms_p50", "predict_ms_p90", "predict_ms_p99", "model_ms_p50", "model_ms_p90",
                          "model_ms_p99", "decode_ms_p50", "transform_ms_p50", "predict_img_per_s", "peak_rss_mib"}) {
    ASSERT_TRUE(report.contains(key)) << key;
    EXPECT_GT(report[key].get<double>(), 0) << key;
  }
  EXPECT_LE(report["predict_ms_p50"].get<double>(), report["predict_ms_p90"].get<double>());
  EXPECT_LE(report["predict_ms_p90"].get<double>(), report["predict_ms_p99"].get<double>());
  EXPECT_LE(report["model_ms_p50"].get<double>(), report["model_ms_p99"].get<double>());
  EXPECT_EQ(report["stage"], "predict");
  EXPECT_EQ(report["threads"], 1);
  EXPECT_EQ(report["samples"], 4);
  EXPECT_EQ(report["fold_batch_norm"], true);
  EXPECT_NE(report["backbone_path"], "module");
  EXPECT_EQ(report["flip_test"], false);
  EXPECT_EQ(report["model"], "random");
  EXPECT_EQ(report["images"], "synthetic");
  EXPECT_EQ(report["classes"], 6);
}

TEST(CliBenchPredict, SwitchesOffFoldingAndFusion) {
  const auto report = run_bench("--synthetic --fold-batch-norm=false --fuse-backbone=false");
  EXPECT_EQ(report["fold_batch_norm"], false);
  EXPECT_EQ(report["backbone_path"], "module");
  EXPECT_EQ(report["flip_test"], true);  // the config's default, as `predict` runs
}

TEST(CliBenchPredict, RunsTheInt8BackboneCalibratedOnAFolder) {
  TempDir dir;
  const std::string data = shell_quote((dir / "data").string());
  ASSERT_EQ(run_trashcl("synth --out " + data + " --classes 2 --per-class 3 --size 48").exit_code, 0);
  const auto report = run_bench("--synthetic --int8-calibration " + data);
  EXPECT_EQ(report["backbone_path"], "int8");
  EXPECT_GT(report["model_ms_p50"].get<double>(), 0);
}

TEST(CliBenchPredict, TimesTheFirstTestImageOfTheSplitAndLoadsACheckpoint) {
  TempDir dir;
  const std::string data = shell_quote((dir / "data").string()), split = shell_quote((dir / "split.csv").string());
  ASSERT_EQ(run_trashcl("synth --out " + data + " --classes 3 --per-class 6 --size 48").exit_code, 0);
  ASSERT_EQ(run_trashcl("split --data " + data + " --out " + split).exit_code, 0);
  auto report = run_bench("--data " + data + " --split " + split);
  EXPECT_EQ(report["classes"], 3);
  EXPECT_NE(report["images"].get<std::string>().find("data"), std::string::npos) << report["images"];

  Config config = tiny_model_config();
  config.flip_test = true;
  const auto checkpoint = dir / "model.ckpt";
  write_untrained_checkpoint(checkpoint, config, {"glass", "paper"}, {3, 5}, 0);
  report = run_bench("--synthetic --model " + shell_quote(checkpoint.string()));
  EXPECT_EQ(report["model"], checkpoint.string());
  EXPECT_EQ(report["classes"], 2);
  EXPECT_EQ(report["flip_test"], true);  // the checkpoint's
  report = run_bench("--synthetic --flip-test=false --model " + shell_quote(checkpoint.string()));
  EXPECT_EQ(report["flip_test"], false);  // the flag wins when given
}

TEST(CliBenchPredict, WithoutImagesSaysWhatToGive) {
  const auto result = run_trashcl("bench predict --backbone tiny --image-size 32");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("--synthetic"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace trashcl
