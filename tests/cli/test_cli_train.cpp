// train -> eval -> predict through the command line, as in ../shared/docs/cli.md.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <sstream>

#include "data/dataset.h"
#include "support/run_command.h"
#include "support/test_support.h"
#include "train/checkpoint.h"
#include "train/precision.h"

namespace trashcl {
namespace {

using testing::run_trashcl;
using testing::read_bytes;
using testing::shell_quote;
using testing::TempDir;

const char* kTinyModel = " --backbone tiny --image-size 32 --batch-size 8 --queue-size 16 --hash-bits 16"
                         " --decoder-width 32 --threads 2";

// DIR/data: 3 classes of 12 generated images; DIR/split.csv: their split.
void make_synthetic_data(const TempDir& dir) {
  const std::string data = shell_quote((dir / "data").string());
  ASSERT_EQ(run_trashcl("synth --out " + data + " --classes 3 --per-class 12 --size 48").exit_code, 0);
  ASSERT_EQ(run_trashcl("split --data " + data + " --out " + shell_quote((dir / "split.csv").string())).exit_code, 0);
}

// A tiny run of EPOCHS epochs on make_synthetic_data's images into DIR/run.
std::string tiny_train_command(const TempDir& dir, int epochs = 2) {
  return "train --data " + shell_quote((dir / "data").string()) + " --split " +
         shell_quote((dir / "split.csv").string()) + " --out " + shell_quote((dir / "run").string()) + kTinyModel +
         " --epochs " + std::to_string(epochs);
}

TEST(CliTrain, TrainEvalPredictFollowTheContract) {
  TempDir dir;
  const std::string data = shell_quote((dir / "data").string()), run = shell_quote((dir / "run").string());
  ASSERT_NO_FATAL_FAILURE(make_synthetic_data(dir));
  auto trained = run_trashcl(tiny_train_command(dir));
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_NE(trained.out.find("epoch 2/2"), std::string::npos) << trained.out;  // plain progress lines (not a TTY)
  EXPECT_NE(trained.out.find(" (run "), std::string::npos) << trained.out;     // with the whole run's time left
  // The default 5 warm-up epochs outlast this 2-epoch run, and the log says what that means.
  EXPECT_NE(trained.err.find("--warmup-epochs 5 covers the whole 2-epoch run: the learning rate never reaches its peak"),
            std::string::npos)
      << trained.err;
  // Each epoch's log line but the last says how long the run has left.
  const std::string log = read_bytes(dir / "run/train.log");
  const auto line_from = [&log](const std::string& start) {  // empty when train.log has no such line
    const size_t begin = log.find(start);
    return begin == std::string::npos ? std::string() : log.substr(begin, log.find('\n', begin) - begin);
  };
  const std::string first_epoch = line_from("epoch 1/2: "), last_epoch = line_from("epoch 2/2: ");
  ASSERT_FALSE(first_epoch.empty() || last_epoch.empty()) << log;
  EXPECT_NE(first_epoch.find(" left"), std::string::npos) << first_epoch;
  EXPECT_EQ(last_epoch.find(" left"), std::string::npos) << last_epoch;
  // train leaves report.html: the curves and the last validation, before any eval.
  const std::string training_report = read_bytes(dir / "run/report.html");
  EXPECT_NE(training_report.find("validation after epoch 2 of 2 (best so far: epoch "), std::string::npos);
  EXPECT_NE(training_report.find("<svg"), std::string::npos);

  auto evaluated = run_trashcl("eval --model " + shell_quote((dir / "run/best.ckpt").string()) + " --data " + data +
                               " --split " + shell_quote((dir / "split.csv").string()) + " --json");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  const auto report = nlohmann::json::parse(evaluated.out);
  for (const char* key : {"top1", "macro_f1", "per_class", "confusion"}) EXPECT_TRUE(report.contains(key)) << key;
  EXPECT_EQ(report["per_class"].size(), 3u);
  EXPECT_EQ(report["confusion"].size(), 3u);
  EXPECT_TRUE(std::filesystem::exists(dir / "run/report.html"));
  auto balanced = run_trashcl("eval --model " + shell_quote((dir / "run/best.ckpt").string()) + " --data " + data +
                              " --split " + shell_quote((dir / "split.csv").string()) + " --predict-prior uniform --json");
  ASSERT_EQ(balanced.exit_code, 0) << balanced.err;
  EXPECT_EQ(nlohmann::json::parse(balanced.out)["confusion"].size(), 3u);

  // A folder with some of the model's classes (new photos of boxes only) is evaluated on those.
  std::filesystem::create_directories(dir / "boxes/box");
  const auto box_photos = list_image_files(dir / "data/box");
  ASSERT_GE(box_photos.size(), 5u);
  for (size_t i = 0; i < 4; ++i) std::filesystem::copy_file(box_photos[i], dir / "boxes/box" / box_photos[i].filename());
  const std::string eval_boxes =
      "eval --model " + shell_quote((dir / "run/best.ckpt").string()) + " --data " + shell_quote((dir / "boxes").string());
  auto boxes = run_trashcl(eval_boxes + " --json");
  ASSERT_EQ(boxes.exit_code, 0) << boxes.err;
  EXPECT_NE(boxes.err.find("has 1 of the model's 3 classes (none of bottle, can)"), std::string::npos) << boxes.err;
  const auto boxes_report = nlohmann::json::parse(boxes.out);
  EXPECT_EQ(boxes_report["samples"], 4);
  ASSERT_EQ(boxes_report["per_class"].size(), 3u);
  EXPECT_EQ(boxes_report["per_class"][1]["class"], "box");
  EXPECT_EQ(boxes_report["per_class"][1]["samples"], 4);
  EXPECT_TRUE(boxes_report["per_class"][0]["accuracy"].is_null());  // bottle: no images, no recall or F1
  EXPECT_TRUE(boxes_report["per_class"][0]["f1"].is_null());
  EXPECT_NE(read_bytes(dir / "run/report.html").find(">no images</text>"), std::string::npos);  // bottle's bar
  // Macro recall averages over the one class with images: the boxes' accuracy, which is top-1 here.
  EXPECT_DOUBLE_EQ(boxes_report["macro_recall"].get<double>(), boxes_report["top1"].get<double>());
  EXPECT_DOUBLE_EQ(boxes_report["per_class"][1]["accuracy"].get<double>(), boxes_report["top1"].get<double>());
  // Without a manifest there is no subset to choose.
  auto subset_without_split = run_trashcl(eval_boxes + " --subset val");
  EXPECT_EQ(subset_without_split.exit_code, 1);
  EXPECT_NE(subset_without_split.err.find("--subset requires --split"), std::string::npos) << subset_without_split.err;
  // A class the model was not trained on cannot be scored.
  std::filesystem::create_directories(dir / "boxes/cat");
  std::filesystem::copy_file(box_photos[4], dir / "boxes/cat" / box_photos[4].filename());
  auto unknown_class = run_trashcl(eval_boxes);
  EXPECT_EQ(unknown_class.exit_code, 1);
  EXPECT_NE(unknown_class.err.find("the model does not know the class cat; its classes are bottle, box, can"),
            std::string::npos) << unknown_class.err;

  testing::write_bytes(dir / "broken.jpg", "\xFF\xD8\xFF truncated");
  auto predicted = run_trashcl("predict --model " + shell_quote((dir / "run/best.ckpt").string()) + " --top-k 2 " +
                               shell_quote((dir / "data/box/box_000.jpg").string()) + " " +
                               shell_quote((dir / "broken.jpg").string()));
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  std::stringstream lines(predicted.out);
  std::string good_line, bad_line;
  std::getline(lines, good_line);
  std::getline(lines, bad_line);
  const auto good = nlohmann::json::parse(good_line), bad = nlohmann::json::parse(bad_line);
  EXPECT_EQ(good["top"].size(), 2u);
  EXPECT_GE(good["top"][0]["prob"].get<double>(), good["top"][1]["prob"].get<double>());
  EXPECT_TRUE(good["top"][0].contains("class"));
  EXPECT_EQ(good["bin"], "recyclable");
  EXPECT_EQ(good["hash"].get<std::string>().size(), 16u);  // 16 bits -> one 64-bit word in hex
  EXPECT_TRUE(bad.contains("error"));
  EXPECT_FALSE(bad.contains("top"));

  // int8: calibrated on the training folder, the same top class as the float prediction above.
  auto quantized = run_trashcl("predict --model " + shell_quote((dir / "run/best.ckpt").string()) + " --top-k 2 " +
                               "--int8-calibration " + data + " --int8-calibration-images 12 " +
                               shell_quote((dir / "data/box/box_000.jpg").string()));
  ASSERT_EQ(quantized.exit_code, 0) << quantized.err;
  const auto quantized_record = nlohmann::json::parse(quantized.out);
  EXPECT_EQ(quantized_record["top"][0]["class"], good["top"][0]["class"]) << quantized.out << good_line;
  EXPECT_EQ(quantized_record["hash"].get<std::string>().size(), 16u);
  auto no_calibration = run_trashcl("predict --model " + shell_quote((dir / "run/best.ckpt").string()) +
                                    " --int8-calibration " + shell_quote((dir / "nowhere").string()) + " x.jpg");
  EXPECT_EQ(no_calibration.exit_code, 1);
  EXPECT_NE(no_calibration.err.find("nowhere"), std::string::npos) << no_calibration.err;
  EXPECT_NE(no_calibration.err.find("--int8-calibration wants"), std::string::npos) << no_calibration.err;

  // A run folder stands for its best.ckpt.
  auto by_folder = run_trashcl("predict --model " + run + " --top-k 2 " +
                               shell_quote((dir / "data/box/box_000.jpg").string()));
  ASSERT_EQ(by_folder.exit_code, 0) << by_folder.err;
  const auto by_folder_record = nlohmann::json::parse(by_folder.out);
  EXPECT_EQ(by_folder_record["top"][0]["class"], good["top"][0]["class"]);
  EXPECT_NEAR(by_folder_record["top"][0]["prob"].get<double>(), good["top"][0]["prob"].get<double>(), 1e-4);

  auto csv = run_trashcl("predict --format csv --model " + shell_quote((dir / "run/best.ckpt").string()) + " " +
                         shell_quote((dir / "data/box/box_000.jpg").string()));
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out.rfind("path,class,prob,bin,hash,error\n", 0), 0u) << csv.out;

