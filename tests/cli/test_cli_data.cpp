// The data subcommands run as a user would run them: synth, split, data-stats, augment-preview.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

#include "data/decode.h"
#include "data/encode.h"
#include "support/run_command.h"
#include "support/test_support.h"

namespace trashcl {
namespace {

using testing::run_trashcl;
using testing::shell_quote;
using testing::TempDir;

TEST(CliData, SynthSplitStatsAndPreviewWorkTogether) {
  TempDir dir;
  const std::string data = shell_quote((dir / "synth").string());
  auto synth = run_trashcl("synth --out " + data + " --classes 3 --per-class 10 --size 64");
  ASSERT_EQ(synth.exit_code, 0) << synth.err;

  auto split = run_trashcl("split --data " + data + " --out " + shell_quote((dir / "split.csv").string()) + " --seed 3");
  ASSERT_EQ(split.exit_code, 0) << split.err;
  // Per class of 10: round(0.7 x 10) train, round(0.13 x 10) val, the rest test.
  EXPECT_NE(split.out.find("21 train, 3 val, 6 test"), std::string::npos) << split.out;

  auto stats = run_trashcl("data-stats --data " + data + " --json");
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const auto doc = nlohmann::json::parse(stats.out);
  ASSERT_EQ(doc["classes"].size(), 3u);
  EXPECT_EQ(doc["classes"][0]["count"], 10);
  EXPECT_TRUE(doc["bad_files"].empty());

  const auto preview = dir / "preview.png";
  auto made = run_trashcl("augment-preview --data " + data + " --out " + shell_quote(preview.string()) +
                          " --n 3 --image-size 48");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const Image grid = decode_image_file(preview);
  EXPECT_EQ(grid.height, 3 * (48 + 4) + 4);
  EXPECT_EQ(grid.width, 5 * (48 + 4) + 4);
  // With --cutmix-p or --mixup-alpha the last anchor column (the third) shows mixed views; the other columns stay as
  // they were.
  auto column_differs = [&grid](const Image& other, int column) {
    for (int y = 0; y < grid.height; ++y) {
      const uint8_t* plain_row = grid.row(y) + column * (48 + 4) * 3;
      if (!std::equal(plain_row, plain_row + (48 + 4) * 3, other.row(y) + column * (48 + 4) * 3)) return true;
    }
    return false;
  };
  const auto mixed_preview = dir / "mixed.png";
  const std::pair<std::string, std::string> mixes[] = {
      {"--cutmix-p 0.5", "(the last CutMixed, as 0.5 of the training batches are)"},
      {"--mixup-alpha 0.4", "(the last mixed up with alpha 0.4, as every training batch is)"}};
  for (const auto& [flag, note] : mixes) {
    auto mixed = run_trashcl("augment-preview --data " + data + " --out " + shell_quote(mixed_preview.string()) +
                             " --n 3 --image-size 48 " + flag);
    ASSERT_EQ(mixed.exit_code, 0) << mixed.err;
    EXPECT_NE(mixed.out.find("2 anchor views " + note), std::string::npos) << mixed.out;
    const Image mixed_grid = decode_image_file(mixed_preview);
    for (int column : {0, 1, 3, 4}) EXPECT_FALSE(column_differs(mixed_grid, column)) << flag << ", column " << column;
    EXPECT_TRUE(column_differs(mixed_grid, 2)) << flag << ": the second anchor column is mixed";
  }
  // Fewer rows than classes: the preview shows the images it picked.
  auto one = run_trashcl("augment-preview --data " + data + " --out " + shell_quote(preview.string()) +
                         " --n 1 --image-size 48");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(decode_image_file(preview).height, 48 + 4 + 4);
}

// ROOT: the synthetic classes bottle and box, PER_CLASS small images each.
void synth_two_classes(const std::filesystem::path& root, int per_class) {
  ASSERT_EQ(run_trashcl("synth --out " + shell_quote(root.string()) + " --classes 2 --size 48 --per-class " +
                        std::to_string(per_class)).exit_code, 0);
}

TEST(CliData, PlantedBadFilesGiveOneWarningEachAndASummary) {
  TempDir dir;
  const auto root = dir / "data";
  ASSERT_NO_FATAL_FAILURE(synth_two_classes(root, 4));
  testing::write_bytes(root / "bottle/empty.jpg", "");
  testing::write_bytes(root / "bottle/notes.txt", "not an image");
  testing::write_bytes(root / "box/random.png", std::string("\x13\x37\xC0\xDE random bytes", 16));
  std::filesystem::create_symlink(root / "gone.jpg", root / "box/dangling.jpg");
  // An odd but valid name must load.
  write_jpeg(root / "box/ß flasche 瓶 (1).jpg", testing::make_test_image(40, 30));

  auto stats = run_trashcl("data-stats --data " + shell_quote(root.string()) + " --json");
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const auto doc = nlohmann::json::parse(stats.out);
  EXPECT_EQ(doc["bad_files"].size(), 4u);
  EXPECT_EQ(doc["total"], 9);
  EXPECT_DOUBLE_EQ(doc["imbalance"].get<double>(), 5.0 / 4.0);  // box: 4 + the odd name; bottle: 4
  for (const auto& bad : doc["bad_files"]) EXPECT_FALSE(bad["reason"].get<std::string>().empty());

  auto table = run_trashcl("data-stats --data " + shell_quote(root.string()));
  ASSERT_EQ(table.exit_code, 0) << table.err;
  size_t warnings = 0;
  for (size_t at = table.err.find("skipping"); at != std::string::npos; at = table.err.find("skipping", at + 1)) ++warnings;
  EXPECT_EQ(warnings, 4u) << table.err;
  EXPECT_NE(table.out.find("unusable files: 4"), std::string::npos) << table.out;
}

TEST(CliData, AClassWithNoUsableImageIsReportedNotAnError) {
  TempDir dir;
  const auto root = dir / "data";
  ASSERT_NO_FATAL_FAILURE(synth_two_classes(root, 3));
  testing::write_bytes(root / "broken/a.jpg", "not an image");
  testing::write_bytes(root / "broken/b.png", "\x89PNG\r\n");

  auto stats = run_trashcl("data-stats --data " + shell_quote(root.string()) + " --json");
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const auto doc = nlohmann::json::parse(stats.out);
  ASSERT_EQ(doc["classes"].size(), 3u);
  for (const auto& row : doc["classes"]) EXPECT_EQ(row["count"], row["name"] == "broken" ? 0 : 3) << row;
  EXPECT_EQ(doc["bad_files"].size(), 2u);
  EXPECT_EQ(doc["empty_classes"], nlohmann::json::array({"broken"}));
  EXPECT_TRUE(doc["imbalance"].is_null());

  auto table = run_trashcl("data-stats --data " + shell_quote(root.string()));
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("classes with no usable image: broken"), std::string::npos) << table.out;

