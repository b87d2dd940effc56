// The weight average (model EMA): what it averages, copies and leaves out, its warm-up, and that it leaves
// the trained weights' random stream alone.
#include <gtest/gtest.h>

#include "common/error.h"
#include "model/contrastive_classifier.h"
#include "model/model_testing.h"
#include "train/weight_average.h"

namespace trashcl {
namespace {

ContrastiveClassifier tiny_method_model() {
  ModelOptions options = testing::tiny_model_options(3);
  options.head = "linear+decoder";
  return ContrastiveClassifier(options);
}

// Sets every floating-point parameter and buffer of `model` to `value`, every integer buffer to `count`.
void fill(ContrastiveClassifier& model, double value, int64_t count) {
  torch::NoGradGuard no_grad;
  for (auto& parameter : model->parameters()) parameter.fill_(value);
  for (auto& buffer : model->buffers()) buffer.is_floating_point() ? buffer.fill_(value) : buffer.fill_(count);
}

TEST(WeightAverage, DecayWarmsUpFromTheFirstSteps) {
  EXPECT_DOUBLE_EQ(WeightAverage::decay_at(0.999, 1), 2.0 / 11.0);
  EXPECT_DOUBLE_EQ(WeightAverage::decay_at(0.999, 90), 91.0 / 100.0);
  EXPECT_DOUBLE_EQ(WeightAverage::decay_at(0.999, 100000), 0.999);
  EXPECT_DOUBLE_EQ(WeightAverage::decay_at(0.5, 20), 0.5);  // 21/30 > 0.5
}

TEST(WeightAverage, AveragesFloatingTensorsCopiesCountersAndBetaAndLeavesOutTheMomentumBranch) {
  ContrastiveClassifier model = tiny_method_model();
  ASSERT_TRUE(model->has_momentum());
  fill(model, 2.0, 7);
  WeightAverage average(model, 0.75);
  EXPECT_FALSE(average.model()->has_momentum());
  EXPECT_FALSE(average.model()->is_training());

  fill(model, 6.0, 9);
  model->encoder()->fusion()->set_beta(3.0);
  average.update(model, 1000);  // d = min(0.75, 1001/1010) = 0.75: 0.75 x 2 + 0.25 x 6 = 3
  const auto live = model->named_buffers();
  int64_t counters = 0;
  for (const auto& item : average.model()->named_parameters()) {
    EXPECT_TRUE(torch::allclose(item.value(), torch::full_like(item.value(), 3.0))) << item.key();
  }
  for (const auto& item : average.model()->named_buffers()) {
    if (item.key().find("beta") != std::string::npos) {
      EXPECT_FLOAT_EQ(item.value().item<float>(), 3.0f) << item.key() << ": copied, not averaged";
    } else if (item.value().is_floating_point()) {
      EXPECT_TRUE(torch::allclose(item.value(), torch::full_like(item.value(), 3.0))) << item.key();
    } else {
      EXPECT_TRUE(torch::equal(item.value(), live[item.key()])) << item.key();
      ++counters;
    }
  }
  EXPECT_GT(counters, 0) << "BatchNorm's batch counters are integer buffers";
  for (const auto& item : average.model()->named_parameters()) EXPECT_NE(item.key().rfind("momentum", 0), 0u);
  // The average has every tensor of the prediction model.
  size_t prediction_tensors = 0;
  for (const auto& item : model->named_parameters()) prediction_tensors += item.key().rfind("momentum.", 0) != 0;
  EXPECT_EQ(average.model()->named_parameters().size(), prediction_tensors);
}

TEST(WeightAverage, ASymmetricModelsAverageIsItsPredictionModel) {
  ModelOptions options = testing::tiny_model_options(3);
  options.symmetric = true;
  ContrastiveClassifier model(options);
  WeightAverage average(model, 0.5);
  EXPECT_FALSE(average.model()->has_momentum());
  EXPECT_FALSE(average.model()->options().symmetric);
  average.update(model, 10);
  EXPECT_EQ(average.model()->forward_logits(torch::randn({2, 3, 32, 32})).sizes(), torch::IntArrayRef({2, 3}));
}

TEST(WeightAverage, BuildingItDrawsNothingFromTheDefaultGenerator) {
  ContrastiveClassifier model = tiny_method_model();
  torch::manual_seed(11);
  const torch::Tensor expected = torch::rand({4});
  torch::manual_seed(11);
  WeightAverage average(model, 0.9);
  EXPECT_TRUE(torch::equal(torch::rand({4}), expected));
}

TEST(WeightAverage, RejectsADecayOutsideZeroToOne) {
  ContrastiveClassifier model = tiny_method_model();
  EXPECT_THROW(WeightAverage(model, 1.0), UserError);
  EXPECT_THROW(WeightAverage(model, 0.0), UserError);
  EXPECT_THROW(WeightAverage(model, -0.5), UserError);
}

}  // namespace
}  // namespace trashcl
