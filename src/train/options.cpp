#include "train/options.h"

#include <algorithm>
#include <stdexcept>

namespace trashcl {

namespace {

// Keys that one choice of the config leaves unused, and that choice ("loss = ce").
struct UnusedKeys {
  std::string because;
  std::vector<std::string> keys;
};

std::vector<UnusedKeys> unused_keys(const Config& config) {
  const std::vector<std::string> momentum_keys = {"moco_m", "moco_m_schedule", "key_batch_groups", "queue_size"};
  const std::vector<std::string> paco_keys = {"alpha", "paco_beta", "paco_gamma", "positive_weighting", "alpha_total",
                                              "predict_prior"};
  std::vector<UnusedKeys> unused;
  if (config.loss == "ce") {
    // No contrast, no positive view (plain cross-entropy trains on the anchor view alone).
    std::vector<std::string> keys = {"tau", "contrastive_schedule", "positive_scale_min", "positive_jitter_p",
                                     "grayscale_p", "blur_p"};
    keys.insert(keys.end(), momentum_keys.begin(), momentum_keys.end());
    keys.insert(keys.end(), paco_keys.begin(), paco_keys.end());
    unused.push_back({"loss = ce", keys});
  } else {
    if (!config.momentum) unused.push_back({"momentum = false", momentum_keys});
    if (config.loss == "supcon") {
      unused.push_back({"loss = supcon", paco_keys});
    } else if (config.positive_weighting == "fixed_total") {
      unused.push_back({"positive_weighting = fixed_total", {"alpha"}});
    } else {
      unused.push_back({"positive_weighting = per_sample", {"alpha_total"}});
    }
  }
  if (config.features == "pool") unused.push_back({"features = pool", {"hash_bits", "hash_beta_rate", "lambda_q"}});
  if (config.head == "linear") {
    unused.push_back({"head = linear", {"decoder_memory", "decoder_width", "learnable_queries", "decoder_query_std"}});
  }
  return unused;
}

}  // namespace

AugmentConfig augment_config(const Config& config) {
  AugmentConfig augment;
  augment.image_size = config.image_size;
  augment.anchor_scale_min = config.anchor_scale_min;
  augment.anchor_jitter = config.anchor_jitter;
  augment.randaugment_ops = config.randaugment_ops;
  augment.randaugment_magnitude = config.randaugment_magnitude;
  augment.positive_scale_min = config.positive_scale_min;
  augment.positive_jitter_p = config.positive_jitter_p;
  augment.grayscale_p = config.grayscale_p;
  augment.blur_p = config.blur_p;
  return augment;
}

LoadOptions load_options(const Config& config) {
  LoadOptions options;
  options.decode.max_short_side = config.effective_decode_short_side();
  options.cache_bytes = int64_t{config.cache_mb} << 20;
  options.threads = 2;
  return options;
}

ModelOptions model_options(const Config& config, const std::vector<double>& class_prior) {
  ModelOptions options;
  options.backbone = config.backbone;
  options.num_classes = static_cast<int64_t>(class_prior.size());
  options.features = config.features;
  options.hash_bits = config.hash_bits;
  options.head = config.head;
  options.decoder_memory = config.decoder_memory;
  options.decoder_width = config.decoder_width;
  options.decoder_learnable_queries = config.learnable_queries;
  options.decoder_query_std = config.decoder_query_std;
  options.momentum = config.momentum;
  options.momentum_m = config.moco_m;
  options.momentum_schedule = config.moco_m_schedule;
  options.symmetric = config.symmetric;
  options.key_gradient = config.key_gradient;
  options.query_positives = config.query_positives;
  options.key_batch_groups = config.key_batch_groups;
  options.queue_size = config.queue_size;
  options.loss = config.loss;
  options.tau = config.tau;
  options.alpha = config.alpha;
  options.beta = config.paco_beta;
  options.gamma = config.paco_gamma;
  options.positive_weighting = config.positive_weighting;
  options.alpha_total = config.alpha_total;
  options.contrastive_schedule = config.contrastive_schedule;
  options.label_smoothing = config.label_smoothing;
  options.predict_prior = config.predict_prior;
  options.lambda_q = config.lambda_q;
  options.hash_beta_rate = config.hash_beta_rate;
  options.class_prior = class_prior;
  return options;
}

std::vector<std::string> settings_without_effect(Config config) {
  Config default_config;
  const auto fields = config.fields(), defaults = default_config.fields();
  std::vector<std::string> settings;
  for (const auto& [because, keys] : unused_keys(config)) {
    for (const auto& key : keys) {
      const auto at =
          std::find_if(fields.begin(), fields.end(), [&key](const auto& field) { return field.name == key; });
      if (at == fields.end()) throw std::logic_error("settings_without_effect: no config key " + key);
      const std::string value = value_to_toml(*at);
      if (value != value_to_toml(defaults[static_cast<size_t>(at - fields.begin())])) {
        settings.push_back(key + " = " + value + " (" + because + ")");
      }
    }
  }
  return settings;
}

}  // namespace trashcl