  auto again = run_trashcl("train --data " + data + " --out " + run + kTinyModel + " --epochs 2");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("--resume"), std::string::npos) << again.err;
  auto missing = run_trashcl("predict --model " + shell_quote((dir / "nope.ckpt").string()) + " x.jpg");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nope.ckpt"), std::string::npos) << missing.err;
  auto bad_prior = run_trashcl("predict --predict-prior natural --model " +
                               shell_quote((dir / "run/best.ckpt").string()) + " x.jpg");
  EXPECT_EQ(bad_prior.exit_code, 1);
  EXPECT_NE(bad_prior.err.find("--predict-prior"), std::string::npos) << bad_prior.err;

  // A device that is not one, or CUDA where there is none, is a user error naming the flag.
  const std::string box_photo = shell_quote((dir / "data/box/box_000.jpg").string());
  auto gpu = run_trashcl("predict --device gpu --model " + run + " " + box_photo);
  EXPECT_EQ(gpu.exit_code, 1);
  EXPECT_NE(gpu.err.find("--device 'gpu': use cpu, cuda or cuda:N"), std::string::npos) << gpu.err;
  auto cuda = run_trashcl("eval --device cuda --model " + run + " --data " + data);
  if (torch::cuda::is_available()) {
    EXPECT_EQ(cuda.exit_code, 0) << cuda.err;
  } else {
    EXPECT_EQ(cuda.exit_code, 1);
    EXPECT_NE(cuda.err.find("--device cuda: no CUDA device is available"), std::string::npos) << cuda.err;
  }

