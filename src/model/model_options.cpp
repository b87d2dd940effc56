#include "model/model_options.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "loss/cross_entropy.h"

namespace trashcl {

namespace {

void require_one_of(const std::string& option, const std::string& value, const std::vector<std::string>& allowed) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return;
  std::string list;
  for (const auto& name : allowed) list += (list.empty() ? "" : " | ") + name;
  throw UserError(option + " = '" + value + "' is unknown; use one of: " + list);
}

void require_positive(const std::string& option, int64_t value, const std::string& hint) {
  if (value <= 0) throw UserError(option + " = " + std::to_string(value) + " must be positive; " + hint);
}

// The share of the run done at `step` of `total_steps`, in [0, 1] (1 past the end, e.g. with --max-steps).
double schedule_progress(int64_t step, int64_t total_steps) {
  return std::clamp(static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, total_steps)), 0.0, 1.0);
}

}  // namespace

bool has_decoder(const ModelOptions& options) { return options.head == "decoder" || options.head == "linear+decoder"; }

bool has_linear_classifier(const ModelOptions& options) {
  return options.head == "linear" || options.head == "linear+decoder";
}

ModelOptions without_momentum_branch(ModelOptions options) {
  options.momentum = false;
  options.symmetric = false;
  options.query_positives = false;
  return options;
}

void validate(const ModelOptions& options) {
  require_positive("num_classes", options.num_classes, "set it to the number of class folders");
  require_one_of("features", options.features, {"hash", "pool"});
  require_one_of("head", options.head, {"decoder", "linear", "linear+decoder"});
  require_one_of("decoder_memory", options.decoder_memory, {"codes", "spatial"});
  require_one_of("loss", options.loss, {"paco", "ce", "supcon"});
  require_one_of("predict_prior", options.predict_prior, {"train", "uniform"});
  require_one_of("positive_weighting", options.positive_weighting, {"per_sample", "fixed_total"});
  require_one_of("contrastive_schedule", options.contrastive_schedule, {"constant", "parabolic"});
  require_one_of("moco_m_schedule", options.momentum_schedule, {"constant", "cosine"});
  require_positive("hash_bits", options.hash_bits, "use 64");
  require_positive("embed_dim", options.embed_dim, "use 128");
  require_positive("projection_hidden", options.projection_hidden, "use 512");
  if (has_decoder(options) && options.decoder_width % std::max<int64_t>(options.decoder_heads, 1) != 0) {
    throw UserError("decoder_heads = " + std::to_string(options.decoder_heads) + " must divide decoder_width = " +
                    std::to_string(options.decoder_width) + "; use 8 heads with a width divisible by 8");
  }
  if (options.loss != "ce" && options.momentum) {
    require_positive("queue_size", options.queue_size, "use 1024 for ~2k training images");
    require_positive("key_batch_groups", options.key_batch_groups, "use 4 (1 disables the shuffle)");
    if (options.momentum_m < 0.0 || options.momentum_m > 1.0) {
      throw UserError("moco_m = " + std::to_string(options.momentum_m) + " must be in [0, 1]; use 0.99");
    }
  }
  if (options.symmetric && (options.loss == "ce" || !options.momentum)) {
    throw UserError("symmetric = true needs the momentum encoder and a contrastive loss (momentum = true, loss = paco "
                    "or supcon); without the momentum encoder both views already train the encoder");
  }
  if (!options.key_gradient && (options.loss == "ce" || options.momentum)) {
    throw UserError("key_gradient = false needs a contrastive loss without the momentum encoder (momentum = false, "
                    "loss = paco or supcon); the momentum encoder's keys never carry gradient");
  }
  if (options.query_positives && (options.loss == "ce" || !options.momentum || options.symmetric)) {
    throw UserError("query_positives = true needs the momentum encoder, a contrastive loss and symmetric = false "
                    "(momentum = true, loss = paco or supcon); without the momentum encoder the positive views "
                    "already go through the query encoder");
  }
  if (options.loss == "paco") validate(paco_options(options));
  if (options.loss != "paco" && !(options.tau > 0.0)) {
    throw UserError("tau = " + std::to_string(options.tau) + " must be > 0; use 0.07");
  }
  check_label_smoothing(options.label_smoothing);
  if (options.lambda_q < 0.0) throw UserError("lambda_q must be >= 0; use 0.05");
  if (!(options.hash_beta_rate >= 0.0) || !std::isfinite(options.hash_beta_rate)) {
    throw UserError("hash_beta_rate = " + std::to_string(options.hash_beta_rate) + " must be >= 0; use 0.005");
  }
  if (!options.class_prior.empty()) {
    if (static_cast<int64_t>(options.class_prior.size()) != options.num_classes) {
      throw UserError("class_prior has " + std::to_string(options.class_prior.size()) + " entries but num_classes = " +
                      std::to_string(options.num_classes) + "; give one frequency per class or leave it empty");
    }
    for (double p : options.class_prior) {
      if (!(p > 0.0) || !std::isfinite(p)) {
        throw UserError("class_prior entries must be positive (every class needs training images)");
      }
    }
  }
}

EncoderOptions encoder_options(const ModelOptions& options) {
  EncoderOptions out;
  out.backbone = options.backbone;
  out.hash = options.features == "hash";
  out.hash_bits = options.hash_bits;
  out.spatial_memory = has_decoder(options) && options.decoder_memory == "spatial";
  out.embed_dim = options.loss == "ce" ? 0 : options.embed_dim;  // plain CE needs no projection head
  out.projection_hidden = options.projection_hidden;
  return out;
}

GroupDecoderOptions decoder_options(const ModelOptions& options, int64_t input_dim) {
  GroupDecoderOptions out;
  out.input_dim = input_dim;
  out.num_classes = options.num_classes;
  out.width = options.decoder_width;
  out.heads = options.decoder_heads;
  out.hidden = options.decoder_hidden;
  out.dropout = options.decoder_dropout;
  out.max_queries = options.decoder_max_queries;
  out.learnable_queries = options.decoder_learnable_queries;
  out.query_std = options.decoder_query_std;
  out.zero_output = options.head == "linear+decoder";
  return out;
}

PacoOptions paco_options(const ModelOptions& options, double contrastive_weight_scale) {
  PacoOptions out;
  out.tau = options.tau;
  out.alpha = options.alpha * contrastive_weight_scale;
  out.beta = options.beta;
  out.gamma = options.gamma;
  out.positive_weighting = options.positive_weighting;
  out.alpha_total = options.alpha_total * contrastive_weight_scale;
  out.label_smoothing = options.label_smoothing;
  return out;
}

double contrastive_weight(const std::string& schedule, int64_t step, int64_t total_steps) {
  if (schedule != "parabolic") return 1.0;
  const double progress = schedule_progress(step, total_steps);
  return 1.0 - progress * progress;
}

double momentum_at(const std::string& schedule, double momentum_m, int64_t step, int64_t total_steps) {
  if (schedule != "cosine") return momentum_m;
  const double progress = schedule_progress(step, total_steps);
  return 1.0 - (1.0 - momentum_m) * (1.0 + std::cos(std::acos(-1.0) * progress)) / 2.0;
}

}  // namespace trashcl
