#include "train/options.h"

namespace trashcl {

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

}  // namespace trashcl
