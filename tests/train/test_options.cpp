// Settings that the rest of the config leaves without effect are named, and only those.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/error.h"
#include "train/options.h"

namespace trashcl {
namespace {

using Settings = std::vector<std::string>;

TEST(Options, TheDefaultsAndEveryPresetTakeEffectWhole) {
  EXPECT_EQ(settings_without_effect(Config{}), Settings{});
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(TRASHCL_SOURCE_DIR) / "configs")) {
    Config preset;
    apply_config_file(entry.path().string(), preset);
    EXPECT_EQ(settings_without_effect(preset), Settings{}) << entry.path();
  }
}

TEST(Options, TheKeyEncodersSubBatchesComeFromTheConfig) {
  Config config;
  config.key_batch_groups = 2;
  EXPECT_EQ(model_options(config, {0.5, 0.5}).key_batch_groups, 2);
  config.key_batch_groups = 0;
  EXPECT_THROW(validate(model_options(config, {0.5, 0.5})), UserError);
}

TEST(Options, CrossEntropyLeavesTheContrastAndThePositiveViewUnused) {
  Config config;
  config.loss = "ce";
  config.momentum = false;  // no effect either, but its own choice, and the CE preset's
  config.paco_gamma = 0.001;
  config.tau = 0.2;
  config.positive_jitter_p = 0.0;
  config.queue_size = 512;
  config.predict_prior = "uniform";
  config.anchor_scale_min = 0.25;  // the anchor view is the one cross-entropy trains on
  config.label_smoothing = 0.1;
  EXPECT_EQ(settings_without_effect(config),
            (Settings{"tau = 0.2 (loss = ce)", "positive_jitter_p = 0.0 (loss = ce)", "queue_size = 512 (loss = ce)",
                      "paco_gamma = 0.001 (loss = ce)", "predict_prior = 'uniform' (loss = ce)"}));
}

TEST(Options, EachChoiceNamesTheKeysItLeavesUnused) {
  Config config;
  config.momentum = false;
  config.moco_m = 0.9;
  config.moco_m_schedule = "cosine";
  config.key_batch_groups = 2;
  config.tau = 0.1;  // the contrast is still there
  EXPECT_EQ(settings_without_effect(config),
            (Settings{"moco_m = 0.9 (momentum = false)", "moco_m_schedule = 'cosine' (momentum = false)",
                      "key_batch_groups = 2 (momentum = false)"}));

  config = Config{};
  config.alpha = 0.1;
  config.alpha_total = 0.5;
  EXPECT_EQ(settings_without_effect(config), Settings{"alpha = 0.1 (positive_weighting = fixed_total)"});
  config.positive_weighting = "per_sample";
  EXPECT_EQ(settings_without_effect(config), Settings{"alpha_total = 0.5 (positive_weighting = per_sample)"});

  config = Config{};
  config.loss = "supcon";
  config.paco_beta = 2.0;
  config.label_smoothing = 0.1;  // supcon trains its head by cross-entropy, smoothed
  EXPECT_EQ(settings_without_effect(config), Settings{"paco_beta = 2.0 (loss = supcon)"});

  config = Config{};
  config.features = "pool";
  config.head = "linear";
  config.hash_bits = 32;
  config.lambda_q = 0.1;
  config.decoder_width = 128;
  config.learnable_queries = true;
  EXPECT_EQ(settings_without_effect(config),
            (Settings{"hash_bits = 32 (features = pool)", "lambda_q = 0.1 (features = pool)",
                      "decoder_width = 128 (head = linear)", "learnable_queries = true (head = linear)"}));
}

}  // namespace
}  // namespace trashcl
