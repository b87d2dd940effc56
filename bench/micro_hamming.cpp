// Top-k Hamming search over a gallery of packed codes (HashIndex::search): items scanned per second.
//   build/bench/trashcl_micro --benchmark_filter=Hamming
// Args: gallery size, code bits. Figures and conditions: docs/retrieval.md.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <random>

#include "model/binary_code.h"
#include "retrieval/hash_index.h"

namespace trashcl {
namespace {

std::vector<int64_t> random_code(std::mt19937_64& random, int64_t bits) {
  std::vector<int64_t> words(static_cast<size_t>((bits + 63) / 64));
  for (auto& word : words) word = static_cast<int64_t>(random());
  return words;
}

// Google Benchmark calls a benchmark function several times while it sizes the run: build each gallery once.
const HashIndex& gallery(int64_t size, int64_t bits) {
  static std::map<std::pair<int64_t, int64_t>, std::unique_ptr<HashIndex>> galleries;
  auto& index = galleries[{size, bits}];
  if (!index) {
    std::mt19937_64 random(42);
    index = std::make_unique<HashIndex>(bits);
    for (int64_t i = 0; i < size; ++i) index->add(random_code(random, bits), {"", ""});
  }
  return *index;
}

void BM_HammingTopK(benchmark::State& state) {
  const int64_t size = state.range(0), bits = state.range(1);
  const HashIndex& index = gallery(size, bits);
  std::mt19937_64 random(7);
  const std::vector<int64_t> query = random_code(random, bits);
  for (auto _ : state) benchmark::DoNotOptimize(index.search(query, 10));
  state.SetItemsProcessed(state.iterations() * size);
}
BENCHMARK(BM_HammingTopK)
    ->Args({10'000, 64})
    ->Args({1'000'000, 64})
    ->Args({1'000'000, 128})
    ->ArgNames({"items", "bits"})
    ->Unit(benchmark::kMillisecond);

// The distance scan alone through the batched hamming_distances_to (all distances, no selection):
// how much of the top-k time is the popcount itself.
void BM_HammingScanBatched(benchmark::State& state) {
  const int64_t size = state.range(0), bits = state.range(1);
  const HashIndex& index = gallery(size, bits);
  std::mt19937_64 random(7);
  const std::vector<int64_t> query = random_code(random, bits);
  std::vector<int64_t> distances(static_cast<size_t>(size));
  for (auto _ : state) {
    hamming_distances_to(query.data(), index.code_words().data(), size, index.words(), distances.data());
    benchmark::DoNotOptimize(distances.data());
  }
  state.SetItemsProcessed(state.iterations() * size);
}
BENCHMARK(BM_HammingScanBatched)->Args({1'000'000, 64})->ArgNames({"items", "bits"})->Unit(benchmark::kMillisecond);

// The distance scan alone through the pairwise hamming_distance (one call per item, std::bitset count):
// what the top-k search would cost without the batched popcount.
void BM_HammingScanPairwise(benchmark::State& state) {
  const int64_t size = state.range(0), bits = state.range(1);
  const HashIndex& index = gallery(size, bits);
  std::mt19937_64 random(7);
  const std::vector<int64_t> query = random_code(random, bits);
  const int64_t* codes = index.code_words().data();
  for (auto _ : state) {
    int64_t total = 0;
    for (int64_t i = 0; i < size; ++i) total += hamming_distance(query.data(), codes + i * index.words(), index.words());
    benchmark::DoNotOptimize(total);
  }
  state.SetItemsProcessed(state.iterations() * size);
}
BENCHMARK(BM_HammingScanPairwise)->Args({1'000'000, 64})->ArgNames({"items", "bits"})->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace trashcl
