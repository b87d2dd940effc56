// One table: every custom module, the losses and the whole model give the same outputs on the CPU and on a
// CUDA device. A new module joins by adding a row: a name and a function that builds the module and its
// inputs from a fixed seed on the CPU, moves both to the device and returns the outputs on the CPU.
// Without a CUDA device the comparison is skipped (and scripts/gpu-check.sh fails on any skipped test);
// the rows themselves always run on the CPU, so a broken row shows up before a GPU run.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "loss/contrastive.h"
#include "model/contrastive_classifier.h"
#include "model/cross_attention.h"
#include "model/encoder.h"
#include "model/group_decoder.h"
#include "model/hash_fusion.h"
#include "model/momentum.h"
#include "model/projection_head.h"
#include "model_testing.h"

namespace trashcl {
namespace {

using Outputs = std::vector<torch::Tensor>;

struct AgreementRow {
  std::string name;
  std::function<Outputs(const torch::Device&)> run;
  double tolerance = 1e-4;  // |cuda - cpu| <= tolerance * max(1, |cpu|), TF32 off
};

Outputs on_cpu(std::vector<torch::Tensor> outputs) {
  for (auto& output : outputs) output = output.detach().cpu();
  return outputs;
}

Outputs fusion_row(const torch::Device& device, bool train) {
  torch::manual_seed(0);
  HashFusion fusion(std::array<int64_t, 3>{16, 32, 64}, 16, /*spatial=*/true);
  fusion->set_beta(1.7);
  train ? fusion->train() : fusion->eval();
  auto features = testing::random_features(4, {16, 32, 64});
  fusion->to(device);
  const HashCodes codes = fusion->forward({features.c3.to(device), features.c4.to(device), features.c5.to(device)});
  return on_cpu({codes.u, codes.tokens, codes.spatial});
}

Outputs decoder_row(const torch::Device& device) {
  torch::manual_seed(1);
  GroupDecoderOptions options;
  options.input_dim = 16;
  options.num_classes = 5;
  options.width = 32;
  options.heads = 4;
  options.hidden = 64;
  options.max_queries = 3;  // groups of 2, cut to 5 classes
  GroupDecoder decoder(options);
  decoder->eval();
  const auto tokens = torch::randn({3, 9, 16});  // [B,T,L]
  decoder->to(device);
  return on_cpu({decoder->forward(tokens.to(device))});
}

Outputs attention_row(const torch::Device& device) {
  torch::manual_seed(2);
  CrossAttention attention(32, 4);
  const auto queries = torch::randn({2, 5, 32}), memory = torch::randn({2, 7, 32});
  attention->to(device);
  return on_cpu({attention->forward(queries.to(device), memory.to(device))});
}

Outputs projection_row(const torch::Device& device) {
  torch::manual_seed(3);
  ProjectionHead head(16, 32, 8);
  head->train();  // BatchNorm over the batch
  const auto features = torch::randn({6, 16});
  head->to(device);
  return on_cpu({head->forward(features.to(device))});
}

// EMA update, keys from one group (so the device's own random shuffle cannot change them), enqueue with
// wrap-around.
Outputs momentum_row(const torch::Device& device) {
  torch::manual_seed(4);
  EncoderOptions options;
  options.backbone = "tiny";
  options.hash_bits = 16;
  options.embed_dim = 8;
  options.projection_hidden = 16;
  Encoder query(options);
  MomentumContrast momentum(query, /*queue_size=*/6, /*momentum=*/0.9, /*groups=*/1);
  {
    torch::NoGradGuard no_grad;
    for (auto& parameter : query->parameters()) parameter.add_(0.01 * torch::randn_like(parameter));
  }
  const auto images = torch::randn({4, 3, 32, 32});
  const auto labels = torch::tensor({0, 2, 1, 2}, torch::kInt64);
  query->to(device);
  momentum->to(device);
  momentum->update(query);
  const auto keys = momentum->keys(images.to(device));  // [4,d]
  momentum->enqueue(keys, labels.to(device));
  momentum->enqueue(keys, labels.to(device));            // 8 rows into 6 slots
  return on_cpu({momentum->key_encoder()->parameters().front(), keys, momentum->queue(),
                 momentum->queue_labels().to(torch::kFloat32), torch::tensor(static_cast<double>(momentum->pointer()))});
}

Outputs losses_row(const torch::Device& device) {
  torch::manual_seed(5);
  auto unit = [](torch::Tensor x) { return torch::nn::functional::normalize(x, torch::nn::functional::NormalizeFuncOptions().dim(1)); };
  ContrastSet set{unit(torch::randn({4, 8})), unit(torch::randn({4, 8})), torch::tensor({0, 1, 1, 2}, torch::kInt64),
                  unit(torch::randn({6, 8})), torch::tensor({1, -1, 0, 2, 1, -1}, torch::kInt64)};
  const auto logits = torch::randn({4, 3}), log_prior = torch::tensor({0.5, 0.3, 0.2}).log();
  ContrastSet moved{set.queries.to(device), set.keys.to(device), set.labels.to(device), set.queue.to(device),
                    set.queue_labels.to(device)};
  PacoOptions per_sample;
  per_sample.positive_weighting = "per_sample";
  return on_cpu({paco_loss(moved, logits.to(device), log_prior.to(device), PacoOptions{}),
                 paco_loss(moved, logits.to(device), log_prior.to(device), per_sample), supcon_loss(moved, 0.1)});
}

Outputs model_eval_row(const torch::Device& device) {
  torch::manual_seed(6);
  ContrastiveClassifier model(testing::tiny_model_options(3));
  model->eval();
  const auto images = torch::randn({2, 3, 32, 32});
  model->to(device);
  torch::NoGradGuard no_grad;
  return on_cpu({model->forward_logits(images.to(device)), model->hash_code(images.to(device))});
}

Outputs model_training_row(const torch::Device& device) {
  torch::manual_seed(7);
  auto options = testing::tiny_model_options(3);
  options.decoder_dropout = 0.0;  // dropout masks come from each device's own generator
  options.key_batch_groups = 1;   // and so does the key shuffle
  ContrastiveClassifier model(options);
  model->train();
  const auto anchor = torch::randn({4, 3, 32, 32}), positive = torch::randn({4, 3, 32, 32});
  const auto labels = torch::tensor({0, 1, 2, 1}, torch::kInt64);
  model->to(device);
  const LossTerms terms = model->training_loss(anchor.to(device), positive.to(device), labels.to(device));
  return on_cpu({terms.total, terms.classification, terms.quantization, model->momentum()->queue()});
}

const std::vector<AgreementRow>& rows() {
  static const std::vector<AgreementRow> table = {
      {"HashFusion/spatial, batch statistics", [](const torch::Device& d) { return fusion_row(d, true); }},
      {"HashFusion/spatial, running statistics", [](const torch::Device& d) { return fusion_row(d, false); }},
      {"GroupDecoder", decoder_row},
      {"CrossAttention", attention_row},
      {"ProjectionHead", projection_row},
      {"MomentumContrast/update, keys, enqueue", momentum_row},
      {"paco (fixed_total, per_sample) and supcon", losses_row},
      {"ContrastiveClassifier/eval forward and hash codes", model_eval_row},
      {"ContrastiveClassifier/training loss with the momentum encoder", model_training_row, 2e-4},
  };
  return table;
}

TEST(CudaAgreement, EveryRowRunsOnTheCpu) {
  for (const AgreementRow& row : rows()) {
    SCOPED_TRACE(row.name);
    const Outputs outputs = row.run(torch::kCPU);
    ASSERT_FALSE(outputs.empty());
    for (const auto& output : outputs) EXPECT_TRUE(torch::isfinite(output).all().item<bool>());
  }
}

TEST(CudaAgreement, EveryModuleGivesTheSameOutputOnCpuAndCuda) {
  if (!torch::cuda::is_available()) {
    GTEST_SKIP() << "no CUDA device: the CPU vs CUDA comparison did not run (scripts/gpu-check.sh runs it on a GPU)";
  }
  // Full float32 on the GPU too: TF32 matrix products and convolutions would differ by ~1e-3.
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setAllowTF32CuBLAS(false);
  for (const AgreementRow& row : rows()) {
    SCOPED_TRACE(row.name);
    const Outputs cpu = row.run(torch::kCPU);
    const Outputs cuda = row.run(torch::Device(torch::kCUDA));
    ASSERT_EQ(cpu.size(), cuda.size());
    for (size_t i = 0; i < cpu.size(); ++i) {
      ASSERT_EQ(cpu[i].sizes(), cuda[i].sizes()) << "output " << i;
      const double scale = std::max(1.0, cpu[i].abs().max().item<double>());
      const double error = (cuda[i].to(torch::kFloat64) - cpu[i].to(torch::kFloat64)).abs().max().item<double>();
      EXPECT_LE(error, row.tolerance * scale) << "output " << i << ": max |cuda - cpu| = " << error;
    }
  }
}

}  // namespace
}  // namespace trashcl
