#include "retrieval/retrieval_metrics.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/error.h"
#include "retrieval/hamming_rank.h"

namespace trashcl {

double average_precision(const std::vector<bool>& relevant) {
  int64_t hits = 0;
  double sum = 0;
  for (size_t rank = 0; rank < relevant.size(); ++rank) {
    if (!relevant[rank]) continue;
    ++hits;
    sum += static_cast<double>(hits) / static_cast<double>(rank + 1);  // precision at this rank
  }
  return hits == 0 ? 0.0 : sum / static_cast<double>(hits);
}

RetrievalReport evaluate_retrieval(const LabelledCodes& queries, const LabelledCodes& gallery,
                                   const std::vector<int64_t>& ks) {
  if (queries.bits != gallery.bits) {
    throw UserError(fmt::format("retrieval: query codes have {} bits and gallery codes {}; encode both with one model",
                                queries.bits, gallery.bits));
  }
  RetrievalReport report;
  report.bits = gallery.bits;
  report.queries = queries.size();
  report.gallery = gallery.size();
  report.ks = ks;
  report.precision_at.assign(ks.size(), 0.0);
  std::vector<bool> relevant(static_cast<size_t>(gallery.size()));
  int64_t counted = 0;
  for (int64_t q = 0; q < queries.size(); ++q) {
    const std::vector<int64_t> order = hamming_ranking(gallery.codes.data(), gallery.size(), gallery.words(),
                                                       queries.code(q));
    for (size_t rank = 0; rank < order.size(); ++rank) {
      relevant[rank] = gallery.labels[static_cast<size_t>(order[rank])] == queries.labels[static_cast<size_t>(q)];
    }
    if (std::find(relevant.begin(), relevant.end(), true) == relevant.end()) {
      ++report.queries_without_relevant;
      continue;
    }
    ++counted;
    report.mean_average_precision += average_precision(relevant);
    for (size_t j = 0; j < ks.size(); ++j) {
      const auto cut = static_cast<size_t>(std::clamp<int64_t>(ks[j], 1, gallery.size()));
      const auto hits = std::count(relevant.begin(), relevant.begin() + static_cast<std::ptrdiff_t>(cut), true);
      report.precision_at[j] += static_cast<double>(hits) / static_cast<double>(cut);
    }
  }
  if (counted > 0) {
    report.mean_average_precision /= static_cast<double>(counted);
    for (double& precision : report.precision_at) precision /= static_cast<double>(counted);
  }
  return report;
}

LabelledCodes code_prefix(const LabelledCodes& codes, int64_t prefix_bits) {
  if (prefix_bits <= 0 || prefix_bits > codes.bits) {
    throw UserError(fmt::format("retrieval: a {}-bit prefix of {}-bit codes does not exist", prefix_bits, codes.bits));
  }
  LabelledCodes prefix;
  prefix.bits = prefix_bits;
  prefix.labels = codes.labels;
  const int64_t words = prefix.words();
  for (int64_t i = 0; i < codes.size(); ++i) {
    prefix.codes.insert(prefix.codes.end(), codes.code(i), codes.code(i) + words);
  }
  mask_unused_bits(prefix.codes.data(), prefix.size(), words, prefix_bits);
  return prefix;
}

}  // namespace trashcl
