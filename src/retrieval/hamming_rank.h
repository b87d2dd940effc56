// Ranking packed binary codes by Hamming distance to a query: the partial top-k that search uses and the
// full ranking that retrieval metrics need. Codes are [count, W] int64 words, row-major (binary_code()).
#pragma once
#include <cstdint>
#include <vector>

#include "retrieval/hash_index.h"

namespace trashcl {

// Clears the bits at and above `bits` in every code of `codes` [count, W], so that codes of L bits compare
// only on their L bits whatever the packer left above them.
void mask_unused_bits(int64_t* codes, int64_t count, int64_t words, int64_t bits);

// The min(k, count) codes nearest to `query` [W], nearest first; equal distances keep the order of `codes`.
// One pass with a bounded heap: O(count * W + count * log k) for the few items that enter the heap.
std::vector<Neighbour> hamming_top_k(const int64_t* codes, int64_t count, int64_t words, const int64_t* query,
                                     int64_t k);

// Every code's position in the full ranking: indices into `codes` sorted by distance to `query`, ties in
// the order of `codes` (a stable counting sort over the distances 0..64W: O(count * W)).
std::vector<int64_t> hamming_ranking(const int64_t* codes, int64_t count, int64_t words, const int64_t* query);

}  // namespace trashcl
