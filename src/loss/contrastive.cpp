#include "loss/contrastive.h"

#include <cmath>
#include <limits>
#include <vector>

#include "common/error.h"
#include "loss/cross_entropy.h"
#include "loss/loss_dtype.h"

namespace trashcl {

namespace {

struct SampleLogits {
  torch::Tensor logits;  // [B,M] e_i.a_j / tau, -inf where j is the anchor itself or an empty queue slot
  torch::Tensor same;    // [B,M] bool: valid and sharing the anchor's label
};

const torch::Tensor& anchor_labels(const ContrastSet& set) {
  return set.anchor_labels.defined() ? set.anchor_labels : set.labels;  // [B]
}

void check_set(const ContrastSet& set) {
  const auto& e = set.queries;
  if (!e.defined() || !set.keys.defined() || !set.labels.defined() || e.dim() != 2 ||
      !set.keys.sizes().equals(e.sizes()) || set.labels.dim() != 1 || set.labels.size(0) != e.size(0)) {
    throw UserError("contrastive loss: expected query and key embeddings [B,d] and labels [B]; "
                    "pass the positive view so the key embeddings exist");
  }
  const bool has_queue = set.queue.defined() && set.queue.numel() > 0;
  if (has_queue && (set.queue.dim() != 2 || set.queue.size(1) != e.size(1) || !set.queue_labels.defined() ||
                    set.queue_labels.numel() != set.queue.size(0))) {
    throw UserError("contrastive loss: queue must be [Q,d] with queue_labels [Q] and d = embed_dim");
  }
  if (set.anchor_labels.defined() && !set.anchor_labels.sizes().equals(set.labels.sizes())) {
    throw UserError("contrastive loss: anchor_labels must be [B] like labels");
  }
  for (const torch::Tensor* labels : {&set.labels, &set.anchor_labels}) {
    if (labels->defined() && labels->min().item<int64_t>() < 0) throw UserError("contrastive loss: labels must be >= 0");
  }
}

SampleLogits sample_logits(const ContrastSet& set, double tau) {
  check_set(set);
  const auto dtype = loss_dtype(set.queries);
  const int64_t batch = set.queries.size(0);
  auto anchors = set.queries.to(dtype);                                             // [B,d]
  std::vector<torch::Tensor> samples = {anchors, set.keys.to(dtype)};
  std::vector<torch::Tensor> labels = {set.labels, set.labels};
  if (set.queue.defined() && set.queue.numel() > 0) {
    samples.push_back(set.queue.to(dtype));
    labels.push_back(set.queue_labels.to(set.labels.device(), torch::kInt64));
  }
  auto contrast = torch::cat(samples, 0);                                            // [M,d], M = 2B+Q
  auto contrast_labels = torch::cat(labels, 0);                                      // [M]
  auto self = torch::eye(batch, contrast.size(0), torch::dtype(torch::kBool).device(anchors.device()));  // [B,M]
  auto valid = (contrast_labels >= 0).unsqueeze(0) & self.logical_not();            // [B,M]
  SampleLogits out;
  out.same = valid & (contrast_labels.unsqueeze(0) == anchor_labels(set).unsqueeze(1));  // [B,M]
  out.logits = (torch::matmul(anchors, contrast.t()) / tau)                          // [B,M]
                   .masked_fill(valid.logical_not(), -std::numeric_limits<double>::infinity());
  return out;
}

// -sum_p w_p (logit_p - log_denominator) / sum_p w_p per anchor, averaged over anchors with weight.
// Entries with w = 0 (including -inf logits) are replaced by 0 before weighting, so no inf*0 = NaN.
torch::Tensor weighted_nll(const torch::Tensor& logits, const torch::Tensor& weights,
                           const torch::Tensor& log_denominator) {
  auto log_prob = logits - log_denominator;                                          // [B,P]
  log_prob = torch::where(weights > 0, log_prob, torch::zeros_like(log_prob));       // [B,P]
  auto total_weight = weights.sum(1);                                                // [B]
  auto per_anchor = -(weights * log_prob).sum(1) / total_weight.clamp_min(1e-12);    // [B]
  auto counted = (total_weight > 0).to(per_anchor.scalar_type());                    // [B]
  return (per_anchor * counted).sum() / counted.sum().clamp_min(1.0);                // []
}

}  // namespace

void validate(const PacoOptions& options) {
  if (!(options.tau > 0.0)) throw UserError("tau = " + std::to_string(options.tau) + " must be > 0; use 0.07");
  if (options.alpha < 0.0 || options.beta < 0.0 || options.gamma < 0.0 || options.alpha_total < 0.0) {
    throw UserError("alpha, beta, gamma and alpha_total must be >= 0 (defaults 0.05, 1, 1, 1)");
  }
  check_label_smoothing(options.label_smoothing);
  if (options.positive_weighting != "per_sample" && options.positive_weighting != "fixed_total") {
    throw UserError("positive_weighting = '" + options.positive_weighting +
                    "' is unknown; use per_sample or fixed_total");
  }
  if (!options.centres && options.gamma == 0.0) {
    throw UserError("gamma = 0 removes every sample from the denominator, and without class centres "
                    "nothing is left; use gamma > 0");
  }
}

torch::Tensor paco_loss(const ContrastSet& set, const torch::Tensor& logits, const torch::Tensor& log_prior,
                        const PacoOptions& options) {
  validate(options);
  const auto samples = sample_logits(set, options.tau);
  const auto dtype = samples.logits.scalar_type();
  auto same = samples.same.to(dtype);                                                // [B,M]
  auto sample_weights = options.positive_weighting == "per_sample"
                            ? same * options.alpha                                   // [B,M]
                            : same * (options.alpha_total / same.sum(1, true).clamp_min(1.0));  // [B,M]
  std::vector<torch::Tensor> denominator, numerator = {samples.logits}, weights = {sample_weights};
  if (options.gamma > 0.0) denominator.push_back(samples.logits + std::log(options.gamma));  // [B,M]
  if (options.centres) {
    if (!logits.defined() || logits.dim() != 2 || logits.size(0) != set.queries.size(0) ||
        !log_prior.defined() || log_prior.numel() != logits.size(1)) {
      throw UserError("paco_loss: expected class logits z [B,N] and log_prior [N]");
    }
    const int64_t classes = logits.size(1);
    for (const torch::Tensor* labels : {&set.labels, &set.anchor_labels}) {
      if (labels->defined() && labels->max().item<int64_t>() >= classes) {
        throw UserError("paco_loss: a label is >= num_classes = " + std::to_string(classes));
      }
    }
    auto centres = logits.to(dtype) + log_prior.to(dtype).unsqueeze(0);             // [B,N]
    const double eps = options.label_smoothing;
    auto own = (torch::one_hot(anchor_labels(set), classes).to(dtype) * (1.0 - eps) + eps / classes) * options.beta;  // [B,N]
    denominator.insert(denominator.begin(), centres);
    numerator.insert(numerator.begin(), centres);
    weights.insert(weights.begin(), own);
  }
  auto log_denominator = torch::logsumexp(torch::cat(denominator, 1), 1, true);     // [B,1]
  return weighted_nll(torch::cat(numerator, 1), torch::cat(weights, 1), log_denominator);  // []
}

torch::Tensor supcon_loss(const ContrastSet& set, double tau) {
  if (!(tau > 0.0)) throw UserError("tau = " + std::to_string(tau) + " must be > 0; use 0.07");
  const auto samples = sample_logits(set, tau);
  auto log_denominator = torch::logsumexp(samples.logits, 1, true);                 // [B,1]
  return weighted_nll(samples.logits, samples.same.to(samples.logits.scalar_type()), log_denominator);  // []
}

ContrastSet with_instance_labels(const ContrastSet& set) {
  check_set(set);
  const auto options = torch::TensorOptions().dtype(torch::kInt64).device(set.labels.device());
  const int64_t batch = set.labels.size(0);
  ContrastSet instances = set;
  instances.labels = torch::arange(batch, options);  // [B]
  instances.anchor_labels = torch::Tensor();
  if (set.queue.defined() && set.queue.numel() > 0) {
    const auto queue_labels = set.queue_labels.to(options);                                    // [Q]
    const auto slots = torch::arange(batch, batch + queue_labels.size(0), options);            // [Q]
    instances.queue_labels = torch::where(queue_labels >= 0, slots, torch::full_like(slots, -1));  // [Q]
  }
  return instances;
}

}  // namespace trashcl
