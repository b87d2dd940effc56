#include "model/binary_code.h"

#include <bitset>
#include <string>

#include "common/error.h"
#include "common/target_clones.h"

namespace trashcl {

namespace {

void require_codes(const torch::Tensor& codes, const char* name) {
  if (codes.dim() != 2 || codes.scalar_type() != torch::kInt64) {
    throw UserError(std::string(name) + ": expected packed codes [B,W] of int64 (from binary_code), got " +
                    std::to_string(codes.dim()) + " dims; pack the hash codes with binary_code(u) first");
  }
}

}  // namespace

torch::Tensor binary_code(const torch::Tensor& u) {
  if (u.dim() != 2) throw UserError("binary_code: expected hash codes u [B,L], got " + std::to_string(u.dim()) + " dims");
  const int64_t batch = u.size(0), bits = u.size(1), words = (bits + 63) / 64;
  auto positive = (u.detach().to(torch::kCPU) > 0).contiguous();  // [B,L] bool
  auto packed = torch::zeros({batch, words}, torch::kInt64);       // [B,W]
  const bool* sign = positive.data_ptr<bool>();
  int64_t* word = packed.data_ptr<int64_t>();
  for (int64_t i = 0; i < batch; ++i) {
    for (int64_t j = 0; j < bits; ++j) {
      if (!sign[i * bits + j]) continue;
      auto& target = reinterpret_cast<uint64_t&>(word[i * words + j / 64]);
      target |= uint64_t{1} << (j % 64);
    }
  }
  return packed;
}

int64_t hamming_distance(const int64_t* a, const int64_t* b, int64_t words) {
  int64_t distance = 0;
  for (int64_t w = 0; w < words; ++w) {
    distance += static_cast<int64_t>(std::bitset<64>(static_cast<uint64_t>(a[w] ^ b[w])).count());
  }
  return distance;
}

// The build targets baseline x86-64, which has no popcount instruction (the builtin becomes a library call,
// several times slower): a popcnt copy too.
TRASHCL_CLONES_FOR("popcnt")
void hamming_distances_to(const int64_t* query, const int64_t* codes, int64_t count, int64_t words, int64_t* out) {
  if (words == 1) {  // 64-bit or shorter codes: the common case, one XOR and one popcount per item
    const auto q = static_cast<uint64_t>(query[0]);
    for (int64_t i = 0; i < count; ++i) out[i] = __builtin_popcountll(q ^ static_cast<uint64_t>(codes[i]));
    return;
  }
  for (int64_t i = 0; i < count; ++i) {
    const int64_t* code = codes + i * words;
    int64_t distance = 0;
    for (int64_t w = 0; w < words; ++w) {
      distance += __builtin_popcountll(static_cast<uint64_t>(query[w]) ^ static_cast<uint64_t>(code[w]));
    }
    out[i] = distance;
  }
}

torch::Tensor hamming_distances(const torch::Tensor& a, const torch::Tensor& b) {
  require_codes(a, "hamming_distances(a)");
  require_codes(b, "hamming_distances(b)");
  if (a.size(1) != b.size(1)) {
    throw UserError("hamming_distances: codes have " + std::to_string(a.size(1)) + " and " +
                    std::to_string(b.size(1)) + " words; compare codes made with the same hash_bits");
  }
  auto left = a.to(torch::kCPU).contiguous(), right = b.to(torch::kCPU).contiguous();
  const int64_t words = a.size(1);
  auto distances = torch::empty({a.size(0), b.size(0)}, torch::kInt64);  // [A,C]
  auto* out = distances.data_ptr<int64_t>();
  for (int64_t i = 0; i < a.size(0); ++i) {
    for (int64_t j = 0; j < b.size(0); ++j) {
      out[i * b.size(0) + j] = hamming_distance(left.data_ptr<int64_t>() + i * words,
                                                right.data_ptr<int64_t>() + j * words, words);
    }
  }
  return distances;
}

int64_t code_dot(int64_t hamming, int64_t bits) { return bits - 2 * hamming; }

}  // namespace trashcl
