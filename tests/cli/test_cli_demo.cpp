// README's first command: scripts/demo.sh runs the whole job on synthetic images, and the model it trains learns.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "support/run_command.h"
#include "support/test_support.h"

namespace trashcl {
namespace {

using testing::shell_quote;
using testing::TempDir;

TEST(CliDemo, TheDemoScriptTrainsAModelThatLearns) {
  TempDir dir;
  const std::string build_dir = std::filesystem::path(TRASHCL_BINARY).parent_path().string();
  const auto demo = testing::run_command("TRASHCL_BUILD_DIR=" + shell_quote(build_dir) + " TRASHCL_DEMO_DIR=" +
                                         shell_quote(dir.path().string()) + " bash " +
                                         shell_quote(std::string(TRASHCL_SOURCE_DIR) + "/scripts/demo.sh"));
  ASSERT_EQ(demo.exit_code, 0) << demo.out << demo.err;
  for (const char* file : {"demo-views.png", "demo-split.csv", "demo/best.ckpt", "demo/report.html"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / file)) << file;
  }
  // eval's table: "top-1 86.76%  macro precision ..." on the 68 test images; chance is 25%.
  std::smatch top1;
  ASSERT_TRUE(std::regex_search(demo.out, top1, std::regex(R"(top-1 ([0-9.]+)%)"))) << demo.out;
  EXPECT_GT(std::stod(top1[1].str()), 60.0) << demo.out;
  // predict: one JSON line per photo.
  for (const char* photo : {"demo-data/can/can_000.jpg", "demo-data/box/box_001.jpg"}) {
    EXPECT_NE(demo.out.find("\"path\":\"" + (dir / photo).string() + "\""), std::string::npos) << photo << "\n" << demo.out;
  }
}

}  // namespace
}  // namespace trashcl
