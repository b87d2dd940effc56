// Hamming top-k search against a brute-force reference, over several code widths.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "common/error.h"
#include "model/binary_code.h"
#include "retrieval/hamming_rank.h"
#include "retrieval/hash_index.h"

namespace trashcl {
namespace {

// Random codes of `bits` bits, unused high bits of the last word set at random too (search must ignore them).
std::vector<int64_t> random_code(std::mt19937_64& random, int64_t bits) {
  std::vector<int64_t> words(static_cast<size_t>((bits + 63) / 64));
  for (auto& word : words) word = static_cast<int64_t>(random());
  return words;
}

int64_t reference_distance(const std::vector<int64_t>& a, const std::vector<int64_t>& b, int64_t bits) {
  int64_t distance = 0;
  for (int64_t j = 0; j < bits; ++j) {
    const auto bit = [j](const std::vector<int64_t>& code) { return (static_cast<uint64_t>(code[j / 64]) >> (j % 64)) & 1; };
    distance += bit(a) != bit(b);
  }
  return distance;
}

// Sort everything by (distance, item) and cut at k: the definition search() must meet.
std::vector<Neighbour> brute_force(const std::vector<std::vector<int64_t>>& gallery, const std::vector<int64_t>& query,
                                   int64_t bits, int64_t k) {
  std::vector<Neighbour> all;
  for (size_t i = 0; i < gallery.size(); ++i) all.push_back({static_cast<int64_t>(i), reference_distance(gallery[i], query, bits)});
  std::stable_sort(all.begin(), all.end(), [](const Neighbour& a, const Neighbour& b) { return a.distance < b.distance; });
  all.resize(static_cast<size_t>(std::min<int64_t>(k, static_cast<int64_t>(all.size()))));
  return all;
}

void expect_same(const std::vector<Neighbour>& got, const std::vector<Neighbour>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].item, want[i].item) << what << " rank " << i;
    EXPECT_EQ(got[i].distance, want[i].distance) << what << " rank " << i;
  }
}

TEST(HammingSearch, MatchesBruteForceForEveryWidth) {
  std::mt19937_64 random(7);
  for (int64_t bits : {1, 16, 32, 48, 64, 100, 128, 200}) {
    HashIndex index(bits);
    std::vector<std::vector<int64_t>> gallery;
    for (int i = 0; i < 3000; ++i) {  // > one 1024-item block, so block boundaries are crossed
      gallery.push_back(random_code(random, bits));
      index.add(gallery.back(), {"item" + std::to_string(i), "x"});
    }
    for (int q = 0; q < 5; ++q) {
      const auto query = random_code(random, bits);
      for (int64_t k : {1, 10, 100}) {
        expect_same(index.search(query, k), brute_force(gallery, query, bits, k),
                    std::to_string(bits) + " bits, k " + std::to_string(k));
      }
    }
  }
}

TEST(HammingSearch, KLargerThanTheGalleryReturnsEveryItemSorted) {
  std::mt19937_64 random(3);
  HashIndex index(64);
  std::vector<std::vector<int64_t>> gallery;
  for (int i = 0; i < 7; ++i) {
    gallery.push_back(random_code(random, 64));
    index.add(gallery.back(), {std::to_string(i), ""});
  }
  const auto query = random_code(random, 64);
  expect_same(index.search(query, 50), brute_force(gallery, query, 64, 50), "k 50 of 7");
  EXPECT_TRUE(index.search(query, 0).empty());
  EXPECT_TRUE(HashIndex(64).search(query, 5).empty());
}

TEST(HammingSearch, EqualDistancesKeepItemOrder) {
  // Items 0..9 alternate between two codes at distances 1 and 2 from the query 0: the k nearest must be
  // the distance-1 items in ascending item order, then the distance-2 items, also ascending.
  HashIndex index(16);
  for (int i = 0; i < 10; ++i) index.add({i % 2 == 0 ? int64_t{0b11} : int64_t{0b1}}, {std::to_string(i), ""});
  const auto neighbours = index.search({0}, 7);
  const std::vector<int64_t> want_items{1, 3, 5, 7, 9, 0, 2};
  ASSERT_EQ(neighbours.size(), want_items.size());
  for (size_t i = 0; i < want_items.size(); ++i) EXPECT_EQ(neighbours[i].item, want_items[i]) << i;
  EXPECT_EQ(neighbours[4].distance, 1);
  EXPECT_EQ(neighbours[5].distance, 2);
}

TEST(HammingSearch, BitsAboveTheWidthAreIgnored) {
  HashIndex index(16);
  index.add({int64_t{0x10000}}, {"high bit only", ""});  // bit 16 lies outside a 16-bit code
  const auto neighbours = index.search({static_cast<int64_t>(~uint64_t{0xFFFF})}, 1);
  ASSERT_EQ(neighbours.size(), 1u);
  EXPECT_EQ(neighbours[0].distance, 0);
}

TEST(HammingSearch, WrongWordCountIsAUserError) {
  HashIndex index(64);
  EXPECT_THROW(index.add({1, 2}, {"a", ""}), UserError);
  index.add({1}, {"a", ""});
  EXPECT_THROW(index.search({1, 2}, 1), UserError);
  EXPECT_THROW(HashIndex(0), UserError);
}

TEST(HammingSearch, BatchDistancesAgreeWithThePairwiseFunction) {
  std::mt19937_64 random(11);
  for (int64_t words : {1, 2, 3}) {
    std::vector<int64_t> codes(static_cast<size_t>(50 * words)), query(static_cast<size_t>(words));
    for (auto& word : codes) word = static_cast<int64_t>(random());
    for (auto& word : query) word = static_cast<int64_t>(random());
    std::vector<int64_t> distances(50);
    hamming_distances_to(query.data(), codes.data(), 50, words, distances.data());
    for (int64_t i = 0; i < 50; ++i) {
      EXPECT_EQ(distances[static_cast<size_t>(i)], hamming_distance(query.data(), codes.data() + i * words, words));
    }
  }
}

TEST(HammingRanking, IsAStableSortByDistance) {
  std::mt19937_64 random(5);
  std::vector<std::vector<int64_t>> gallery;
  std::vector<int64_t> packed;
  for (int i = 0; i < 500; ++i) {
    gallery.push_back(random_code(random, 8));  // 8 bits: many ties
    gallery.back()[0] &= 0xFF;
    packed.push_back(gallery.back()[0]);
  }
  const std::vector<int64_t> query{0x5A};
  const auto order = hamming_ranking(packed.data(), 500, 1, query.data());
  const auto want = brute_force(gallery, query, 8, 500);
  ASSERT_EQ(order.size(), want.size());
  for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], want[i].item) << i;
}

}  // namespace
}  // namespace trashcl