  // A folder whose images are all unreadable has nothing to evaluate, and says so.
  std::filesystem::create_directories(dir / "unreadable/box");
  testing::write_bytes(dir / "unreadable/box/a.jpg", "not an image");
  testing::write_bytes(dir / "unreadable/box/b.jpg", "\xFF\xD8\xFF truncated");
  auto unreadable = run_trashcl("eval --model " + run + " --data " + shell_quote((dir / "unreadable").string()));
  EXPECT_EQ(unreadable.exit_code, 1);
  EXPECT_NE(unreadable.err.find("unreadable: none of its 2 images could be read"), std::string::npos) << unreadable.err;
}

TEST(CliTrain, ARunCutShortSaysItWasNotValidatedAndWhereTheModelIs) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(make_synthetic_data(dir));
  auto trained = run_trashcl(tiny_train_command(dir) + " --max-steps 1 --precision auto");
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const std::string log = trained.out + trained.err;
  EXPECT_NE(log.find("not validated (the epoch was cut short by --max-steps)"), std::string::npos) << log;
  EXPECT_NE(log.find("no best.ckpt: the model is in"), std::string::npos) << log;
  EXPECT_EQ(log.find("-1.0000"), std::string::npos) << log;
  EXPECT_TRUE(std::filesystem::exists(dir / "run/last.ckpt"));
  EXPECT_FALSE(std::filesystem::exists(dir / "run/best.ckpt"));
  auto by_folder = run_trashcl("predict --model " + shell_quote((dir / "run").string()) + " x.jpg");
  EXPECT_EQ(by_folder.exit_code, 1);
  EXPECT_NE(by_folder.err.find("a run folder without best.ckpt (no epoch validated yet); its latest model is " +
                               (dir / "run/last.ckpt").string()),
            std::string::npos)
      << by_folder.err;
  // precision = auto is resolved for this machine, and the run folder's config.toml says which one ran.
  const std::string resolved = resolve_precision("auto", false);
  EXPECT_NE(log.find("on cpu in " + resolved), std::string::npos) << log;
  EXPECT_NE(read_bytes(dir / "run/config.toml").find("precision = '" + resolved + "'"), std::string::npos);
}

