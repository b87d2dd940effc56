// Retrieval quality of binary codes: mean average precision and precision@k of a query set against a
// gallery, ranking the whole gallery by Hamming distance. Definitions: docs/retrieval.md.
#pragma once
#include <cstdint>
#include <vector>

namespace trashcl {

// Labelled packed codes: codes [size, W] row-major int64 words (binary_code()), labels [size].
struct LabelledCodes {
  int64_t bits = 0;
  std::vector<int64_t> codes;
  std::vector<int64_t> labels;

  int64_t words() const { return (bits + 63) / 64; }
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  const int64_t* code(int64_t i) const { return codes.data() + i * words(); }
};

// AP of one ranking: relevant[r] tells whether the item at rank r (0 = nearest) is relevant.
// AP = (1/R) sum over relevant ranks r of precision@(r+1), R = the number of relevant items; 0 when R = 0.
double average_precision(const std::vector<bool>& relevant);

struct RetrievalReport {
  int64_t bits = 0;
  int64_t queries = 0;                   // query codes given
  int64_t queries_without_relevant = 0;  // their label is absent from the gallery: left out of every mean
  int64_t gallery = 0;
  double mean_average_precision = 0;     // mean AP over the other queries
  std::vector<int64_t> ks;               // precision cut-offs
  std::vector<double> precision_at;      // [ks] mean over the same queries; k past the gallery counts min(k, G)
};

// Ranks the whole gallery for every query by Hamming distance, ties broken by gallery order (the order is
// then part of the result: a deterministic, documented choice, not an average over tie orders). An item is
// relevant when it has the query's label. Both sets must have the same bits. O(queries x gallery x W).
RetrievalReport evaluate_retrieval(const LabelledCodes& queries, const LabelledCodes& gallery,
                                   const std::vector<int64_t>& ks);

// The first `prefix_bits` bits of every code (bits 0.. of word 0 first), as codes of that width. For reading
// how much of a code carries the ranking; a prefix is not what a model trained with that width would give.
LabelledCodes code_prefix(const LabelledCodes& codes, int64_t prefix_bits);

}  // namespace trashcl
