// Group-query decoder: query count, group FC, token-order invariance, parameters, options.
#include <gtest/gtest.h>

#include "common/error.h"
#include "model/group_decoder.h"

namespace trashcl {
namespace {

GroupDecoderOptions small_decoder(int64_t classes, int64_t max_queries = 100) {
  GroupDecoderOptions options;
  options.input_dim = 16;
  options.num_classes = classes;
  options.width = 32;
  options.heads = 4;
  options.hidden = 64;
  options.max_queries = max_queries;
  return options;
}

TEST(Decoder, QueryCountIsMinOfClassesAndLimitAndLogitsAreCutToN) {
  torch::manual_seed(0);
  GroupDecoder few(small_decoder(6));
  EXPECT_EQ(few->num_queries(), 6);
  EXPECT_EQ(few->group_size(), 1);
  GroupDecoder many(small_decoder(250));
  EXPECT_EQ(many->num_queries(), 100);
  EXPECT_EQ(many->group_size(), 3);  // 300 outputs, cut to 250
  auto logits = many->forward(torch::randn({2, 4, 16}));
  EXPECT_EQ(logits.sizes(), torch::IntArrayRef({2, 250}));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
}

TEST(Decoder, GroupFcWithOneQueryPerClassIsAPerClassDotProduct) {
  torch::manual_seed(1);
  GroupDecoder decoder(small_decoder(5));
  decoder->eval();
  auto tokens = torch::randn({3, 4, 16});
  auto features = decoder->query_features(tokens);                     // [3,5,32]
  auto weight = decoder->named_parameters()["group_weight"].squeeze(2);  // [5,32]
  auto bias = decoder->named_parameters()["group_bias"];                 // [5]
  auto expected = (features * weight.unsqueeze(0)).sum(2) + bias;        // [3,5]
  EXPECT_TRUE(torch::allclose(decoder->forward(tokens), expected, 1e-5, 1e-6));
}

TEST(Decoder, GroupFcWithSharedQueriesSlicesEachQuerysWeights) {
  torch::manual_seed(2);
  GroupDecoder decoder(small_decoder(5, /*max_queries=*/2));  // K_g = 2, G = 3: classes 0-2 / 3-4
  decoder->eval();
  auto tokens = torch::randn({2, 4, 16});
  auto features = decoder->query_features(tokens);                  // [2,2,32]
  auto weight = decoder->named_parameters()["group_weight"];         // [2,32,3]
  auto logits = decoder->forward(tokens);                           // [2,5]
  auto bias = decoder->named_parameters()["group_bias"];
  for (int64_t c = 0; c < 5; ++c) {
    auto expected = torch::matmul(features.select(1, c / 3), weight[c / 3].select(1, c % 3)) + bias[c];  // [2]
    EXPECT_TRUE(torch::allclose(logits.select(1, c), expected, 1e-5, 1e-6)) << "class " << c;
  }
}

TEST(Decoder, OutputDoesNotDependOnMemoryTokenOrder) {
  torch::manual_seed(3);
  GroupDecoder decoder(small_decoder(7));
  decoder->eval();
  auto tokens = torch::randn({2, 9, 16});
  auto shuffled = tokens.index_select(1, torch::randperm(9));
  EXPECT_TRUE(torch::allclose(decoder->forward(tokens), decoder->forward(shuffled), 1e-5, 1e-6));
}

TEST(Decoder, QueriesAreABufferUnlessLearnable) {
  GroupDecoder fixed(small_decoder(4));
  EXPECT_EQ(fixed->named_parameters().find("queries"), nullptr);
  EXPECT_NE(fixed->named_buffers().find("queries"), nullptr);
  auto options = small_decoder(4);
  options.learnable_queries = true;
  GroupDecoder learnable(options);
  EXPECT_NE(learnable->named_parameters().find("queries"), nullptr);
  EXPECT_EQ(parameter_count(*learnable), parameter_count(*fixed) + 4 * 32);
}

TEST(Decoder, QueriesAreDrawnWithTheConfiguredDeviation) {
  torch::manual_seed(0);
  auto options = small_decoder(250);  // 100 queries x 32 = 3,200 draws
  options.query_std = 1.0;            // ML-Decoder's
  GroupDecoder standard(options);
  options.query_std = 0.125;
  GroupDecoder narrow(options);
  const auto deviation = [](GroupDecoder& decoder) {
    return decoder->named_buffers().find("queries")->std().item<double>();
  };
  EXPECT_NEAR(deviation(standard), 1.0, 0.05);
  EXPECT_NEAR(deviation(narrow), 0.125, 0.00625);
}

TEST(Decoder, ParametersGrowLinearlyInClasses) {
  // Up to 100 classes every class adds one D-vector and one bias; past it, every class adds D weights.
  const auto count = [](int64_t classes) { return parameter_count(*GroupDecoder(small_decoder(classes))); };
  EXPECT_EQ(count(40) - count(6), 34 * (32 + 1));
  EXPECT_EQ(count(1000) - count(500), 100 * 32 * (10 - 5) + 500);
}

TEST(Decoder, DropoutActsOnlyInTraining) {
  torch::manual_seed(4);
  auto options = small_decoder(4);
  options.dropout = 0.5;
  GroupDecoder decoder(options);
  auto tokens = torch::randn({2, 4, 16});
  decoder->eval();
  EXPECT_TRUE(torch::equal(decoder->forward(tokens), decoder->forward(tokens)));
  decoder->train();
  EXPECT_FALSE(torch::equal(decoder->forward(tokens), decoder->forward(tokens)));
}

TEST(Decoder, RejectsBadOptionsWithTheOptionName) {
  auto options = small_decoder(4);
  options.heads = 5;
  try {
    GroupDecoder decoder(options);
    FAIL() << "expected UserError";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("decoder_heads"), std::string::npos);
  }
  options = small_decoder(4);
  options.dropout = 1.0;
  EXPECT_THROW(GroupDecoder{options}, UserError);
  EXPECT_THROW(GroupDecoder(small_decoder(4))->forward(torch::randn({2, 4, 15})), UserError);
}

}  // namespace
}  // namespace trashcl
