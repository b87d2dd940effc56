// PaCo, SupCon and cross-entropy: the invariants of docs/method.md and numerical safety.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/error.h"
#include "loss/contrastive.h"
#include "loss/cross_entropy.h"

namespace trashcl {
namespace {

namespace F = torch::nn::functional;

// B = 6 anchors, N = 4 classes, d = 8, Q = 10 with 3 empty slots.
struct Batch {
  ContrastSet set;
  torch::Tensor logits, log_prior;
};

Batch make_batch(uint64_t seed, torch::Dtype dtype = torch::kFloat32) {
  torch::manual_seed(seed);
  auto unit = [dtype](int64_t rows) { return F::normalize(torch::randn({rows, 8}, dtype), F::NormalizeFuncOptions().dim(1)); };
  Batch batch;
  batch.set.queries = unit(6);
  batch.set.keys = unit(6);
  batch.set.labels = torch::tensor({0, 1, 1, 2, 3, 0}, torch::kInt64);
  batch.set.queue = unit(10);
  batch.set.queue_labels = torch::tensor({1, -1, 0, 2, -1, 1, 3, -1, 0, 2}, torch::kInt64);
  batch.logits = torch::randn({6, 4}, dtype) * 2;
  batch.log_prior = torch::tensor({0.4, 0.3, 0.2, 0.1}, dtype).log();
  return batch;
}

TEST(Paco, AlphaZeroGammaZeroIsCrossEntropyOnRebalancedLogits) {
  auto batch = make_batch(0);
  PacoOptions options;
  options.alpha = 0.0;
  options.gamma = 0.0;
  options.positive_weighting = "per_sample";
  auto paco = paco_loss(batch.set, batch.logits, batch.log_prior, options);
  auto expected = cross_entropy(batch.logits + batch.log_prior, batch.set.labels);
  EXPECT_NEAR(paco.item<double>(), expected.item<double>(), 1e-5);
  options.beta = 3.0;  // the centre weight cancels in the normalisation
  EXPECT_NEAR(paco_loss(batch.set, batch.logits, batch.log_prior, options).item<double>(), expected.item<double>(), 1e-5);
}

TEST(Paco, LabelSmoothingSmoothsTheCentresAsCrossEntropyDoes) {
  auto batch = make_batch(0);
  PacoOptions options;
  options.alpha_total = 0.0;
  options.gamma = 0.0;
  options.label_smoothing = 0.1;
  auto expected = cross_entropy(batch.logits + batch.log_prior, batch.set.labels, 0.1);
  EXPECT_NEAR(paco_loss(batch.set, batch.logits, batch.log_prior, options).item<double>(), expected.item<double>(), 1e-5);
  // With the samples back, smoothing changes only the centre targets. Every anchor's positives weigh beta +
  // alpha_total = 2, so the loss moves by eps / 2 x mean_i (c_iy - mean_c c_ic), c = z + log pi.
  options.alpha_total = 1.0;
  options.gamma = 1.0;
  const auto smoothed = paco_loss(batch.set, batch.logits, batch.log_prior, options).item<double>();
  options.label_smoothing = 0.0;
  const auto sharp = paco_loss(batch.set, batch.logits, batch.log_prior, options).item<double>();
  auto centres = batch.logits + batch.log_prior;                                        // [B,N]
  auto own = centres.gather(1, batch.set.labels.unsqueeze(1)).squeeze(1);                // [B]
  const auto shift = 0.1 / 2.0 * (own - centres.mean(1)).mean().item<double>();
  EXPECT_NEAR(smoothed - sharp, shift, 1e-5);
  options.label_smoothing = 1.0;
  EXPECT_THROW(paco_loss(batch.set, batch.logits, batch.log_prior, options), UserError);
}

TEST(Paco, WithoutCentresIsSupConOverTheContrastSet) {
  auto batch = make_batch(1);
  const auto supcon = supcon_loss(batch.set, 0.1).item<double>();
  for (const char* weighting : {"per_sample", "fixed_total"}) {
    PacoOptions options;
    options.centres = false;
    options.tau = 0.1;
    options.positive_weighting = weighting;
    EXPECT_NEAR(paco_loss(batch.set, {}, {}, options).item<double>(), supcon, 1e-5) << weighting;
  }
}

// Every photo its own class: anchor i's one positive is its own key and every other valid sample a negative, so
// SupCon over the set is InfoNCE (checked against a loop over the contrast set); empty queue slots stay out.
TEST(InstanceLabels, SupConOverThemIsInfoNceWithTheOwnKeyTheOnlyPositive) {
  auto batch = make_batch(2, torch::kFloat64);
  batch.set.anchor_labels = torch::tensor({1, 1, 1, 1, 1, 1}, torch::kInt64);
  const ContrastSet instances = with_instance_labels(batch.set);
  EXPECT_TRUE(instances.labels.equal(torch::arange(6, torch::kInt64)));
  EXPECT_FALSE(instances.anchor_labels.defined());
  EXPECT_TRUE(instances.queue_labels.equal(torch::tensor({6, -1, 8, 9, -1, 11, 12, -1, 14, 15}, torch::kInt64)));
  EXPECT_TRUE(instances.queries.equal(batch.set.queries) && instances.keys.equal(batch.set.keys) &&
              instances.queue.equal(batch.set.queue));

  const double tau = 0.2;
  const auto written = batch.set.queue_labels >= 0;  // [Q]
  double expected = 0;
  for (int64_t i = 0; i < 6; ++i) {
    std::vector<torch::Tensor> samples;  // all but the anchor itself and the empty slots
    for (int64_t j = 0; j < 6; ++j) {
      if (j != i) samples.push_back(batch.set.queries[j]);
    }
    for (int64_t j = 0; j < 6; ++j) samples.push_back(batch.set.keys[j]);
    for (int64_t j = 0; j < 10; ++j) {
      if (written[j].item<bool>()) samples.push_back(batch.set.queue[j]);
    }
    const auto logits = torch::matmul(torch::stack(samples), batch.set.queries[i]) / tau;  // [5+6+7]
    const double own_key = (batch.set.queries[i].dot(batch.set.keys[i]) / tau).item<double>();
    expected -= (own_key - torch::logsumexp(logits, 0).item<double>()) / 6;
  }
  EXPECT_NEAR(supcon_loss(instances, tau).item<double>(), expected, 1e-10);
  batch.set.anchor_labels = torch::Tensor();
  EXPECT_GT(std::abs(supcon_loss(batch.set, tau).item<double>() - expected), 1e-3)
      << "with class labels an anchor has its class's samples as positives too";
}

// anchor_labels re-score the anchors alone: their centre positive (checked against cross-entropy) and which samples
// are their positives (checked against a loop over the contrast set), the samples' own labels unchanged.
TEST(Paco, AnchorLabelsChooseTheAnchorsPositivesAndLeaveTheSamplesLabels) {
  auto batch = make_batch(3, torch::kFloat64);
  batch.set.anchor_labels = torch::tensor({2, 0, 1, 3, 3, 1}, torch::kInt64);
  PacoOptions centres_only;
  centres_only.alpha_total = 0.0;
  centres_only.gamma = 0.0;
  EXPECT_NEAR(paco_loss(batch.set, batch.logits, batch.log_prior, centres_only).item<double>(),
              cross_entropy(batch.logits + batch.log_prior, batch.set.anchor_labels).item<double>(), 1e-9);

  PacoOptions samples_only;
  samples_only.centres = false;
  samples_only.tau = 0.5;
  samples_only.positive_weighting = "per_sample";
  samples_only.alpha = 1.0;
  const auto& set = batch.set;
  auto contrast = torch::cat({set.queries, set.keys, set.queue});                       // [M,d]
  auto contrast_labels = torch::cat({set.labels, set.labels, set.queue_labels});        // [M]
  double total = 0;
  int64_t anchors = 0;
  for (int64_t i = 0; i < 6; ++i) {
    std::vector<double> logits;
    std::vector<bool> positive;
    for (int64_t j = 0; j < contrast.size(0); ++j) {
      if (j == i || contrast_labels[j].item<int64_t>() < 0) continue;
      logits.push_back(set.queries[i].dot(contrast[j]).item<double>() / 0.5);
      positive.push_back(contrast_labels[j].item<int64_t>() == set.anchor_labels[i].item<int64_t>());
    }
    const double log_denominator = torch::tensor(logits, torch::kFloat64).logsumexp(0).item<double>();
    double sum = 0;
    int count = 0;
    for (size_t j = 0; j < logits.size(); ++j) {
      if (!positive[j]) continue;
      sum += logits[j] - log_denominator;
      ++count;
    }
    if (count == 0) continue;  // an anchor without a positive is left out of the mean
    total += -sum / count;
    ++anchors;
  }
  EXPECT_NEAR(paco_loss(set, {}, {}, samples_only).item<double>(), total / static_cast<double>(anchors), 1e-9);

  batch.set.anchor_labels = batch.set.labels;  // the same labels: the same loss as without them
  const PacoOptions defaults;
  const auto same = paco_loss(batch.set, batch.logits, batch.log_prior, defaults).item<double>();
  batch.set.anchor_labels = torch::Tensor();
  EXPECT_NEAR(same, paco_loss(batch.set, batch.logits, batch.log_prior, defaults).item<double>(), 1e-12);
  batch.set.anchor_labels = torch::tensor({0, 1}, torch::kInt64);
  EXPECT_THROW(paco_loss(batch.set, batch.logits, batch.log_prior, defaults), UserError);
}

TEST(Paco, EmptyQueueSlotsChangeNothingWhateverTheyHold) {
  for (const char* weighting : {"per_sample", "fixed_total"}) {
    PacoOptions options;
    options.positive_weighting = weighting;
    auto clean = make_batch(2);
    auto garbage = make_batch(2);
    garbage.set.queue = garbage.set.queue.clone();
    auto empty = garbage.set.queue_labels < 0;  // [Q]
    garbage.set.queue.index_put_({empty}, torch::full({3, 8}, 1e3));
    garbage.set.queries.requires_grad_(true);
    clean.set.queries.requires_grad_(true);
    auto with_garbage = paco_loss(garbage.set, garbage.logits, garbage.log_prior, options);
    // The reference has the empty slots removed altogether.
    auto kept = clean.set.queue_labels >= 0;
    clean.set.queue = clean.set.queue.index({kept});
    clean.set.queue_labels = clean.set.queue_labels.index({kept});
    auto without = paco_loss(clean.set, clean.logits, clean.log_prior, options);
    EXPECT_NEAR(with_garbage.item<double>(), without.item<double>(), 1e-5) << weighting;
    with_garbage.backward();
    without.backward();
    EXPECT_TRUE(torch::allclose(garbage.set.queries.grad(), clean.set.queries.grad(), 1e-5, 1e-6)) << weighting;
    EXPECT_NEAR(supcon_loss(garbage.set).item<double>(), supcon_loss(clean.set).item<double>(), 1e-5);
  }
}

TEST(Paco, FixedTotalSharesTheSampleWeightPerAnchor) {
  // Every anchor has the same number of sample positives here, so alpha_total spread over them equals
  // per-sample weighting with alpha = alpha_total / count.
  auto batch = make_batch(3);
  batch.set.labels = torch::zeros({6}, torch::kInt64);
  batch.set.queue_labels = torch::tensor({0, 0, 1, 1, 1, 1, 1, 1, 1, 1}, torch::kInt64);
  PacoOptions fixed;
  fixed.alpha_total = 0.7;
  PacoOptions per_sample;
  per_sample.positive_weighting = "per_sample";
  per_sample.alpha = 0.7 / (5 + 6 + 2);  // 5 other queries, 6 keys, 2 queue rows
  EXPECT_NEAR(paco_loss(batch.set, batch.logits, batch.log_prior, fixed).item<double>(),
              paco_loss(batch.set, batch.logits, batch.log_prior, per_sample).item<double>(), 1e-5);
}

TEST(Paco, FiniteInFloat32FromBfloat16AndAtExtremeSimilarities) {
  auto batch = make_batch(4, torch::kBFloat16);
  PacoOptions options;
  options.tau = 0.01;  // sample logits up to 100
  auto loss = paco_loss(batch.set, batch.logits, batch.log_prior, options);
  EXPECT_EQ(loss.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(std::isfinite(loss.item<double>()));
  auto queries = batch.set.queries.to(torch::kFloat32).requires_grad_(true);
  batch.set.queries = queries;
  options.gamma = 0.0;
  paco_loss(batch.set, batch.logits, batch.log_prior, options).backward();
  EXPECT_TRUE(torch::isfinite(queries.grad()).all().item<bool>());
}

TEST(Paco, WorksWithoutAQueue) {
  auto batch = make_batch(5);
  batch.set.queue = torch::Tensor();
  batch.set.queue_labels = torch::Tensor();
  EXPECT_TRUE(std::isfinite(paco_loss(batch.set, batch.logits, batch.log_prior, PacoOptions{}).item<double>()));
  EXPECT_TRUE(std::isfinite(supcon_loss(batch.set).item<double>()));
}

TEST(Paco, RejectsBadOptionsAndInputs) {
  auto batch = make_batch(6);
  PacoOptions options;
  options.positive_weighting = "per_class";
  EXPECT_THROW(paco_loss(batch.set, batch.logits, batch.log_prior, options), UserError);
  options = PacoOptions{};
  options.centres = false;
  options.gamma = 0.0;
  EXPECT_THROW(paco_loss(batch.set, batch.logits, batch.log_prior, options), UserError);
  options = PacoOptions{};
  EXPECT_THROW(paco_loss(batch.set, batch.logits.narrow(1, 0, 3), batch.log_prior, options), UserError);
  batch.set.keys = torch::Tensor();
  EXPECT_THROW(paco_loss(batch.set, batch.logits, batch.log_prior, options), UserError);
}

TEST(CrossEntropy, MatchesTorchWithAndWithoutLabelSmoothing) {
  torch::manual_seed(7);
  auto logits = torch::randn({5, 4});
  auto labels = torch::tensor({0, 3, 1, 1, 2}, torch::kInt64);
  EXPECT_NEAR(cross_entropy(logits, labels).item<double>(), F::cross_entropy(logits, labels).item<double>(), 1e-6);
  EXPECT_NEAR(cross_entropy(logits, labels, 0.1).item<double>(),
              F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().label_smoothing(0.1)).item<double>(), 1e-6);
  EXPECT_THROW(cross_entropy(logits, labels, 1.0), UserError);
}

}  // namespace
}  // namespace trashcl