  // Training cannot learn a class without images: it stops before the first step and names the folder.
  auto train = run_trashcl("train --data " + shell_quote(root.string()) + " --out " + shell_quote((dir / "run").string()));
  EXPECT_EQ(train.exit_code, 1);
  EXPECT_NE(train.err.find("class 'broken' has no usable image"), std::string::npos) << train.err;
}

// Runs `trashcl ARGUMENTS`, expects it to fail with exit code 1 and `message` on stderr; returns the result.
testing::CommandResult expect_user_error(const std::string& arguments, const std::string& message) {
  auto result = run_trashcl(arguments);
  EXPECT_EQ(result.exit_code, 1) << arguments;
  EXPECT_NE(result.err.find(message), std::string::npos) << arguments << "\n" << result.err;
  return result;
}

TEST(CliData, UserErrorsExitOneWithAMessageNamingTheCause) {
  TempDir dir;
  expect_user_error("data-stats --data " + shell_quote((dir / "nope").string()), "nope");
  expect_user_error("data-stats --data " + shell_quote(dir.path().string()), "no class folder");
  EXPECT_EQ(run_trashcl("no-such-command").exit_code, 1);
  // A command that needs a subcommand, given none, shows its help with the subcommands to pick from.
  expect_user_error("", "Subcommands:\n  synth");
  expect_user_error("index", "Subcommands:\n  build");
  expect_user_error("split --data x", "--out is required");
  // A missing positional argument is named as the usage line and docs/cli.md write it.
  expect_user_error("predict --model m.ckpt", "PATH is required");
  expect_user_error("predict --model m.ckpt --int8-calibration-images 0 x.jpg",
                    "--int8-calibration-images: must be greater than 0, not 0");
  expect_user_error("search --model m.ckpt --index i --k many x.jpg", "--k: 'many' is not a whole number");
  expect_user_error("search --model m.ckpt --index i --k 2.5 x.jpg", "--k: '2.5' is not a whole number");
  expect_user_error("predict --model m.ckpt --batch-size 0 x.jpg", "--batch-size: must be greater than 0, not 0");
  expect_user_error("index eval --model m.ckpt --data d --precision-at 1,0",
                    "--precision-at: must be greater than 0, not 0");
  expect_user_error("serve --model m.ckpt --max-wait-ms -1", "--max-wait-ms: must be 0 or more, not -1");
  expect_user_error("train --data d --out r --cutmix-p 1.5", "--cutmix-p 1.5: a probability must be in [0, 1]");
  // A config flag's value of the wrong type is named with the type it wants.
  expect_user_error("train --data d --out r --cutmix-p half", "--cutmix-p: 'half' is not a number");
  expect_user_error("train --data d --out r --epochs 2.5", "--epochs: '2.5' is not a whole number");
  expect_user_error("train --data d --out r --seed -1", "--seed: '-1' is not a whole number >= 0");
  expect_user_error("synth --out d --per-class x", "--per-class: 'x' is not a whole number");
  expect_user_error("predict --model m.ckpt --threads two x.jpg", "--threads: 'two' is not a whole number");
  for (const char* command : {"predict --model m.ckpt x.jpg", "eval --model m.ckpt --data d", "serve --model m.ckpt"}) {
    expect_user_error(std::string(command) + " --threads -1", "--threads: must be 0 or more, not -1");
  }
  for (const char* mix : {"--cutmix-p 0.5", "--mixup-alpha 0.2"}) {
    expect_user_error(std::string("train --data d --out r --symmetric ") + mix,
                      "--cutmix-p or --mixup-alpha with --symmetric");
  }
  expect_user_error("train --data d --out r --mixup-alpha -1", "--mixup-alpha -1: must be >= 0 (0: no mixup)");
  expect_user_error("train --data d --out r --epochs 20 --self-supervised-epochs 20",
                    "--self-supervised-epochs 20: must be 0 (off) to 19, fewer than --epochs");
  expect_user_error("train --data d --out r --self-supervised-epochs -1",
                    "--self-supervised-epochs -1: must be 0 (off) to 99");
  expect_user_error("train --data d --out r --self-supervised-epochs 5 --loss ce",
                    "--self-supervised-epochs with --loss ce");
  expect_user_error("train --data d --out r --self-supervised-epochs 5 --mixup-alpha 0.2",
                    "--self-supervised-epochs with --cutmix-p or --mixup-alpha");

  ASSERT_EQ(run_trashcl("synth --out " + shell_quote((dir / "d").string()) + " --per-class 3 --size 32").exit_code, 0);
  testing::write_bytes(dir / "bad.toml", "image_size = \"big\"\n");
  expect_user_error("augment-preview --data " + shell_quote((dir / "d").string()) + " --out x.png --config " +
                        shell_quote((dir / "bad.toml").string()),
                    "image_size");
  testing::write_bytes(dir / "unknown.toml", "imagesize = 3\n");
  expect_user_error("augment-preview --data x --out x.png --config " + shell_quote((dir / "unknown.toml").string()),
                    "unknown key 'imagesize' (did you mean 'image_size'?");
}

TEST(CliData, AnUnknownFlagOrCommandIsNamedWithTheOneItMostLikelyMeant) {
  // A misspelt required flag is reported as unknown, not as the required one missing.
  auto misspelt = expect_user_error("predict --modle m.ckpt x.jpg",
                                    "unknown argument: --modle (did you mean --model?)");
  EXPECT_EQ(misspelt.err.find("required"), std::string::npos) << misspelt.err;
  expect_user_error("train --data d --out r --epoch=3", "--epoch=3 (did you mean --epochs?)");
  expect_user_error("index build --model m --data d --out f --thread 2", "--thread (did you mean --threads?)");
  expect_user_error("trian --data d", "trian (did you mean train?)");
  auto unlike = expect_user_error("eval --model m --data d --colour blue", "unknown arguments: --colour blue");
  EXPECT_EQ(unlike.err.find("did you mean"), std::string::npos) << unlike.err;
}

TEST(CliData, FlagsOverrideTheConfigFileAndTheEffectiveConfigPrints) {
  TempDir dir;
  testing::write_bytes(dir / "c.toml", "image_size = 96\nblur_p = 0.25\nseed = 5\n");
  auto printed = run_trashcl("augment-preview --out x.png --config " + shell_quote((dir / "c.toml").string()) +
                             " --image-size 64 --print-config");
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_NE(printed.out.find("image_size = 64"), std::string::npos) << printed.out;
  EXPECT_NE(printed.out.find("blur_p = 0.25"), std::string::npos) << printed.out;
  EXPECT_NE(printed.out.find("seed = 5"), std::string::npos) << printed.out;
}

TEST(CliData, TrashnetStatsMatchTheDatasetReadme) {
  const auto shared = testing::shared_dir();
  ASSERT_FALSE(shared.empty()) << "../shared/data is missing beside the project";
  auto stats = run_trashcl("data-stats --data " + shell_quote((shared / "data/trashnet").string()) + " --json");
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const auto doc = nlohmann::json::parse(stats.out);
  const std::vector<std::pair<std::string, int>> expected{{"cardboard", 403}, {"glass", 501}, {"metal", 410},
                                                          {"paper", 594},     {"plastic", 482}, {"trash", 137}};
  ASSERT_EQ(doc["classes"].size(), expected.size());
  for (size_t c = 0; c < expected.size(); ++c) {
    EXPECT_EQ(doc["classes"][c]["name"], expected[c].first);
    EXPECT_EQ(doc["classes"][c]["count"], expected[c].second);
  }
  EXPECT_DOUBLE_EQ(doc["imbalance"].get<double>(), 594.0 / 137.0);  // paper over trash
  EXPECT_TRUE(doc["bad_files"].empty());
}

}  // namespace
}  // namespace trashcl