// Resuming with other settings than the run's says which, except the runtime ones; resuming as it was says nothing.
TEST(CliTrain, AResumeWithChangedSettingsSaysWhichChanged) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(make_synthetic_data(dir));
  std::string one_thread = tiny_train_command(dir, 1);
  one_thread.replace(one_thread.find("--threads 2"), 11, "--threads 1");  // a runtime key: not reported
  auto first = run_trashcl(one_thread);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto longer = run_trashcl(tiny_train_command(dir, 2) + " --lr 0.1 --resume");
  ASSERT_EQ(longer.exit_code, 0) << longer.err;
  EXPECT_NE(longer.err.find("resuming with settings changed from the run's: epochs 1 -> 2, lr 0.05 -> 0.1; from "
                            "step 3 the run follows the new ones"),
            std::string::npos)
      << longer.err;
  auto same = run_trashcl(tiny_train_command(dir, 2) + " --lr 0.1 --resume");
  ASSERT_EQ(same.exit_code, 0) << same.err;
  EXPECT_NE(same.err.find("resuming "), std::string::npos) << same.err;
  EXPECT_EQ(same.err.find("settings changed"), std::string::npos) << same.err;
}

// A run started with relative paths resumes from another working directory: config.toml holds them absolute.
TEST(CliTrain, AResumeFromAnotherDirectoryFindsTheRunsData) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(make_synthetic_data(dir));
  const std::string trashcl = shell_quote(TRASHCL_BINARY);
  auto first = testing::run_command("cd " + shell_quote(dir.path().string()) + " && " + trashcl +
                                    " train --data data --split split.csv --out run --epochs 1" + kTinyModel);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string config = read_bytes(dir / "run/config.toml");
  EXPECT_NE(config.find("data = '" + (dir / "data").string() + "'"), std::string::npos) << config;
  EXPECT_NE(config.find("split = '" + (dir / "split.csv").string() + "'"), std::string::npos) << config;

  auto resumed = testing::run_command("cd / && " + trashcl + " train --out " + shell_quote((dir / "run").string()) +
                                      " --resume --epochs 2");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("epoch 2/2"), std::string::npos) << resumed.out;
  // Only the schedule changed: the data paths are the run's own.
  EXPECT_NE(resumed.err.find("settings changed from the run's: epochs 1 -> 2; from"), std::string::npos) << resumed.err;
}

