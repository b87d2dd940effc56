// The C++ modules against PyTorch reference outputs written by tools/parity.py (float32, 1e-5).
#include <gtest/gtest.h>

#include "loss/contrastive.h"
#include "model/group_decoder.h"
#include "model/hash_fusion.h"
#include "model_testing.h"

namespace trashcl {
namespace {

using testing::load_fixture;

void expect_close(const torch::Tensor& actual, const std::string& fixture) {
  auto expected = load_fixture(fixture);
  ASSERT_EQ(actual.sizes(), expected.sizes()) << fixture;
  const double gap = (actual.to(torch::kFloat64) - expected).abs().max().item<double>();
  EXPECT_LT(gap, 1e-5) << fixture;
}

TEST(Parity, HashFusionMatchesPyTorch) {
  HashFusion fusion(std::array<int64_t, 3>{6, 8, 10}, 16, /*spatial=*/true);
  testing::load_fixture_weights(*fusion, "fusion.");
  fusion->set_beta(load_fixture("fusion.input.beta").item<double>());
  fusion->train();
  const BackboneFeatures features{load_fixture("fusion.input.c3").to(torch::kFloat32),
                                  load_fixture("fusion.input.c4").to(torch::kFloat32),
                                  load_fixture("fusion.input.c5").to(torch::kFloat32)};
  const auto codes = fusion->forward(features);
  expect_close(codes.u, "fusion.output.u");
  expect_close(codes.tokens, "fusion.output.tokens");
  expect_close(codes.spatial, "fusion.output.spatial");
}

TEST(Parity, GroupDecoderMatchesTorchMultiheadAttention) {
  GroupDecoderOptions options;
  options.input_dim = 16;
  options.num_classes = 5;
  options.width = 32;
  options.heads = 4;
  options.hidden = 32;
  options.max_queries = 3;  // K_g = 3 queries of 2 classes each, cut to 5
  GroupDecoder decoder(options);
  testing::load_fixture_weights(*decoder, "decoder.");
  decoder->eval();
  auto tokens = load_fixture("decoder.input.tokens").to(torch::kFloat32);
  expect_close(decoder->query_features(tokens), "decoder.output.query_features");
  expect_close(decoder->forward(tokens), "decoder.output.logits");
}

TEST(Parity, PacoAndSupConMatchThePacoReferenceForm) {
  ContrastSet set;
  set.queries = load_fixture("paco.input.e").to(torch::kFloat32);
  set.keys = load_fixture("paco.input.k").to(torch::kFloat32);
  set.labels = load_fixture("paco.input.labels").to(torch::kInt64);
  set.queue = load_fixture("paco.input.queue").to(torch::kFloat32);
  set.queue_labels = load_fixture("paco.input.queue_labels").to(torch::kInt64);
  auto logits = load_fixture("paco.input.z").to(torch::kFloat32);
  auto log_prior = load_fixture("paco.input.log_prior").to(torch::kFloat32);

  PacoOptions per_sample;
  per_sample.positive_weighting = "per_sample";
  expect_close(paco_loss(set, logits, log_prior, per_sample), "paco.output.per_sample");
  PacoOptions fixed_total;
  fixed_total.alpha_total = 1.0;
  expect_close(paco_loss(set, logits, log_prior, fixed_total), "paco.output.fixed_total");
  PacoOptions weighted = per_sample;
  weighted.alpha = 0.3;
  weighted.beta = 0.7;
  weighted.gamma = 0.5;
  expect_close(paco_loss(set, logits, log_prior, weighted), "paco.output.gamma_half");
  expect_close(supcon_loss(set, 0.07), "paco.output.supcon");
}

}  // namespace
}  // namespace trashcl
