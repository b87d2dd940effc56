// The optimizer's two parameter groups: the encoder at the scheduled rate, the class head at head_lr_scale x.
#include <gtest/gtest.h>

#include "model/contrastive_classifier.h"
#include "model/model_testing.h"
#include "train/optimizer.h"

namespace trashcl {
namespace {

ModelOptions tiny_model(const std::string& head) {
  ModelOptions options = testing::tiny_model_options(4);
  options.head = head;
  options.loss = "ce";
  options.momentum = false;
  return options;
}

// Parameters after one SGD step (weight decay 0) from a fixed model and batch with the given head scale.
std::vector<torch::Tensor> after_one_step(const std::string& head, double head_lr_scale) {
  torch::manual_seed(3);
  ContrastiveClassifier model(tiny_model(head));
  Config config;
  config.weight_decay = 0;
  auto optimizer = make_optimizer(model, config, 0.1);
  set_learning_rate(*optimizer, 0.1, head_lr_scale);
  const auto images = torch::randn({4, 3, 32, 32});  // [B,3,S,S]
  const auto labels = torch::tensor({0, 1, 2, 3});   // [B]
  optimizer->zero_grad();
  model->training_loss(images, torch::Tensor(), labels).total.backward();
  optimizer->step();
  std::vector<torch::Tensor> out;
  for (const auto& parameter : model->trainable_parameters()) out.push_back(parameter.detach().clone());
  return out;
}

TEST(Optimizer, GroupsSplitTheTrainableParametersIntoEncoderAndHead) {
  for (const std::string head : {"decoder", "linear", "linear+decoder"}) {
    ContrastiveClassifier model(tiny_model(head));
    auto optimizer = make_optimizer(model, Config{}, 0.1);
    const auto& groups = optimizer->param_groups();
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[0].params().size() + groups[1].params().size(), model->trainable_parameters().size());
    EXPECT_EQ(groups[1].params().size(), model->head_parameters().size()) << head;
    EXPECT_GT(groups[0].params().size(), groups[1].params().size()) << head;
  }
}

TEST(Optimizer, HeadLearningRateScaleMovesOnlyTheHeadFurther) {
  torch::manual_seed(3);
  ContrastiveClassifier reference(tiny_model("decoder"));
  std::vector<torch::Tensor> start;
  for (const auto& parameter : reference->trainable_parameters()) start.push_back(parameter.detach().clone());
  const size_t head_count = reference->head_parameters().size();
  const size_t encoder_count = start.size() - head_count;

  const auto plain = after_one_step("decoder", 1.0), scaled = after_one_step("decoder", 4.0);
  ASSERT_EQ(plain.size(), start.size());
  double encoder_plain = 0, encoder_scaled = 0, head_plain = 0, head_scaled = 0;
  for (size_t i = 0; i < start.size(); ++i) {
    const double step_plain = (plain[i] - start[i]).abs().sum().item<double>();
    const double step_scaled = (scaled[i] - start[i]).abs().sum().item<double>();
    (i < encoder_count ? encoder_plain : head_plain) += step_plain;
    (i < encoder_count ? encoder_scaled : head_scaled) += step_scaled;
  }
  ASSERT_GT(encoder_plain, 0);
  ASSERT_GT(head_plain, 0);
  EXPECT_NEAR(encoder_scaled / encoder_plain, 1.0, 1e-4);
  EXPECT_NEAR(head_scaled / head_plain, 4.0, 1e-3);
}

}  // namespace
}  // namespace trashcl