// With --model-ema each epoch is validated on the weight average and on the trained weights, and the checkpoint
// predicts with the average (resuming with it: TrainEndToEnd.ResumeWithAWeightAverage...).
TEST(CliTrain, AWeightAverageIsValidatedBesideTheTrainedWeightsAndPredicts) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(make_synthetic_data(dir));
  auto trained = run_trashcl(tiny_train_command(dir) + " --model-ema 0.9");
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const std::string log = trained.out + trained.err;
  EXPECT_NE(log.find("prediction use the weight average (model_ema = 0.9)"), std::string::npos) << log;
  EXPECT_NE(log.find("(weight average; the trained weights "), std::string::npos) << log;
  EXPECT_NE(read_bytes(dir / "run/config.toml").find("model_ema = 0.9"), std::string::npos);

  auto predicted = run_trashcl("predict --model " + shell_quote((dir / "run/best.ckpt").string()) + " " +
                               shell_quote((dir / "data/box/box_000.jpg").string()));
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  EXPECT_EQ(nlohmann::json::parse(predicted.out)["top"].size(), 3u) << predicted.out;
}

// A split with no validation rows: each epoch says it was not validated, and best.ckpt is the last whole epoch.
TEST(CliTrain, ARunWithoutValidationImagesKeepsTheLastEpochAsBest) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(make_synthetic_data(dir));
  std::vector<SplitEntry> entries = read_split_csv(dir / "split.csv");
  for (SplitEntry& entry : entries) entry.split = "train";
  write_split_csv(dir / "split.csv", entries);

  auto trained = run_trashcl(tiny_train_command(dir));
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const std::string log = trained.out + trained.err;
  EXPECT_NE(log.find("0 validation"), std::string::npos) << log;
  EXPECT_NE(log.find("not validated (no validation images)"), std::string::npos) << log;
  EXPECT_NE(log.find("no validation images, so best.ckpt holds epoch 2, the last whole one"), std::string::npos) << log;
  EXPECT_TRUE(std::filesystem::exists(dir / "run/best.ckpt"));
}

// Starts a tiny run of 1000 epochs in the background, waits at most 2 minutes for the header and two epochs' rows
// in its metrics.csv, then sends it `signal` (a `kill` option: -9, -TERM) and returns the run's exit status.
// Each epoch's row is written before its log line, so the first epoch's line is due in train.log by then.
testing::CommandResult signal_after_two_epochs(const TempDir& dir, const std::string& signal) {
  const std::string metrics = shell_quote((dir / "run/metrics.csv").string());
  return testing::run_command("(" + shell_quote(TRASHCL_BINARY) + " " + tiny_train_command(dir, 1000) +
                              " & pid=$!; for i in $(seq 1200); do [ \"$(cat " + metrics +
                              " 2>/dev/null | wc -l)\" -ge 3 ] && break; sleep 0.1; done; kill " + signal +
                              " $pid; wait $pid)");
}

// train.log is written as the run goes: a run killed by SIGKILL after two epochs keeps their lines in it.
TEST(CliTrain, TrainLogKeepsTheEpochsOfAKilledRun) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(make_synthetic_data(dir));
  const auto killed = signal_after_two_epochs(dir, "-9");
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << "the run ended before it was killed: " << killed.err;
  const std::string log = read_bytes(dir / "run/train.log");
  EXPECT_NE(log.find(" images in 3 classes, "), std::string::npos) << log;
  EXPECT_NE(log.find("epoch 1/1000: loss "), std::string::npos) << log;
}

