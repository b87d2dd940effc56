// Deployment binary codes b = sign(u), packed 64 bits to a word, and Hamming distances between them.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace trashcl {

// Packs the signs of u [B,L] into int64 words [B,ceil(L/64)] (on the CPU): bit j of word w is set when
// u[:, 64w + j] > 0. Unused high bits of the last word are 0. The int64 words hold the uint64 bit pattern.
torch::Tensor binary_code(const torch::Tensor& u);

// Number of differing bits between two packed codes of `words` words each.
int64_t hamming_distance(const int64_t* a, const int64_t* b, int64_t words);

// Hamming distances from one packed code `query` [W] to `count` packed codes `codes` [count,W] -> out [count].
// The inner loop of retrieval: it uses the CPU's popcount instruction where the CPU has one.
void hamming_distances_to(const int64_t* query, const int64_t* codes, int64_t count, int64_t words, int64_t* out);

// All pairwise Hamming distances between packed codes a [A,W] and b [C,W] -> [A,C] int64.
torch::Tensor hamming_distances(const torch::Tensor& a, const torch::Tensor& b);

// b.b' for the +-1 codes behind two packed codes of L bits: L - 2 * Hamming.
int64_t code_dot(int64_t hamming, int64_t bits);

}  // namespace trashcl
