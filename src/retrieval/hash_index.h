// A gallery of binary hash codes b = sign(u) with the image each came from, searched by Hamming distance:
// what `trashcl index build` writes, `trashcl search` and `POST /v1/similar` read. File format: docs/retrieval.md.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace trashcl {

struct GalleryItem {
  std::string path;   // the image file as the builder named it (`index build`: --data joined with its path there)
  std::string label;  // class name; may be empty for an unlabelled gallery
};

// Where a gallery item's image file is now. Without `gallery_root`: the path as stored. With it (the gallery's
// folder, which may have moved since the index was built): the first existing file among the stored path's
// trailing parts under the root, longest first (the whole path when it is relative, ..., <class>/<file>, the file
// name), else the path as stored. The result may not exist (a file removed since the index was built).
std::filesystem::path locate_gallery_file(const std::string& item_path, const std::filesystem::path& gallery_root);

struct Neighbour {
  int64_t item = 0;      // index into HashIndex::items()
  int64_t distance = 0;  // Hamming distance to the query, in [0, bits]
};

class HashIndex {
 public:
  // Codes longer than this come from no model trashcl builds; the bound keeps a corrupt file from asking
  // for absurd allocations.
  static constexpr int64_t kMaxBits = 1 << 16;

  HashIndex() = default;
  // An empty index for codes of `bits` bits (> 0), packed 64 per word as binary_code() packs them.
  explicit HashIndex(int64_t bits, std::vector<std::string> class_names = {});

  // Reads a file written by save(). Throws UserError naming the file and the cause (missing, not an index,
  // a newer format version, truncated, inconsistent) with what to do about it.
  static HashIndex load(const std::filesystem::path& file);
  // Writes atomically (temporary file + rename), so a reader never sees half an index.
  void save(const std::filesystem::path& file) const;

  int64_t bits() const { return bits_; }
  int64_t words() const { return (bits_ + 63) / 64; }  // W: int64 words per code
  const std::vector<GalleryItem>& items() const { return items_; }
  int64_t size() const { return static_cast<int64_t>(items_.size()); }
  // The model's class names, in its order (informational: search does not need them).
  const std::vector<std::string>& class_names() const { return class_names_; }
  // Packed codes [size, W], row-major; row i belongs to items()[i].
  const std::vector<int64_t>& code_words() const { return codes_; }

  // Appends one item. `code_words` must have words() entries; bits at and above bits() are cleared, so
  // codes from any packer compare equal on the bits that count. Throws UserError on a wrong word count.
  void add(const std::vector<int64_t>& code_words, GalleryItem item);

  // The min(k, size) items nearest to the query code, nearest first; equal distances keep item order.
  // Throws UserError when the query has a different word count.
  std::vector<Neighbour> search(const std::vector<int64_t>& code_words, int64_t k) const;

 private:
  int64_t bits_ = 0;
  std::vector<std::string> class_names_;
  std::vector<GalleryItem> items_;
  std::vector<int64_t> codes_;  // [size, W]
};

}  // namespace trashcl
