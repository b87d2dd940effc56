// Contrastive losses over the set [query embeddings; key embeddings; queue]: PaCo and SupCon.
#pragma once
#include <torch/torch.h>

#include <string>

namespace trashcl {

// The samples every anchor is contrasted with. Anchors are the B query embeddings e; the contrast set is
// [e; k; queue] with labels [y; y; queue_labels]. An anchor never contrasts with itself, and queue slots
// with a negative label (never written) are left out of denominators and positives alike.
struct ContrastSet {
  torch::Tensor queries;       // e [B,d], unit vectors
  torch::Tensor keys;          // k [B,d], unit vectors (the positive views)
  torch::Tensor labels;        // y [B] int64 in [0,N)
  torch::Tensor queue;         // [Q,d] the queue and any further labelled samples; undefined or Q = 0 for none
  torch::Tensor queue_labels;  // [Q] int64, -1 = empty slot
  // [B] int64: the labels the anchors are scored by when they are not `labels` (a CutMix anchor scored by its
  // partner photo's label); undefined: `labels`. The samples keep `labels`.
  torch::Tensor anchor_labels{};
};

struct PacoOptions {
  double tau = 0.07;          // temperature of the sample logits e.a / tau
  double alpha = 0.05;        // weight of each same-label sample positive (positive_weighting = per_sample)
  double beta = 1.0;          // weight of the own class centre as a positive
  double gamma = 1.0;         // scales exp(sample logit) in the denominator; 0 drops samples from it
  std::string positive_weighting = "fixed_total";  // per_sample (alpha each) | fixed_total (alpha_total shared)
  double alpha_total = 1.0;   // fixed_total: all sample positives of an anchor share this weight
  bool centres = true;        // false: no class centres at all (logits and beta unused), SupCon-like
  double label_smoothing = 0.0;  // eps: the centre weight beta goes (1 - eps) to the own centre, eps / N to each
};

// PaCo (Cui et al., 2021) with the class-prior rebalance. For anchor i:
//   sample logits  s_ij = e_i.a_j / tau                      over the valid contrast samples
//   centre logits  c_ic = z_ic + log_prior_c                 (training only; at test time z alone)
//   log denom      = logsumexp([c_i ; s_i + log gamma])
//   loss_i = -sum_p w_p (logit_p - log denom) / sum_p w_p,   positives: centre y_i (w = beta) and every
//            valid same-label sample (w = alpha, or alpha_total / count with fixed_total); with label
//            smoothing eps the centres share beta as cross-entropy's smoothed target does: beta (1 - eps + eps/N)
//            on y_i, beta eps/N on every other centre
// Mean over anchors with a positive weight. Computed in float32 (float64 stays float64). With set.anchor_labels,
// y_i above is the anchor's label from there; the samples keep theirs.
// logits z [B,N] and log_prior [N] are ignored (may be undefined) when options.centres is false.
torch::Tensor paco_loss(const ContrastSet& set, const torch::Tensor& logits, const torch::Tensor& log_prior,
                        const PacoOptions& options);

// Supervised contrastive loss (Khosla et al., 2020, L_out) over the same contrast set, no centres:
// loss_i = -mean_{p in P(i)} (s_ip - logsumexp_j s_ij), mean over anchors that have a positive.
torch::Tensor supcon_loss(const ContrastSet& set, double tau = 0.07);

// The same contrast set with every photo its own class, for instance discrimination (the pretext task of MoCo
// and SimCLR): anchor i and its key are labelled i, each written queue slot a label of its own (B + its index),
// empty slots stay -1. Its SupCon loss is InfoNCE: the one positive of anchor i is its own key.
ContrastSet with_instance_labels(const ContrastSet& set);

// Throws UserError naming the option when PacoOptions cannot work (unknown weighting, tau <= 0, ...).
void validate(const PacoOptions& options);

}  // namespace trashcl