// SIGTERM (or Ctrl-C) during training saves last.ckpt at the step reached and ends the process by the signal;
// --resume continues from that step.
TEST(CliTrain, ASignalSavesTheStepReachedAndResumeContinuesThere) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(make_synthetic_data(dir));
  const auto stopped = signal_after_two_epochs(dir, "-TERM");
  EXPECT_EQ(stopped.exit_code, 128 + SIGTERM) << stopped.err;
  const std::string log = read_bytes(dir / "run/train.log");
  const size_t said = log.find("stopped by SIGTERM at step ");
  ASSERT_NE(said, std::string::npos) << log;
  const int64_t step = std::stoll(log.substr(said + std::string("stopped by SIGTERM at step ").size()));
  EXPECT_GE(step, 2 * 3) << "two whole epochs of 3 steps were written before the signal";
  EXPECT_EQ(load_checkpoint(dir / "run/last.ckpt", torch::kCPU).meta.step, step);

  const auto resumed = run_trashcl(tiny_train_command(dir, 1000) + " --resume --max-steps " + std::to_string(step + 1));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("at step " + std::to_string(step)), std::string::npos) << resumed.err;
  EXPECT_EQ(load_checkpoint(dir / "run/last.ckpt", torch::kCPU).meta.step, step + 1);
}

// A class of one photo trains (the split gives it no validation image, so validation leaves it out and says so);
// a class the split gives no training image stops the run before the first step, naming the manifest and class.
TEST(CliTrain, AClassWithoutValidationImagesTrainsOneWithoutTrainingImagesIsAnError) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(make_synthetic_data(dir));
  const auto one_photo = list_image_files(dir / "data/box").front();
  std::filesystem::create_directories(dir / "data/lid");
  std::filesystem::copy_file(one_photo, dir / "data/lid" / one_photo.filename());
  const std::string data = shell_quote((dir / "data").string());
  auto trained = run_trashcl("train --data " + data + " --out " + shell_quote((dir / "run").string()) + kTinyModel +
                             " --epochs 1");
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_NE(trained.err.find("no validation image of class 'lid': validation does not measure it"), std::string::npos)
      << trained.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "run/best.ckpt"));

  std::string manifest = read_bytes(dir / "split.csv");
  manifest += "lid/" + one_photo.filename().string() + ",lid,test\n";
  testing::write_bytes(dir / "lid-in-test.csv", manifest);
  auto refused = run_trashcl("train --data " + data + " --split " + shell_quote((dir / "lid-in-test.csv").string()) +
                             " --out " + shell_quote((dir / "run2").string()) + kTinyModel + " --epochs 1");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("lid-in-test.csv: no training image of class 'lid'"), std::string::npos) << refused.err;
}

// Bad option values stop train before any data is read, naming the flag and what it accepts.
TEST(CliTrain, RejectsBadModelOptionsNamingTheFlag) {
  TempDir dir;
  const std::string data = shell_quote((dir / "none").string());
  const auto prior = run_trashcl("train --data " + data + " --predict-prior natural");
  EXPECT_EQ(prior.exit_code, 1);
  EXPECT_NE(prior.err.find("--predict-prior 'natural': use train or uniform"), std::string::npos) << prior.err;
  const auto queries = run_trashcl("train --data " + data + " --decoder-query-std 0");
  EXPECT_EQ(queries.exit_code, 1);
  EXPECT_NE(queries.err.find("--decoder-query-std"), std::string::npos) << queries.err;
  const auto precision = run_trashcl("train --data " + data + " --precision fp16");
  EXPECT_EQ(precision.exit_code, 1);
  EXPECT_NE(precision.err.find("--precision 'fp16': use fp32, bf16 or auto"), std::string::npos) << precision.err;
  const auto head = run_trashcl("train --data " + data + " --head-lr-scale -1");
  EXPECT_EQ(head.exit_code, 1);
  EXPECT_NE(head.err.find("--head-lr-scale"), std::string::npos) << head.err;
  const auto average = run_trashcl("train --data " + data + " --model-ema 1");
  EXPECT_EQ(average.exit_code, 1);
  EXPECT_NE(average.err.find("--model-ema 1: must be in [0, 1)"), std::string::npos) << average.err;
}

}  // namespace
}  // namespace trashcl
