// The composed classifier: every ablation combination trains, options are validated, no BN collapse.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "common/error.h"
#include "loss/contrastive.h"
#include "loss/cross_entropy.h"
#include "model/contrastive_classifier.h"
#include "model/memory_format.h"
#include "model_testing.h"

namespace trashcl {
namespace {

using testing::tiny_model_options;

using Combination = std::tuple<std::string, std::string, std::string, bool>;  // head, features, loss, momentum

class ModelCombination : public ::testing::TestWithParam<Combination> {};

TEST_P(ModelCombination, ForwardAndBackwardAreFinite) {
  const auto& [head, features, loss, momentum] = GetParam();
  torch::manual_seed(0);
  auto options = tiny_model_options(3);
  options.head = head;
  options.features = features;
  options.loss = loss;
  options.momentum = momentum;
  options.label_smoothing = 0.1;
  options.class_prior = {0.5, 0.3, 0.2};
  ContrastiveClassifier model(options);
  model->train();
  model->set_step(400, 1000);
  auto anchor = torch::randn({4, 3, 32, 32}), positive = torch::randn({4, 3, 32, 32});
  auto labels = torch::tensor({0, 1, 2, 1}, torch::kInt64);
  torch::optim::SGD optimizer(model->trainable_parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  for (int step = 0; step < 2; ++step) {
    auto terms = model->training_loss(anchor, loss == "ce" ? torch::Tensor() : positive, labels);
    for (const auto& term : {terms.total, terms.classification, terms.contrastive, terms.quantization}) {
      ASSERT_EQ(term.dim(), 0);
      ASSERT_TRUE(std::isfinite(term.item<double>()));
    }
    optimizer.zero_grad();
    terms.total.backward();
    bool any_gradient = false;
    for (const auto& parameter : model->trainable_parameters()) {
      if (!parameter.grad().defined()) continue;
      ASSERT_TRUE(torch::isfinite(parameter.grad()).all().item<bool>());
      any_gradient = any_gradient || parameter.grad().abs().sum().item<double>() > 0;
    }
    EXPECT_TRUE(any_gradient);
    optimizer.step();
  }
  model->eval();
  auto logits = model->forward_logits(anchor);
  EXPECT_EQ(logits.sizes(), torch::IntArrayRef({4, 3}));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
  if (model->has_momentum()) {
    EXPECT_EQ(model->momentum()->pointer(), 8);
  }
}

INSTANTIATE_TEST_SUITE_P(Model, ModelCombination,
                         ::testing::Combine(::testing::Values("decoder", "linear", "linear+decoder"),
                                            ::testing::Values("hash", "pool"), ::testing::Values("paco", "ce", "supcon"),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           const std::string head = std::get<0>(info.param) == "linear+decoder" ? "linear_plus_decoder"
                                                                                                 : std::get<0>(info.param);
                           return head + "_" + std::get<1>(info.param) + "_" +
                                  std::get<2>(info.param) + (std::get<3>(info.param) ? "_momentum" : "_nomomentum");
                         });

// head = linear+decoder: the decoder's group FC starts at zero, so the model starts as the linear head and
// the decoder learns a correction on top of it.
TEST(Model, LinearPlusDecoderStartsAsTheLinearHeadAndTheDecoderLearns) {
  torch::manual_seed(2);
  auto options = tiny_model_options(3);
  options.head = "linear+decoder";
  options.loss = "ce";
  options.momentum = false;
  ContrastiveClassifier model(options);
  auto* classifier = model->named_children()["classifier"]->as<torch::nn::LinearImpl>();
  auto* decoder = model->named_children()["decoder"]->as<GroupDecoderImpl>();
  ASSERT_NE(classifier, nullptr);
  ASSERT_NE(decoder, nullptr);
  EXPECT_EQ(model->head_parameters().size(), classifier->parameters().size() + decoder->parameters().size());
  const auto images = torch::randn({4, 3, 32, 32});  // [B,3,S,S]
  model->eval();
  {
    torch::NoGradGuard no_grad;
    const auto linear_only = classifier->forward(model->hash_code(images)) + model->prediction_offset();  // [B,N]
    EXPECT_TRUE(torch::allclose(model->forward_logits(images), linear_only, 1e-5, 1e-6));
  }
  model->train();
  torch::optim::SGD optimizer(model->trainable_parameters(), torch::optim::SGDOptions(0.1));
  const auto labels = torch::tensor({0, 1, 2, 1}, torch::kInt64);
  for (int step = 0; step < 2; ++step) {
    optimizer.zero_grad();
    model->training_loss(images, torch::Tensor(), labels).total.backward();
    optimizer.step();
  }
  EXPECT_GT(decoder->named_parameters()["group_weight"].abs().max().item<double>(), 0.0);
  EXPECT_GT(decoder->named_parameters()["embed.weight"].grad().abs().max().item<double>(), 0.0)
      << "from the second step on the gradient reaches the decoder's layers below the group FC";
}

TEST(Model, BothDecoderMemoriesTrain) {
  for (const char* memory : {"codes", "spatial"}) {
    auto options = tiny_model_options(3);
    options.decoder_memory = memory;
    ContrastiveClassifier model(options);
    auto terms = model->training_loss(torch::randn({4, 3, 64, 64}), torch::randn({4, 3, 64, 64}),
                                      torch::tensor({0, 1, 2, 0}, torch::kInt64));
    terms.total.backward();
    EXPECT_TRUE(std::isfinite(terms.total.item<double>())) << memory;
  }
}

TEST(Model, HashCodesAndTrainableParameters) {
  auto options = tiny_model_options(3);
  ContrastiveClassifier model(options);
  model->eval();
  auto u = model->hash_code(torch::randn({2, 3, 32, 32}));
  EXPECT_EQ(u.sizes(), torch::IntArrayRef({2, 16}));
  EXPECT_LT(u.abs().max().item<double>(), 1.0);
  // The key encoder's parameters are excluded from the optimizer.
  int64_t key_parameters = 0;
  for (const auto& item : model->named_parameters()) {
    if (item.key().rfind("momentum.", 0) == 0) key_parameters += item.value().numel();
  }
  int64_t trainable = 0;
  for (const auto& parameter : model->trainable_parameters()) trainable += parameter.numel();
  EXPECT_GT(key_parameters, 0);
  EXPECT_EQ(trainable + key_parameters, parameter_count(*model));
  options.features = "pool";
  EXPECT_THROW(ContrastiveClassifier(options)->hash_code(torch::randn({2, 3, 32, 32})), UserError);
}

// PaCo trains z + log(pi); predict_prior = train adds log(pi) back at prediction, uniform leaves z.
TEST(Model, PredictPriorAddsTheTrainingLogPriorOnlyForPaco) {
  auto logits_with = [](const std::string& loss, const std::string& predict_prior) {
    torch::manual_seed(5);
    auto options = tiny_model_options(3);
    options.loss = loss;
    options.momentum = false;
    options.class_prior = {0.6, 0.3, 0.1};
    options.predict_prior = predict_prior;
    ContrastiveClassifier model(options);
    model->eval();
    torch::manual_seed(6);
    return model->forward_logits(torch::randn({2, 3, 32, 32})).detach();  // [2,3]
  };
  const auto log_prior = torch::tensor({0.6, 0.3, 0.1}).log();  // [3]
  const auto natural = logits_with("paco", "train"), balanced = logits_with("paco", "uniform");
  EXPECT_TRUE(torch::allclose(natural - balanced, log_prior.unsqueeze(0).expand({2, 3}), 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(logits_with("ce", "train"), logits_with("ce", "uniform")));
}

// to_channels_last changes the storage, not the values or the tensors' identity: a model converted after its
// optimizer was built and fed NHWC images trains like the NCHW one up to rounding, and its convolution weights,
// the key encoder's included, stay NHWC through the SGD and momentum updates.
TEST(Model, ChannelsLastTrainsLikeContiguous) {
  const auto nhwc = torch::MemoryFormat::ChannelsLast;
  auto train_three_steps = [nhwc](bool channels_last) {
    torch::manual_seed(3);
    auto options = tiny_model_options(3);
    options.class_prior = {0.5, 0.3, 0.2};
    ContrastiveClassifier model(options);
    model->train();
    torch::optim::SGD optimizer(model->trainable_parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
    if (channels_last) to_channels_last(*model);
    torch::manual_seed(4);
    auto anchor = torch::randn({4, 3, 32, 32}), positive = torch::randn({4, 3, 32, 32});  // [B,3,S,S]
    if (channels_last) {
      anchor = anchor.contiguous(nhwc);
      positive = positive.contiguous(nhwc);
    }
    const auto labels = torch::tensor({0, 1, 2, 1}, torch::kInt64);
    std::vector<double> losses;
    for (int step = 0; step < 3; ++step) {
      torch::manual_seed(10 + step);  // the key encoder's sub-batch shuffle
      auto terms = model->training_loss(anchor, positive, labels);
      losses.push_back(terms.total.item<double>());
      optimizer.zero_grad();
      terms.total.backward();
      optimizer.step();
    }
    return std::make_pair(losses, model);
  };
  const auto [nchw_losses, nchw] = train_three_steps(false);
  const auto [nhwc_losses, converted] = train_three_steps(true);
  for (size_t step = 0; step < nchw_losses.size(); ++step) {
    EXPECT_NEAR(nhwc_losses[step], nchw_losses[step], 1e-4 * std::abs(nchw_losses[step])) << "step " << step;
  }
  const auto reference = nchw->named_parameters();
  int64_t conv_weights = 0, key_conv_weights = 0;
  for (const auto& item : converted->named_parameters()) {
    const torch::Tensor& value = item.value();
    EXPECT_TRUE(torch::allclose(value, reference[item.key()], 1e-3, 1e-3)) << item.key();
    if (value.dim() != 4) continue;
    EXPECT_TRUE(value.is_contiguous(nhwc)) << item.key();
    EXPECT_FALSE(reference[item.key()].is_contiguous(nhwc)) << item.key();
    ++conv_weights;
    if (item.key().rfind("momentum.", 0) == 0) ++key_conv_weights;
  }
  EXPECT_GT(conv_weights, 0);
  EXPECT_GT(key_conv_weights, 0);
}

TEST(Model, ContrastiveWeightIsOneOrFallsParabolicallyToZero) {
  for (int64_t step : {0, 50, 100, 150}) EXPECT_EQ(contrastive_weight("constant", step, 100), 1.0) << step;
  EXPECT_EQ(contrastive_weight("parabolic", 0, 100), 1.0);
  EXPECT_EQ(contrastive_weight("parabolic", 50, 100), 0.75);
  EXPECT_NEAR(contrastive_weight("parabolic", 90, 100), 0.19, 1e-12);
  EXPECT_EQ(contrastive_weight("parabolic", 100, 100), 0.0);
  EXPECT_EQ(contrastive_weight("parabolic", 150, 100), 0.0);  // --max-steps past the schedule: stays at 0
}

// contrastive_schedule = parabolic scales the sample positives' weight by contrastive_weight at set_step's
// step: the first PaCo loss of a fresh model equals the constant schedule's with alpha_total scaled by hand,
// and at the last step the sample positives weigh nothing (the class centres train alone).
TEST(Model, ParabolicContrastiveScheduleFadesTheSamplePositivesOut) {
  auto first_loss = [](const std::string& schedule, double alpha_total, int64_t step) {
    torch::manual_seed(5);
    auto options = tiny_model_options(3);
    options.class_prior = {0.5, 0.3, 0.2};
    options.contrastive_schedule = schedule;
    options.alpha_total = alpha_total;
    ContrastiveClassifier model(options);
    model->train();
    model->set_step(step, 100);
    torch::manual_seed(6);  // the images, the decoder's dropout and the key encoder's sub-batch shuffle
    const auto anchor = torch::randn({4, 3, 32, 32}), positive = torch::randn({4, 3, 32, 32});  // [B,3,S,S]
    const auto labels = torch::tensor({0, 1, 2, 1}, torch::kInt64);
    return model->training_loss(anchor, positive, labels).classification.item<double>();
  };
  EXPECT_DOUBLE_EQ(first_loss("parabolic", 1.0, 0), first_loss("constant", 1.0, 0));
  EXPECT_DOUBLE_EQ(first_loss("parabolic", 1.0, 50), first_loss("constant", 0.75, 50));
  EXPECT_DOUBLE_EQ(first_loss("parabolic", 1.0, 100), first_loss("constant", 0.0, 100));
  EXPECT_GT(std::abs(first_loss("constant", 1.0, 100) - first_loss("constant", 0.0, 100)), 1e-3);  // the weight matters
}

TEST(Model, MomentumIsConstantOrRisesOnACosineToOne) {
  for (int64_t step : {0, 50, 100}) EXPECT_EQ(momentum_at("constant", 0.99, step, 100), 0.99) << step;
  EXPECT_DOUBLE_EQ(momentum_at("cosine", 0.99, 0, 100), 0.99);
  EXPECT_NEAR(momentum_at("cosine", 0.99, 50, 100), 0.995, 1e-12);
  EXPECT_NEAR(momentum_at("cosine", 0.99, 25, 100), 1.0 - 0.01 * (1.0 + std::sqrt(0.5)) / 2.0, 1e-12);
  EXPECT_DOUBLE_EQ(momentum_at("cosine", 0.99, 100, 100), 1.0);
  EXPECT_DOUBLE_EQ(momentum_at("cosine", 0.99, 150, 100), 1.0);  // --max-steps past the schedule: stays at 1
}

// momentum_schedule = cosine: set_step gives the key encoder momentum_at's m, and a training step moves it by
// theta_k <- m theta_k + (1 - m) theta_q with that m. Every query parameter is put 1 above its key copy, so every
// key parameter moves by exactly 1 - m: 0.005 half way there (m = 0.995), 0 at the last step (m = 1).
TEST(Model, CosineMomentumScheduleSetsTheKeyEncodersM) {
  // -> the smallest and largest move of a key parameter in one training step at `step` of 100
  const auto key_moves_at = [](int64_t step) {
    torch::manual_seed(3);
    auto options = tiny_model_options(3);
    options.momentum_schedule = "cosine";
    ContrastiveClassifier model(options);
    model->train();
    {
      torch::NoGradGuard no_grad;
      for (auto& parameter : model->encoder()->parameters()) parameter.add_(1.0);
    }
    model->set_step(step, 100);
    EXPECT_DOUBLE_EQ(model->momentum()->momentum(), momentum_at("cosine", options.momentum_m, step, 100));
    std::vector<torch::Tensor> before;
    for (const auto& parameter : model->momentum()->key_encoder()->parameters()) before.push_back(parameter.clone());
    model->training_loss(torch::randn({4, 3, 32, 32}), torch::randn({4, 3, 32, 32}), torch::tensor({0, 1, 2, 1}));
    std::vector<torch::Tensor> moves;  // [numel] each
    const auto after = model->momentum()->key_encoder()->parameters();
    for (size_t i = 0; i < after.size(); ++i) moves.push_back((after[i] - before[i]).abs().flatten());
    const auto all = torch::cat(moves);
    return std::make_pair(all.min().item<double>(), all.max().item<double>());
  };
  const auto [least_half_way, most_half_way] = key_moves_at(50);
  EXPECT_NEAR(least_half_way, 0.005, 1e-5);
  EXPECT_NEAR(most_half_way, 0.005, 1e-5);
  EXPECT_EQ(key_moves_at(100).second, 0.0);
}

TEST(Model, CheckpointHoldsQueueLogPriorAndBeta) {
  auto options = tiny_model_options(3);
  options.class_prior = {2.0, 1.0, 1.0};  // counts are normalised
  ContrastiveClassifier model(options);
  auto buffers = model->named_buffers();
  for (const char* name : {"momentum.queue", "momentum.queue_labels", "momentum.queue_pointer", "log_prior",
                           "encoder.fusion.beta", "decoder.queries"}) {
    EXPECT_NE(buffers.find(name), nullptr) << name;
  }
  EXPECT_TRUE(torch::allclose(model->log_prior().exp(), torch::tensor({0.5f, 0.25f, 0.25f})));
}

TEST(Model, SetStepSharpensBothEncodersCodesAtTheConfiguredRate) {
  const auto betas_at = [](double rate, int64_t step) {
    auto options = tiny_model_options(3);
    options.hash_beta_rate = rate;
    ContrastiveClassifier model(options);
    model->set_step(step, 10000);
    return std::make_pair(model->encoder()->fusion()->beta(), model->momentum()->key_encoder()->fusion()->beta());
  };
  EXPECT_NEAR(betas_at(0.005, 1000).first, std::sqrt(6.0), 1e-6);  // HashNet's rate, the default
  EXPECT_NEAR(betas_at(0.001, 1000).first, std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(betas_at(0.001, 1000).second, std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(betas_at(0.0, 5000).first, 1.0, 1e-6);
}

TEST(Model, RejectsInvalidOptionsNamingTheOption) {
  const auto message = [](ModelOptions options) -> std::string {
    try {
      ContrastiveClassifier model(options);
    } catch (const UserError& error) {
      return error.what();
    }
    return "";
  };
  auto options = tiny_model_options(3);
  options.loss = "focal";
  EXPECT_NE(message(options).find("loss"), std::string::npos);
  options = tiny_model_options(3);
  options.num_classes = 0;
  EXPECT_NE(message(options).find("num_classes"), std::string::npos);
  options = tiny_model_options(3);
  options.decoder_memory = "pixels";
  EXPECT_NE(message(options).find("decoder_memory"), std::string::npos);
  options = tiny_model_options(3);
  options.class_prior = {0.5, 0.5};
  EXPECT_NE(message(options).find("class_prior"), std::string::npos);
  options = tiny_model_options(3);
  options.backbone = "vgg";
  EXPECT_NE(message(options).find("vgg"), std::string::npos);
  options = tiny_model_options(3);
  options.predict_prior = "balanced";
  EXPECT_NE(message(options).find("predict_prior"), std::string::npos);
  options = tiny_model_options(3);
  options.decoder_query_std = 0;
  EXPECT_NE(message(options).find("decoder_query_std"), std::string::npos);
  options = tiny_model_options(3);
  options.contrastive_schedule = "linear";
  EXPECT_NE(message(options).find("contrastive_schedule"), std::string::npos);
  options = tiny_model_options(3);
  options.momentum_schedule = "linear";
  EXPECT_NE(message(options).find("moco_m_schedule"), std::string::npos);  // the config key users write
  options = tiny_model_options(3);
  options.hash_beta_rate = -0.001;
  EXPECT_NE(message(options).find("hash_beta_rate"), std::string::npos);
  options = tiny_model_options(3);
  options.symmetric = true;
  options.momentum = false;
  EXPECT_NE(message(options).find("symmetric"), std::string::npos);
  options.momentum = true;
  options.loss = "ce";
  EXPECT_NE(message(options).find("symmetric"), std::string::npos);
  options = tiny_model_options(3);
  options.key_gradient = false;  // the momentum encoder's keys never carry gradient
  EXPECT_NE(message(options).find("key_gradient"), std::string::npos);
  options.momentum = false;
  options.loss = "ce";
  EXPECT_NE(message(options).find("key_gradient"), std::string::npos);
  for (const auto& [momentum, loss, symmetric] : std::vector<std::tuple<bool, std::string, bool>>{
           {false, "paco", false}, {true, "ce", false}, {true, "paco", true}}) {
    options = tiny_model_options(3);
    options.query_positives = true;
    options.momentum = momentum;
    options.loss = loss;
    options.symmetric = symmetric;
    EXPECT_NE(message(options).find("query_positives"), std::string::npos) << momentum << loss << symmetric;
  }

  options = tiny_model_options(3);
  options.queue_size = 2;
  ContrastiveClassifier model(options);
  auto images = torch::randn({4, 3, 32, 32});
  try {
    model->training_loss(images, images, torch::tensor({0, 1, 2, 0}, torch::kInt64));
    FAIL() << "expected UserError";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("queue_size"), std::string::npos);
  }
  ContrastiveClassifier fine(tiny_model_options(3));
  EXPECT_THROW(fine->training_loss(images, {}, torch::tensor({0, 1, 2, 0}, torch::kInt64)), UserError);
  EXPECT_THROW(fine->training_loss(images, images, torch::tensor({0, 1, 3, 0}, torch::kInt64)), UserError);
}

// A model in train mode at step 300 of 1000 with weights drawn from seed 7: two builds of it start equal.
ContrastiveClassifier seeded_training_model(const ModelOptions& options) {
  torch::manual_seed(7);
  ContrastiveClassifier model(options);
  model->train();
  model->set_step(300, 1000);
  return model;
}

// A training batch for the loss tests, drawn from seed 8: two views [4,3,32,32], labels [4] of 3 classes, and 8
// labelled unit-length keys [8,16] to pre-fill a queue (embed_dim 16, as tiny_model_options).
struct LossTestBatch {
  torch::Tensor anchor, positive, labels, queued, queued_labels;
};

LossTestBatch loss_test_batch() {
  torch::manual_seed(8);
  LossTestBatch batch;
  batch.anchor = torch::randn({4, 3, 32, 32});
  batch.positive = torch::randn({4, 3, 32, 32});
  batch.labels = torch::tensor({0, 1, 2, 1}, torch::kInt64);
  batch.queued = torch::nn::functional::normalize(torch::randn({8, 16}),
                                                  torch::nn::functional::NormalizeFuncOptions().dim(1));
  batch.queued_labels = torch::tensor({0, 1, 2, 0, 1, 2, 0, 1}, torch::kInt64);
  return batch;
}

// symmetric = true: every term is the mean of the anchor->positive direction and its mirror image (the positive
// view as the query against the anchor's key), both against the queue as it was before the step; only the
// positive views' keys are queued, and both views' gradients reach the query encoder.
TEST(Model, SymmetricLossIsTheMeanOfBothDirections) {
  for (const char* loss : {"paco", "supcon"}) {
    auto options = tiny_model_options(3);
    options.loss = loss;
    options.decoder_dropout = 0.0;  // no randomness in the forward passes
    options.key_batch_groups = 1;   // nor in the key encoder's sub-batches
    options.class_prior = {0.5, 0.3, 0.2};
    auto build = [&options](bool symmetric) {
      auto with = options;
      with.symmetric = symmetric;
      return seeded_training_model(with);
    };
    const auto [anchor, positive, labels, queued, queued_labels] = loss_test_batch();
    auto forward = build(false), mirrored = build(false), symmetric = build(true);
    for (auto* model : {&forward, &mirrored, &symmetric}) (*model)->momentum()->enqueue(queued, queued_labels);

    const auto one_way = forward->training_loss(anchor, positive, labels);
    const auto other_way = mirrored->training_loss(positive, anchor, labels);
    const auto both = symmetric->training_loss(anchor, positive, labels);
    const std::vector<std::pair<torch::Tensor, std::pair<torch::Tensor, torch::Tensor>>> terms = {
        {both.classification, {one_way.classification, other_way.classification}},
        {both.contrastive, {one_way.contrastive, other_way.contrastive}},
        {both.quantization, {one_way.quantization, other_way.quantization}},
        {both.total, {one_way.total, other_way.total}}};
    for (const auto& [term, directions] : terms) {
      const double mean = 0.5 * (directions.first.item<double>() + directions.second.item<double>());
      EXPECT_NEAR(term.item<double>(), mean, 1e-5 * std::max(1.0, std::abs(mean))) << loss;
    }
    EXPECT_GT(std::abs(one_way.classification.item<double>() - other_way.classification.item<double>()), 1e-6)
        << loss << ": the two directions differ, so the mean above tests both";

    // The queue now holds the positive views' keys (written by the anchor->positive model too) at slots 8-11.
    EXPECT_EQ(symmetric->momentum()->pointer(), 12);
    EXPECT_TRUE(torch::allclose(symmetric->momentum()->queue().slice(0, 8, 12),
                                forward->momentum()->queue().slice(0, 8, 12), 1e-5, 1e-6)) << loss;

    // The positive view's gradient reaches the query encoder: the symmetric gradient is the mean of both.
    both.total.backward();
    one_way.total.backward();
    other_way.total.backward();
    const auto one_way_parameters = forward->encoder()->named_parameters();
    const auto other_way_parameters = mirrored->encoder()->named_parameters();
    std::vector<torch::Tensor> gradients, means, one_way_gradients;
    for (const auto& item : symmetric->encoder()->named_parameters()) {
      if (!item.value().grad().defined()) continue;
      gradients.push_back(item.value().grad().flatten());
      one_way_gradients.push_back(one_way_parameters[item.key()].grad().flatten());
      means.push_back(0.5 * (one_way_gradients.back() + other_way_parameters[item.key()].grad().flatten()));
    }
    const auto gradient = torch::cat(gradients), mean = torch::cat(means);  // [P] over the query encoder
    const double scale = mean.abs().max().item<double>();
    EXPECT_LE((gradient - mean).abs().max().item<double>(), 1e-4 * scale) << loss;
    EXPECT_GT((torch::cat(one_way_gradients) - mean).abs().max().item<double>(), 1e-2 * scale)
        << loss << ": the mirrored direction changes the gradient";
  }
}

// key_gradient = false (momentum encoder off): the same loss, but the positive view's keys are detached, so no
// gradient reaches the positive images, while with key_gradient = true it does.
TEST(Model, KeyGradientFalseDetachesThePositiveKeys) {
  for (const char* loss : {"paco", "supcon"}) {
    auto options = tiny_model_options(3);
    options.loss = loss;
    options.momentum = false;
    options.decoder_dropout = 0.0;  // no randomness in the forward passes
    options.class_prior = {0.5, 0.3, 0.2};
    const auto batch = loss_test_batch();
    const auto &anchor = batch.anchor, &positive = batch.positive, &labels = batch.labels;
    std::vector<double> totals;
    for (bool key_gradient : {true, false}) {
      auto with = options;
      with.key_gradient = key_gradient;
      ContrastiveClassifier model = seeded_training_model(with);
      const auto positive_input = positive.clone().requires_grad_(true);  // [B,3,S,S]
      const auto terms = model->training_loss(anchor, positive_input, labels);
      terms.total.backward();
      totals.push_back(terms.total.item<double>());
      if (key_gradient) {
        ASSERT_TRUE(positive_input.grad().defined()) << loss;
        EXPECT_GT(positive_input.grad().abs().max().item<double>(), 0.0) << loss;
      } else {
        EXPECT_FALSE(positive_input.grad().defined() && positive_input.grad().abs().max().item<double>() > 0.0) << loss;
      }
    }
    EXPECT_NEAR(totals[0], totals[1], 1e-5 * std::max(1.0, std::abs(totals[0]))) << loss;
  }
}

// query_positives = true (momentum encoder on): the positive views' query-encoder embeddings p join the contrast
// set, [e; k; p; queue], so gradient reaches the positive images; the queue still receives only the momentum keys.
TEST(Model, QueryPositivesJoinTheContrastSetWithGradient) {
  for (const char* loss : {"paco", "supcon"}) {
    auto options = tiny_model_options(3);
    options.loss = loss;
    options.query_positives = true;
    options.decoder_dropout = 0.0;  // the same forward twice gives the same output
    options.class_prior = {0.5, 0.3, 0.2};
    const auto [anchor, positive, labels, queued, queued_labels] = loss_test_batch();
    ContrastiveClassifier model = seeded_training_model(options);
    model->momentum()->enqueue(queued, queued_labels);
    const auto queue = model->momentum()->queue().clone();                // [16,d], 8 slots empty
    const auto queue_labels = model->momentum()->queue_labels().clone();  // [16]

    const auto positive_input = positive.clone().requires_grad_(true);  // [B,3,S,S]
    const auto terms = model->training_loss(anchor, positive_input, labels);
    terms.total.backward();
    ASSERT_TRUE(positive_input.grad().defined()) << loss;
    EXPECT_GT(positive_input.grad().abs().max().item<double>(), 0.0) << loss;

    // The step queued its 4 momentum keys after the 8 rows, and nothing else.
    const auto keys = model->momentum()->queue().slice(0, 8, 12);  // [B,d]
    EXPECT_TRUE(model->momentum()->queue_labels().slice(0, 8, 12).equal(labels)) << loss;
    EXPECT_TRUE(model->momentum()->queue_labels().slice(0, 12).lt(0).all().item<bool>()) << loss;

    torch::NoGradGuard no_grad;
    const auto query = model->encoder()->forward(anchor);                        // embedding e [B,d]
    const auto positives = model->encoder()->forward(positive).embedding;        // p [B,d]
    const ContrastSet set{query.embedding, keys, labels, torch::cat({positives, queue}),
                          torch::cat({labels, queue_labels})};
    const bool paco = std::string(loss) == "paco";
    const double expected =
        paco ? paco_loss(set, model->head(query.features, query.tokens), model->log_prior(), paco_options(options))
                   .item<double>()
             : supcon_loss(set, options.tau).item<double>();
    const double actual = (paco ? terms.classification : terms.contrastive).item<double>();
    EXPECT_NEAR(actual, expected, 1e-5 * std::max(1.0, std::abs(expected))) << loss;
  }
}

// label_smoothing reaches PaCo's class centres: with the samples weighted out (alpha_total = gamma = 0) the
// classification term is smoothed cross-entropy on z + log pi.
TEST(Model, LabelSmoothingSmoothsPacosCentreTargets) {
  auto options = tiny_model_options(3);
  options.class_prior = {0.5, 0.3, 0.2};
  options.alpha_total = 0.0;
  options.gamma = 0.0;
  options.decoder_dropout = 0.0;  // the same forward twice gives the same output
  options.label_smoothing = 0.1;
  ContrastiveClassifier model = seeded_training_model(options);
  torch::manual_seed(6);
  const auto anchor = torch::randn({4, 3, 32, 32}), positive = torch::randn({4, 3, 32, 32});  // [B,3,S,S]
  const auto labels = torch::tensor({0, 1, 2, 1}, torch::kInt64);
  const double actual = model->training_loss(anchor, positive, labels).classification.item<double>();

  torch::NoGradGuard no_grad;
  const auto query = model->encoder()->forward(anchor);
  const auto rebalanced = model->head(query.features, query.tokens) + model->log_prior();  // [B,N]
  EXPECT_NEAR(actual, cross_entropy(rebalanced, labels, 0.1).item<double>(), 1e-5);
  EXPECT_GT(std::abs(actual - cross_entropy(rebalanced, labels, 0.0).item<double>()), 1e-4);  // smoothing matters
}

// A CutMix anchor view (AnchorMix): the loss is own_share x the loss by the anchors' labels + (1 - own_share) x the
// loss by their partners' labels, the keys keeping their own labels; cross-entropy and PaCo alike.
TEST(Model, ACutMixAnchorsLossIsTheShareWeightedMeanOfItsTwoLabels) {
  const auto [anchor, positive, labels, queued, queued_labels] = loss_test_batch();
  const auto partners = torch::tensor({2, 2, 0, 1}, torch::kInt64);
  const AnchorMix mix{partners, 0.7};
  for (const std::string loss : {"ce", "paco"}) {
    auto options = tiny_model_options(3);
    options.loss = loss;
    options.momentum = false;       // the keys are the query encoder's: computable here
    options.decoder_dropout = 0.0;  // the same forward twice gives the same output
    options.class_prior = {0.5, 0.3, 0.2};
    ContrastiveClassifier model = seeded_training_model(options);
    const auto positive_view = loss == "ce" ? torch::Tensor() : positive;
    const double mixed = model->training_loss(anchor, positive_view, labels, mix).classification.item<double>();
    EXPECT_NEAR(model->training_loss(anchor, positive_view, labels, AnchorMix{partners, 1.0}).classification.item<double>(),
                model->training_loss(anchor, positive_view, labels).classification.item<double>(), 1e-6)
        << loss << ": an own share of 1 is no mix";

    torch::NoGradGuard no_grad;
    const auto query = model->encoder()->forward(anchor);
    const auto logits = model->head(query.features, query.tokens);  // [B,N]
    auto loss_by = [&](const torch::Tensor& anchor_labels) {
      if (loss == "ce") return cross_entropy(logits, anchor_labels).item<double>();
      const ContrastSet set{query.embedding, model->encoder()->forward(positive).embedding, labels, {}, {}, anchor_labels};
      return paco_loss(set, logits, model->log_prior(), paco_options(options)).item<double>();
    };
    EXPECT_NEAR(mixed, 0.7 * loss_by(labels) + 0.3 * loss_by(partners), 1e-5) << loss;
    EXPECT_GT(std::abs(loss_by(labels) - loss_by(partners)), 1e-3) << loss << ": the two labels score differently";
    EXPECT_THROW(model->training_loss(anchor, positive_view, labels, AnchorMix{partners.slice(0, 0, 2), 0.5}), UserError);
  }
  auto symmetric_options = tiny_model_options(3);
  symmetric_options.symmetric = true;
  ContrastiveClassifier symmetric = seeded_training_model(symmetric_options);
  EXPECT_THROW(symmetric->training_loss(anchor, positive, labels, mix), UserError)
      << "the mirrored term would take the mixed anchor as a key";
}

// The self-supervised warm-up, with and without the momentum encoder: the step's loss is the SupCon term over the
// instance-labelled contrast set (InfoNCE) and the quantisation term, the class head gets no gradient, and the
// queue still receives the momentum keys with their class labels. Switched off, the method's loss is back.
TEST(Model, SelfSupervisedStepsLearnByInstanceDiscriminationAndLeaveTheHeadAlone) {
  const auto [anchor, positive, labels, queued, queued_labels] = loss_test_batch();
  for (bool momentum : {true, false}) {
    auto options = tiny_model_options(3);
    options.head = "linear+decoder";
    options.momentum = momentum;
    options.decoder_dropout = 0.0;  // the same forward twice gives the same output
    options.class_prior = {0.5, 0.3, 0.2};
    ContrastiveClassifier model = seeded_training_model(options);
    ContrastSet before{{}, {}, labels, {}, {}};  // the queue as the step finds it
    if (momentum) {
      model->momentum()->enqueue(queued, queued_labels);
      before.queue = model->momentum()->queue().clone();                // [16,d], 8 slots empty
      before.queue_labels = model->momentum()->queue_labels().clone();  // [16]
    }
    model->set_self_supervised(true);
    const auto terms = model->training_loss(anchor, positive, labels);
    terms.total.backward();
    EXPECT_EQ(terms.classification.item<double>(), 0.0) << momentum;
    EXPECT_NEAR(terms.total.item<double>(), (terms.contrastive + terms.quantization).item<double>(), 1e-6) << momentum;
    for (const auto& parameter : model->head_parameters()) {
      EXPECT_FALSE(parameter.grad().defined() && parameter.grad().abs().max().item<double>() > 0.0) << momentum;
    }
    double encoder_gradient = 0;
    for (const auto& parameter : model->encoder()->parameters()) {
      if (parameter.grad().defined()) encoder_gradient += parameter.grad().abs().sum().item<double>();
    }
    EXPECT_GT(encoder_gradient, 0.0) << momentum;

    {
      torch::NoGradGuard no_grad;
      before.queries = model->encoder()->forward(anchor).embedding;  // e [B,d]
      if (momentum) {
        before.keys = model->momentum()->queue().slice(0, 8, 12);  // the step's keys, queued after the 8 rows
        EXPECT_TRUE(model->momentum()->queue_labels().slice(0, 8, 12).equal(labels)) << "queued with class labels";
      } else {
        before.keys = model->encoder()->forward(positive).embedding;  // [B,d]
      }
      const double expected = supcon_loss(with_instance_labels(before), options.tau).item<double>();
      EXPECT_NEAR(terms.contrastive.item<double>(), expected, 1e-5 * std::max(1.0, expected)) << momentum;
    }
    const AnchorMix mix{torch::tensor({1, 2, 0, 0}, torch::kInt64), 0.6};
    EXPECT_THROW(model->training_loss(anchor, positive, labels, mix), UserError) << "a mix has two photos' labels";
    model->set_self_supervised(false);
    const auto supervised = model->training_loss(anchor, positive, labels);
    EXPECT_GT(supervised.classification.item<double>(), 0.0) << momentum;
  }
  auto ce_options = tiny_model_options(3);
  ce_options.loss = "ce";
  ContrastiveClassifier ce = seeded_training_model(ce_options);
  ce->set_self_supervised(true);
  EXPECT_THROW(ce->training_loss(anchor, positive, labels), UserError) << "cross-entropy has no second view";
}

// Random images with per-image structure (a colour and a gradient), so pooled features can tell them apart.
torch::Tensor structured_images(int64_t count) {
  auto colour = torch::randn({count, 3, 1, 1});
  auto ramp = torch::linspace(-1, 1, 32).view({1, 1, 1, 32}) * torch::randn({count, 3, 1, 1});
  return colour + ramp + 0.5 * torch::randn({count, 3, 32, 32});
}

// Instance discrimination (every image its own label) on random images, with the momentum encoder.
// Returns the SupCon term of every step.
std::vector<double> instance_discrimination(ContrastiveClassifier& model, int steps) {
  torch::optim::SGD optimizer(model->trainable_parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  std::vector<double> losses;
  for (int step = 0; step < steps; ++step) {
    auto anchor = structured_images(16);
    auto positive = anchor + 0.1 * torch::randn_like(anchor);
    auto terms = model->training_loss(anchor, positive, torch::arange(16 * step, 16 * step + 16, torch::kInt64));
    optimizer.zero_grad();
    terms.total.backward();
    optimizer.step();
    losses.push_back(terms.contrastive.item<double>());
  }
  return losses;
}

ModelOptions instance_options(int64_t key_batch_groups) {
  auto options = tiny_model_options(16 * 30);
  options.head = "linear";
  options.loss = "supcon";
  options.momentum_m = 0.9;
  options.queue_size = 64;
  options.key_batch_groups = key_batch_groups;
  return options;
}

// The shuffle-BN substitute (shuffled key sub-batches): keys of different images stay diverse and the
// contrastive loss does not go to ~0 within a few steps. With one group the keys share the anchors'
// batch statistics and the very first step is already much easier: the leak the substitute removes.
TEST(Model, MomentumEncoderDoesNotCollapseOnRandomData) {
  torch::manual_seed(5);
  ContrastiveClassifier model(instance_options(4));
  model->train();
  const auto losses = instance_discrimination(model, 30);
  const double chance = std::log(2.0 * 16 + 64 - 1);  // all embeddings equal
  for (size_t step = 10; step < losses.size(); ++step) EXPECT_GT(losses[step], 0.25 * chance) << "step " << step;
  auto keys = model->momentum()->keys(structured_images(16));  // [16,d]
  auto similarity = torch::matmul(keys, keys.t());              // [16,16]
  const double off_diagonal = (similarity.sum().item<double>() - 16.0) / (16.0 * 15.0);
  EXPECT_LT(off_diagonal, 0.9) << "mean pairwise cosine of keys of different images";

  torch::manual_seed(5);
  ContrastiveClassifier leaky(instance_options(1));
  leaky->train();
  const double leaky_first = instance_discrimination(leaky, 1).front();
  EXPECT_LT(leaky_first, 0.5 * losses.front()) << "shared batch statistics should make the first step easy";
}

}  // namespace
}  // namespace trashcl
