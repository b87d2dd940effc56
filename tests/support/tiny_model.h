// The smallest model the tests build, and untrained checkpoints of it for the commands that need a model, not a
// good one: saving one takes a fraction of a second where even two training steps take several.
// (A header, not support/*.cpp: those join every test executable, and the data tests do not link the trainer.)
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "common/config.h"
#include "model/contrastive_classifier.h"
#include "train/bins.h"
#include "train/checkpoint.h"
#include "train/options.h"

namespace trashcl::testing {

// The `tiny` backbone at 32 px, a 16-bit code, a 32-wide decoder, a 16-key queue and batches of 8.
inline Config tiny_model_config() {
  Config config;
  config.backbone = "tiny";
  config.image_size = 32;
  config.hash_bits = 16;
  config.decoder_width = 32;
  config.queue_size = 16;
  config.batch_size = 8;
  return config;
}

// Saves a randomly initialised model of `config` for these classes, whose training counts set its class prior.
// The same seed gives the same weights.
inline void write_untrained_checkpoint(const std::filesystem::path& path, const Config& config,
                                       const std::vector<std::string>& class_names,
                                       const std::vector<int64_t>& train_class_counts, uint64_t seed) {
  const auto images = static_cast<double>(std::accumulate(train_class_counts.begin(), train_class_counts.end(), int64_t{0}));
  std::vector<double> prior;
  for (int64_t count : train_class_counts) prior.push_back(static_cast<double>(count) / images);
  torch::manual_seed(seed);
  ContrastiveClassifier model(model_options(config, prior));
  model->eval();
  CheckpointMeta meta;
  meta.config_toml = config_to_toml(config);
  meta.class_names = class_names;
  meta.class_bins = class_bins(class_names, "");
  meta.train_class_counts = train_class_counts;
  meta.image_size = config.image_size;
  save_checkpoint(path, model, nullptr, meta);
}

}  // namespace trashcl::testing
