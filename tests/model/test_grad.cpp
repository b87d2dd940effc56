// One table-driven finite-difference gradient check for every custom module and loss (float64).
// A new module joins by adding a row: a name and a function that builds its inputs and a scalar.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "loss/contrastive.h"
#include "loss/cross_entropy.h"
#include "loss/quantization.h"
#include "model/cross_attention.h"
#include "model/encoder.h"
#include "model/group_decoder.h"
#include "model/hash_fusion.h"
#include "model/projection_head.h"
#include "model_testing.h"

namespace trashcl {
namespace {

namespace F = torch::nn::functional;
const auto kDouble = torch::kFloat64;

struct GradCase {
  std::vector<torch::Tensor> wrt;       // leaves to check (inputs and parameters), float64
  std::function<torch::Tensor()> loss;  // recomputes the scalar from the current leaf values
};

struct GradRow {
  std::string name;
  std::function<GradCase()> build;
};

// A fixed random weighting turns any output into a scalar without symmetric cancellations.
torch::Tensor weighted_sum(const torch::Tensor& output) {
  return (output * torch::linspace(-1.0, 2.0, output.numel(), kDouble).reshape(output.sizes())).sum();
}

std::vector<torch::Tensor> leaves(torch::nn::Module& module, std::vector<torch::Tensor> inputs) {
  module.to(kDouble);
  for (auto& input : inputs) input.requires_grad_(true);
  for (auto& parameter : module.parameters()) inputs.push_back(parameter);
  return inputs;
}

ContrastSet contrast_set() {
  ContrastSet set;
  set.queries = torch::randn({4, 5}, kDouble).requires_grad_(true);
  set.keys = torch::randn({4, 5}, kDouble).requires_grad_(true);
  set.labels = torch::tensor({0, 1, 1, 2}, torch::kInt64);
  set.queue = torch::randn({5, 5}, kDouble).requires_grad_(true);
  set.queue_labels = torch::tensor({1, -1, 0, 2, 1}, torch::kInt64);
  return set;
}

GradCase paco_case(const std::string& weighting, bool centres) {
  auto set = contrast_set();
  auto logits = torch::randn({4, 3}, kDouble).requires_grad_(true);
  auto log_prior = torch::tensor({0.5, 0.3, 0.2}, kDouble).log();
  PacoOptions options;
  options.tau = 0.5;
  options.alpha = 0.3;
  options.gamma = 0.7;
  options.positive_weighting = weighting;
  options.centres = centres;
  return {{set.queries, set.keys, set.queue, logits},
          [=] { return paco_loss(set, logits, log_prior, options); }};
}

GradCase fusion_case(bool spatial) {
  auto fusion = HashFusion(std::array<int64_t, 3>{3, 4, 5}, 6, spatial);
  fusion->set_beta(1.3);
  auto features = testing::random_features(4, {3, 4, 5}, kDouble);
  auto wrt = leaves(*fusion, {features.c3, features.c4, features.c5});
  return {wrt, [=]() mutable {
            auto codes = fusion->forward(features);
            auto total = weighted_sum(codes.u) + weighted_sum(codes.tokens);
            return spatial ? total + weighted_sum(codes.spatial) : total;
          }};
}

GradCase decoder_case(int64_t tokens) {
  GroupDecoderOptions options;
  options.input_dim = 6;
  options.num_classes = 5;
  options.width = 8;
  options.heads = 2;
  options.hidden = 12;
  options.dropout = 0.0;
  options.max_queries = 2;  // groups of 3, output cut to 5
  options.learnable_queries = true;
  auto decoder = GroupDecoder(options);
  auto memory = torch::randn({2, tokens, 6}, kDouble);
  auto wrt = leaves(*decoder, {memory});
  return {wrt, [=]() mutable { return weighted_sum(decoder->forward(memory)); }};
}

const std::vector<GradRow>& rows() {
  static const std::vector<GradRow> table = {
      {"HashFusion/codes", [] { return fusion_case(false); }},
      {"HashFusion/spatial", [] { return fusion_case(true); }},
      {"GroupDecoder/codes memory (4 tokens)", [] { return decoder_case(4); }},
      {"GroupDecoder/spatial memory (2HW+1 tokens)", [] { return decoder_case(9); }},
      {"CrossAttention",
       [] {
         auto attention = CrossAttention(8, 2);
         auto queries = torch::randn({2, 3, 8}, kDouble), memory = torch::randn({2, 4, 8}, kDouble);
         auto wrt = leaves(*attention, {queries, memory});
         return GradCase{wrt, [=]() mutable { return weighted_sum(attention->forward(queries, memory)); }};
       }},
      {"ProjectionHead",
       [] {
         auto head = ProjectionHead(6, 10, 4);
         auto features = torch::randn({5, 6}, kDouble);
         auto wrt = leaves(*head, {features});
         return GradCase{wrt, [=]() mutable { return weighted_sum(head->forward(features)); }};
       }},
      {"Encoder/tiny backbone + hash + spatial memory",
       [] {
         EncoderOptions options;
         options.backbone = "tiny";
         options.hash_bits = 6;
         options.spatial_memory = true;
         options.embed_dim = 4;
         options.projection_hidden = 8;
         auto encoder = Encoder(options);
         auto images = torch::randn({3, 3, 32, 32}, kDouble);
         auto wrt = leaves(*encoder, {images});
         return GradCase{wrt, [=]() mutable {
                           auto out = encoder->forward(images);
                           return weighted_sum(out.tokens) + weighted_sum(out.embedding);
                         }};
       }},
      {"paco/per_sample", [] { return paco_case("per_sample", true); }},
      {"paco/fixed_total", [] { return paco_case("fixed_total", true); }},
      {"paco/no centres", [] { return paco_case("fixed_total", false); }},
      {"supcon",
       [] {
         auto set = contrast_set();
         return GradCase{{set.queries, set.keys, set.queue}, [=] { return supcon_loss(set, 0.5); }};
       }},
      {"quantization",
       [] {
         auto u = (torch::rand({3, 7}, kDouble) * 1.8 - 0.9).requires_grad_(true);
         return GradCase{{u}, [=] { return quantization_loss(u); }};
       }},
      {"cross_entropy/label smoothing",
       [] {
         auto logits = torch::randn({4, 3}, kDouble).requires_grad_(true);
         auto labels = torch::tensor({0, 2, 1, 2}, torch::kInt64);
         return GradCase{{logits}, [=] { return cross_entropy(logits, labels, 0.1); }};
       }},
  };
  return table;
}

// Central differences on up to kChecks entries of every leaf, against autograd.
TEST(Grad, FiniteDifferencesMatchAutogradForEveryModuleAndLoss) {
  constexpr int64_t kChecks = 6;
  constexpr double kStep = 1e-6;
  for (const auto& row : rows()) {
    SCOPED_TRACE(row.name);
    torch::manual_seed(0);
    auto grad_case = row.build();
    auto loss = grad_case.loss();
    ASSERT_EQ(loss.scalar_type(), kDouble);
    ASSERT_TRUE(std::isfinite(loss.item<double>()));
    const auto analytic = torch::autograd::grad({loss}, grad_case.wrt, {}, false, false, /*allow_unused=*/true);
    for (size_t t = 0; t < grad_case.wrt.size(); ++t) {
      auto flat = grad_case.wrt[t].detach().view({-1});  // shares storage with the leaf
      const auto gradient = analytic[t].defined() ? analytic[t].reshape({-1}) : torch::zeros_like(flat);
      const int64_t stride = std::max<int64_t>(1, flat.numel() / kChecks);
      for (int64_t i = 0; i < flat.numel(); i += stride) {
        const double original = flat[i].item<double>();
        torch::NoGradGuard no_grad;
        flat[i] = original + kStep;
        const double up = grad_case.loss().item<double>();
        flat[i] = original - kStep;
        const double down = grad_case.loss().item<double>();
        flat[i] = original;
        const double numeric = (up - down) / (2 * kStep), exact = gradient[i].item<double>();
        EXPECT_NEAR(exact, numeric, 1e-6 + 1e-4 * std::abs(numeric)) << "leaf " << t << " element " << i;
      }
    }
  }
}

}  // namespace
}  // namespace trashcl
