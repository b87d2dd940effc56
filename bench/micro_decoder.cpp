// Group-query decoder forward time and parameter count against the number of classes N.
// B = 32 images, L = 64-bit codes, default width D = 256, FFN 2048; memory of T tokens
// (4: the code tokens; 99: the spatial memory of a 224-px ResNet, 2 x 7 x 7 + 1).
// ML-Decoder's claim: with no self-attention and K_g = min(N, 100) queries, cost grows at most linearly in N.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "model/group_decoder.h"

namespace {

void BM_GroupDecoderForward(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  trashcl::GroupDecoderOptions options;  // defaults: D = 256, 8 heads, FFN 2048, max 100 queries
  options.input_dim = 64;
  options.num_classes = state.range(0);
  trashcl::GroupDecoder decoder(options);
  decoder->eval();
  auto tokens = torch::randn({32, state.range(1), 64});  // [B,T,L]
  for (auto _ : state) {
    auto logits = decoder->forward(tokens);  // [B,N]
    benchmark::DoNotOptimize(logits.data_ptr<float>());
  }
  state.counters["params"] = static_cast<double>(trashcl::parameter_count(*decoder));
  state.counters["queries"] = static_cast<double>(decoder->num_queries());
  state.counters["images/s"] = benchmark::Counter(32.0 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_GroupDecoderForward)
    ->ArgNames({"N", "T"})
    ->ArgsProduct({{6, 40, 1000}, {4, 99}})
    ->Unit(benchmark::kMillisecond);

}  // namespace
