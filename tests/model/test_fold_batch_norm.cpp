// fold_batch_norm: the folded model computes what the model with its BatchNorms computed, for every backbone.
#include <gtest/gtest.h>

#include <string>

#include "model/backbone.h"
#include "model/contrastive_classifier.h"
#include "model/copy_model.h"
#include "model/fold_batch_norm.h"
#include "model_testing.h"

namespace trashcl {
namespace {

// Statistics and affine parts far from BN's initial identity, so that folding has something to fold
// (zero_init_residual's gamma = 0 included).
void randomise_batch_norms(torch::nn::Module& module, uint64_t seed) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  for (const auto& child : module.modules(/*include_self=*/false)) {
    if (auto* norm = child->as<torch::nn::BatchNorm2dImpl>()) {
      norm->weight.uniform_(0.5, 1.5);
      norm->bias.normal_(0, 0.2);
      norm->running_mean.normal_(0, 0.2);
      norm->running_var.uniform_(0.5, 2.0);
    }
  }
}

int64_t count_batch_norms(torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& child : module.modules(/*include_self=*/false)) count += child->as<torch::nn::BatchNorm2dImpl>() != nullptr;
  return count;
}

// |a - b| <= tolerance * max(1, |b|) elementwise maximum.
void expect_close(const torch::Tensor& actual, const torch::Tensor& expected, double tolerance, const std::string& what) {
  const double scale = std::max(1.0, expected.abs().max().item<double>());
  const double error = (actual - expected).abs().max().item<double>();
  EXPECT_LE(error, tolerance * scale) << what << ": max error " << error << " at scale " << scale;
}

class FoldEveryBackbone : public ::testing::TestWithParam<std::string> {};

TEST_P(FoldEveryBackbone, FoldedModelGivesTheSameLogitsAndCodes) {
  const std::string backbone = GetParam();
  auto options = testing::tiny_model_options(4);
  options.backbone = backbone;
  torch::manual_seed(0);
  ContrastiveClassifier model(options);
  randomise_batch_norms(*model, 1);
  model->eval();
  const int64_t size = backbone == "tiny" ? 32 : 64;
  const auto images = torch::randn({2, 3, size, size});  // [B,3,S,S]
  torch::NoGradGuard no_grad;
  const auto logits = model->forward_logits(images), codes = model->hash_code(images);  // [B,N], [B,L]

  ContrastiveClassifier folded = copy_model(model);
  const int64_t norms = count_batch_norms(*folded);
  ASSERT_GT(norms, 0);
  EXPECT_EQ(fold_batch_norm(*folded), norms) << "every BatchNorm2d of " << backbone << " follows a conv";
  for (const auto& child : folded->modules(/*include_self=*/false)) {
    if (auto* norm = child->as<torch::nn::BatchNorm2dImpl>()) {
      EXPECT_TRUE(is_scale_free(*norm));
    }
  }
  EXPECT_FALSE(folded->is_training());
  expect_close(folded->forward_logits(images), logits, 1e-4, backbone + " logits");
  expect_close(folded->hash_code(images), codes, 1e-4, backbone + " codes");
  // The source model is not touched by folding its copy.
  expect_close(model->forward_logits(images), logits, 0, backbone + " source logits");
}

INSTANTIATE_TEST_SUITE_P(Fold, FoldEveryBackbone, ::testing::ValuesIn(backbone_names()),
                         [](const auto& info) { return info.param; });

TEST(Fold, ConvWithBiasTakesTheShiftAndTheNormBecomesTheIdentity) {
  torch::manual_seed(2);
  torch::nn::Sequential layers(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 5, 3).padding(1).bias(true)),
                               torch::nn::BatchNorm2d(5), torch::nn::ReLU());
  randomise_batch_norms(*layers, 3);
  layers->eval();
  const auto input = torch::randn({2, 3, 6, 6}, torch::kFloat64);
  layers->to(torch::kFloat64);
  torch::NoGradGuard no_grad;
  const auto expected = layers->forward(input);
  EXPECT_EQ(fold_batch_norm(*layers), 1);
  const auto* norm = layers[1]->as<torch::nn::BatchNorm2dImpl>();
  EXPECT_TRUE(is_scale_free(*norm));
  EXPECT_TRUE(norm->bias.eq(0).all().item<bool>());
  expect_close(layers->forward(input), expected, 1e-12, "conv with bias");
}

TEST(Fold, LeavesNormsThatDoNotFollowAConvAlone) {
  torch::manual_seed(4);
  // BN before the conv, a conv whose output width differs from the BN's, and a BatchNorm1d.
  torch::nn::Sequential layers(torch::nn::BatchNorm2d(3), torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 1)),
                               torch::nn::ReLU(), torch::nn::BatchNorm2d(4));
  torch::nn::Sequential mismatched(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 1)), torch::nn::BatchNorm1d(4));
  randomise_batch_norms(*layers, 5);
  EXPECT_EQ(fold_batch_norm(*layers), 0);
  EXPECT_EQ(fold_batch_norm(*mismatched), 0);
  EXPECT_FALSE(is_scale_free(*layers[0]->as<torch::nn::BatchNorm2dImpl>()));
}

TEST(Fold, FoldedConvMatchesTheFormula) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(1, 2, 1).bias(false));
  torch::nn::BatchNorm2d norm(torch::nn::BatchNorm2dOptions(2).eps(0.0));
  {
    torch::NoGradGuard no_grad;
    conv->weight.copy_(torch::tensor({2.0, -1.0}).view({2, 1, 1, 1}));
    norm->weight.copy_(torch::tensor({3.0, 0.5}));
    norm->bias.copy_(torch::tensor({1.0, -2.0}));
    norm->running_mean.copy_(torch::tensor({0.5, 4.0}));
    norm->running_var.copy_(torch::tensor({4.0, 0.25}));
  }
  // s = gamma / sqrt(var) = {1.5, 1}; weight = s W = {3, -1}; bias = beta - s mean = {0.25, -6}.
  const FoldedConv folded = fold_conv_batch_norm(*conv, *norm);
  EXPECT_TRUE(folded.weight.flatten().allclose(torch::tensor({3.0f, -1.0f})));
  EXPECT_TRUE(folded.bias.allclose(torch::tensor({0.25f, -6.0f})));
  EXPECT_EQ(folded.weight.scalar_type(), torch::kFloat32);
  EXPECT_FALSE(folded.weight.requires_grad());
}

}  // namespace
}  // namespace trashcl
