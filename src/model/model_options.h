// Every switch of the classifier in one flat struct (nanoGPT style), with its default.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "loss/contrastive.h"
#include "model/encoder.h"
#include "model/group_decoder.h"

namespace trashcl {

struct ModelOptions {
  std::string backbone = "resnet18";       // make_backbone name: resnet18 | resnet34 | resnet50 | tiny
  int64_t num_classes = 0;                 // N; required (> 0)
  std::string features = "hash";           // hash (hash feature fusion, u) | pool (GAP of C5, no hash)
  int64_t hash_bits = 64;                  // L
  std::string head = "decoder";            // decoder (group-query decoder) | linear (Linear on the features) |
                                           // linear+decoder (their sum; the decoder starts at 0, a correction)
  int64_t decoder_width = 256;             // D
  int64_t decoder_heads = 8;               // cross-attention heads; must divide decoder_width
  int64_t decoder_hidden = 2048;           // feed-forward hidden width
  double decoder_dropout = 0.1;            // decoder dropout, training only
  int64_t decoder_max_queries = 100;       // K_g = min(N, this)
  bool decoder_learnable_queries = false;  // learn the queries instead of fixing them at random
  double decoder_query_std = 0.0625;       // standard deviation of the random queries (ML-Decoder: 1; see docs/model.md)
  std::string decoder_memory = "spatial";  // codes ([h3,h4,h5,u], 4 tokens) | spatial (per-position + u)
  int64_t embed_dim = 128;                 // d of the projection head
  int64_t projection_hidden = 512;         // hidden width of the projection MLP
  bool momentum = true;                    // key encoder + queue; off: the positive view goes through the
                                           // query encoder with gradient and there is no queue
  double momentum_m = 0.99;                // EMA momentum m; (1 - m) x steps should be >> 1
  // m over training (momentum_at): constant, or cosine - m rises from momentum_m at the first step to 1 at the
  // last, so the key encoder follows the query encoder ever more slowly (BYOL's and MoCo v3's schedule).
  std::string momentum_schedule = "constant";
  // With the momentum encoder: also contrast the positive view's query against the anchor view's key (MoCo
  // v3's symmetrised loss), so both views train the query encoder; the loss is the mean of the two directions.
  bool symmetric = false;
  // Without the momentum encoder: whether the positive view's keys carry gradient (the contrast then moves both
  // embeddings of a pair); false detaches them, as the momentum encoder's keys are.
  bool key_gradient = true;
  // With the momentum encoder: the positive views also go through the query encoder, with gradient, and those
  // embeddings join the contrast set beside the momentum keys and the queue, so the contrast moves both
  // embeddings of a pair as it does without the momentum encoder. Only the momentum keys are queued.
  bool query_positives = false;
  int64_t queue_size = 1024;               // Q; >= batch size and <= training-set size
  int64_t key_batch_groups = 4;            // shuffled sub-batches of the key encoder (shuffle-BN substitute)
  std::string loss = "paco";               // paco | ce | supcon (SupCon + cross-entropy on z)
  double tau = 0.07;                       // contrastive temperature
  double alpha = 0.05;                     // PaCo weight of each sample positive (per_sample)
  double beta = 1.0;                       // PaCo weight of the class-centre positive
  double gamma = 1.0;                      // PaCo weight of the samples in the denominator
  std::string positive_weighting = "fixed_total";  // per_sample | fixed_total (see docs/model.md)
  double alpha_total = 1.0;                // fixed_total: total weight of an anchor's sample positives
  // Weight of the contrastive part over training (contrastive_weight): constant, or parabolic - the sample
  // positives' weight (PaCo) or the SupCon term times 1 - (step/steps)^2, so the class centres train alone
  // at the end (Hybrid-SC's curriculum, Wang et al. 2021).
  std::string contrastive_schedule = "constant";
  double label_smoothing = 0.0;            // of the class targets: cross-entropy (ce, supcon), PaCo's centres
  // PaCo trains the class-centre logits as z + log(pi), so z alone scores every class as equally likely.
  // train: predict with z + log(pi), the training frequencies (best top-1 when new photos come in those
  // proportions); uniform: predict with z (balanced; better recall on rare classes). No effect for ce/supcon.
  std::string predict_prior = "train";
  double lambda_q = 0.05;                  // weight of the quantisation loss (features = hash)
  double hash_beta_rate = kHashNetBetaRate; // HashNet: beta = sqrt(1 + rate * step) (features = hash)
  std::vector<double> class_prior;         // training-set class frequencies pi [N]; empty: uniform
};

// Whether the head has the group decoder (head = decoder or linear+decoder), and the Linear classifier
// on the features (head = linear or linear+decoder).
bool has_decoder(const ModelOptions& options);
bool has_linear_classifier(const ModelOptions& options);

// The options of the prediction model alone, what a weight average holds: the same without the momentum branch
// (and so without the symmetric loss, which needs it).
ModelOptions without_momentum_branch(ModelOptions options);

// Throws UserError naming the first invalid option, its value and the accepted values.
void validate(const ModelOptions& options);

// The pieces' own options, derived from ModelOptions.
EncoderOptions encoder_options(const ModelOptions& options);
GroupDecoderOptions decoder_options(const ModelOptions& options, int64_t input_dim);
// contrastive_weight_scale: the contrastive_schedule's factor at this step (1 for constant).
PacoOptions paco_options(const ModelOptions& options, double contrastive_weight_scale = 1.0);

// The contrastive_schedule's factor at `step` of `total_steps`: 1 for constant; 1 - (step/total)^2 for
// parabolic (1 at the start, 0.75 half way, 0 at the end). Pure function of the step, like the learning rate.
double contrastive_weight(const std::string& schedule, int64_t step, int64_t total_steps);

// The momentum_schedule's m at `step` of `total_steps`: momentum_m for constant; for cosine
// 1 - (1 - momentum_m) (1 + cos(pi step/total)) / 2 (momentum_m at the start, half way to 1 at the middle, 1 at
// the end). Pure function of the step, like the learning rate.
double momentum_at(const std::string& schedule, double momentum_m, int64_t step, int64_t total_steps);

}  // namespace trashcl
