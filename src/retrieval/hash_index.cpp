#include "retrieval/hash_index.h"

#include <fmt/format.h>

#include "common/error.h"
#include "retrieval/hamming_rank.h"

namespace trashcl {

std::filesystem::path locate_gallery_file(const std::string& item_path, const std::filesystem::path& gallery_root) {
  const std::filesystem::path stored(item_path);
  if (gallery_root.empty()) return stored;
  const std::filesystem::path relative = stored.relative_path();  // without the root of an absolute path
  const std::vector<std::filesystem::path> parts(relative.begin(), relative.end());
  for (size_t first = 0; first < parts.size(); ++first) {
    std::filesystem::path candidate = gallery_root;
    for (size_t i = first; i < parts.size(); ++i) candidate /= parts[i];
    std::error_code error;
    if (std::filesystem::is_regular_file(candidate, error)) return candidate;
  }
  return stored;
}

HashIndex::HashIndex(int64_t bits, std::vector<std::string> class_names)
    : bits_(bits), class_names_(std::move(class_names)) {
  if (bits <= 0 || bits > kMaxBits) {
    throw UserError(fmt::format("hash index: {} bits is out of range (1..{}); index a model trained with "
                                "features = hash", bits, kMaxBits));
  }
}

void HashIndex::add(const std::vector<int64_t>& code_words, GalleryItem item) {
  if (bits_ == 0) throw UserError("hash index: add() on an index without a bit width; construct it with HashIndex(bits)");
  if (static_cast<int64_t>(code_words.size()) != words()) {
    throw UserError(fmt::format("hash index: a code of {} words does not fit an index of {} bits ({} words); "
                                "use the model the index was built with", code_words.size(), bits_, words()));
  }
  const size_t first = codes_.size();
  codes_.insert(codes_.end(), code_words.begin(), code_words.end());
  mask_unused_bits(codes_.data() + first, 1, words(), bits_);
  items_.push_back(std::move(item));
}

std::vector<Neighbour> HashIndex::search(const std::vector<int64_t>& code_words, int64_t k) const {
  if (static_cast<int64_t>(code_words.size()) != words()) {
    throw UserError(fmt::format("hash index: a query code of {} words does not fit an index of {} bits ({} words); "
                                "query with the model the index was built with", code_words.size(), bits_, words()));
  }
  std::vector<int64_t> query = code_words;  // [W], masked like the stored codes
  mask_unused_bits(query.data(), 1, words(), bits_);
  return hamming_top_k(codes_.data(), size(), words(), query.data(), k);
}

}  // namespace trashcl
