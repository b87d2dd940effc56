// --predict-prior on a model whose scores carry no training prior changes nothing, and says so.
#include <gtest/gtest.h>

#include <string>

#include "serve/serve_testing.h"
#include "support/run_command.h"
#include "support/test_support.h"
#include "support/tiny_model.h"

namespace trashcl {
namespace {

using testing::jpeg_bytes;
using testing::run_trashcl;
using testing::shell_quote;
using testing::TempDir;
using testing::tiny_model_config;
using testing::write_bytes;
using testing::write_untrained_checkpoint;

TEST(CliPredictPrior, OnACrossEntropyModelItWarnsThatItChangesNothing) {
  TempDir dir;
  Config config = tiny_model_config();  // the CE baseline's model: a linear head on pooled features
  config.loss = "ce";
  config.momentum = false;
  config.head = "linear";
  config.features = "pool";
  const auto checkpoint = dir / "ce.ckpt";
  write_untrained_checkpoint(checkpoint, config, {"glass", "paper"}, {3, 5}, 0);
  write_bytes(dir / "photo.jpg", jpeg_bytes(synth_image(0, 64, 48, 1)));
  const std::string predict =
      "predict --model " + shell_quote(checkpoint.string()) + " " + shell_quote((dir / "photo.jpg").string());

  const auto plain = run_trashcl(predict);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.err.find("--predict-prior"), std::string::npos) << plain.err;
  const auto uniform = run_trashcl(predict + " --predict-prior uniform");
  ASSERT_EQ(uniform.exit_code, 0) << uniform.err;
  EXPECT_NE(uniform.err.find("ce.ckpt: --predict-prior has no effect: the model was trained with loss = ce"),
            std::string::npos)
      << uniform.err;
  EXPECT_EQ(uniform.out, plain.out);  // the same record, probabilities included
}

}  // namespace
}  // namespace trashcl
