#include "retrieval/hamming_rank.h"

#include <algorithm>
#include <array>
#include <limits>

#include "model/binary_code.h"

namespace trashcl {
namespace {

// Distances are computed a block at a time: small enough to stay in L1, large enough that the
// per-block call costs nothing.
constexpr int64_t kBlock = 1024;

// Heap order: the worst kept neighbour on top (largest distance, then the later item).
bool nearer(const Neighbour& a, const Neighbour& b) {
  return a.distance != b.distance ? a.distance < b.distance : a.item < b.item;
}

}  // namespace

void mask_unused_bits(int64_t* codes, int64_t count, int64_t words, int64_t bits) {
  const int64_t used_in_last = bits - 64 * (words - 1);  // 1..64
  if (words <= 0 || used_in_last >= 64) return;
  const uint64_t keep = (uint64_t{1} << used_in_last) - 1;
  for (int64_t i = 0; i < count; ++i) {
    auto& last = codes[i * words + words - 1];
    last = static_cast<int64_t>(static_cast<uint64_t>(last) & keep);
  }
}

std::vector<Neighbour> hamming_top_k(const int64_t* codes, int64_t count, int64_t words, const int64_t* query,
                                     int64_t k) {
  k = std::clamp<int64_t>(k, 0, count);
  std::vector<Neighbour> heap;  // max-heap under nearer(): heap.front() is the worst kept
  heap.reserve(static_cast<size_t>(k));
  if (k == 0) return heap;
  std::array<int64_t, kBlock> distances{};
  // A candidate enters only below `worst`: no limit until the heap holds k, then the worst kept distance.
  // Items arrive in order, so an equal distance never displaces a kept item (ties keep item order).
  int64_t worst = std::numeric_limits<int64_t>::max();
  for (int64_t start = 0; start < count; start += kBlock) {
    const int64_t block = std::min(kBlock, count - start);
    hamming_distances_to(query, codes + start * words, block, words, distances.data());
    for (int64_t j = 0; j < block; ++j) {
      if (distances[j] >= worst) continue;  // the common case once the heap is full
      if (static_cast<int64_t>(heap.size()) == k) {
        std::pop_heap(heap.begin(), heap.end(), nearer);
        heap.pop_back();
      }
      heap.push_back({start + j, distances[j]});
      std::push_heap(heap.begin(), heap.end(), nearer);
      if (static_cast<int64_t>(heap.size()) == k) worst = heap.front().distance;
    }
  }
  std::sort_heap(heap.begin(), heap.end(), nearer);  // ascending: nearest first
  return heap;
}

std::vector<int64_t> hamming_ranking(const int64_t* codes, int64_t count, int64_t words, const int64_t* query) {
  std::vector<int64_t> distances(static_cast<size_t>(count));
  hamming_distances_to(query, codes, count, words, distances.data());
  // Counting sort: start[d] = how many codes are nearer than distance d.
  std::vector<int64_t> start(static_cast<size_t>(64 * words + 2), 0);
  for (int64_t d : distances) ++start[static_cast<size_t>(d) + 1];
  for (size_t d = 1; d < start.size(); ++d) start[d] += start[d - 1];
  std::vector<int64_t> order(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) order[static_cast<size_t>(start[static_cast<size_t>(distances[i])]++)] = i;
  return order;
}

}  // namespace trashcl
