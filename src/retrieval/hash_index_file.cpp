// The hash index file, version 1. All integers little-endian; a string is a u32 byte count and its bytes.
//   magic "TCLINDEX" (8 bytes) | u32 version | u64 bits | u64 count | u64 classes | classes x string
//   | count x W x u64 code words (W = ceil(bits/64), row i = item i) | count x (string path, string label)
//   | u64 FNV-1a checksum of every byte before it
// Codes come before the strings so that a reader can map them as one [count, W] block.
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "common/error.h"
#include "data/encode.h"
#include "retrieval/hash_index.h"

namespace trashcl {
namespace {

constexpr char kMagic[8] = {'T', 'C', 'L', 'I', 'N', 'D', 'E', 'X'};
constexpr uint32_t kFormatVersion = 1;
constexpr const char* kRebuild = "rebuild it with `trashcl index build`";

uint64_t fnv1a(const uint8_t* bytes, size_t size) {
  uint64_t hash = 14695981039346656037ull;
  for (size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * 1099511628211ull;
  return hash;
}

class Writer {
 public:
  void u32(uint32_t value) { little_endian(value, 4); }
  void u64(uint64_t value) { little_endian(value, 8); }
  void string(const std::string& text) {
    u32(static_cast<uint32_t>(text.size()));
    bytes_.insert(bytes_.end(), text.begin(), text.end());
  }
  void raw(const char* data, size_t size) {
    for (size_t i = 0; i < size; ++i) bytes_.push_back(static_cast<uint8_t>(data[i]));
  }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  void little_endian(uint64_t value, int size) {
    for (int i = 0; i < size; ++i) bytes_.push_back(static_cast<uint8_t>(value >> (8 * i)));
  }
  std::vector<uint8_t> bytes_;
};

// Reads fields from the file's bytes; every read checks the bytes are there, so a truncated file is
// reported as truncated, not read past its end.
class Reader {
 public:
  Reader(const std::string& bytes, const std::string& file) : bytes_(bytes), file_(file) {}
  uint32_t u32() { return static_cast<uint32_t>(little_endian(4)); }
  uint64_t u64() { return little_endian(8); }
  std::string string() {
    const uint32_t size = u32();
    need(size);
    std::string text = bytes_.substr(position_, size);
    position_ += size;
    return text;
  }
  bool starts_with(const char* magic, size_t size) const {
    return bytes_.size() >= size && bytes_.compare(0, size, magic, size) == 0;
  }
  void skip(size_t size) {
    need(size);
    position_ += size;
  }
  size_t position() const { return position_; }
  size_t remaining() const { return bytes_.size() - position_; }
  void need(uint64_t size) const {
    if (size > remaining()) truncated();
  }
  // `count` records of at least `bytes_each` bytes must fit in what is left (checked without overflow).
  void need_records(uint64_t count, uint64_t bytes_each) const {
    if (count > remaining() / bytes_each) truncated();
  }

 private:
  uint64_t little_endian(int size) {
    need(static_cast<uint64_t>(size));
    uint64_t value = 0;
    for (int i = 0; i < size; ++i) value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes_[position_ + i])) << (8 * i);
    position_ += static_cast<size_t>(size);
    return value;
  }
  [[noreturn]] void truncated() const {
    throw UserError(fmt::format("{}: the hash index is truncated ({} bytes, more expected after byte {}); {}", file_,
                                bytes_.size(), position_, kRebuild));
  }
  const std::string& bytes_;
  const std::string& file_;
  size_t position_ = 0;
};

std::string read_whole_file(const std::filesystem::path& file) {
  if (!std::filesystem::is_regular_file(file)) {
    throw UserError(fmt::format("{}: no such hash index; build one with `trashcl index build --model CKPT --data DIR "
                                "--out {}`", file.string(), file.string()));
  }
  std::ifstream in(file, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  if (!in) throw UserError(fmt::format("{}: cannot read the hash index (permissions?)", file.string()));
  return bytes.str();
}

}  // namespace

void HashIndex::save(const std::filesystem::path& file) const {
  Writer out;
  out.raw(kMagic, sizeof kMagic);
  out.u32(kFormatVersion);
  out.u64(static_cast<uint64_t>(bits_));
  out.u64(static_cast<uint64_t>(size()));
  out.u64(class_names_.size());
  for (const std::string& name : class_names_) out.string(name);
  for (int64_t word : codes_) out.u64(static_cast<uint64_t>(word));
  for (const GalleryItem& item : items_) {
    out.string(item.path);
    out.string(item.label);
  }
  out.u64(fnv1a(out.bytes().data(), out.bytes().size()));
  write_file_atomic(file, out.bytes(), Durability::kPowerLoss);
}

HashIndex HashIndex::load(const std::filesystem::path& file) {
  const std::string bytes = read_whole_file(file);
  const std::string name = file.string();
  Reader in(bytes, name);
  if (!in.starts_with(kMagic, sizeof kMagic)) {
    throw UserError(fmt::format("{}: not a trashcl hash index (no TCLINDEX header); give the file written by "
                                "`trashcl index build --out`", name));
  }
  in.skip(sizeof kMagic);
  const uint32_t version = in.u32();
  if (version > kFormatVersion) {
    throw UserError(fmt::format("{}: hash index format {} is newer than this trashcl reads ({}); update trashcl or {}",
                                name, version, kFormatVersion, kRebuild));
  }
  if (version == 0) throw UserError(fmt::format("{}: hash index format 0 does not exist; {}", name, kRebuild));
  const uint64_t bits = in.u64(), count = in.u64(), classes = in.u64();
  if (bits == 0 || bits > static_cast<uint64_t>(HashIndex::kMaxBits)) {
    throw UserError(fmt::format("{}: the hash index is corrupt ({} bits); {}", name, bits, kRebuild));
  }
  const uint64_t words = (bits + 63) / 64;
  // Every class name and code costs bytes in the file: bound the counts before allocating for them.
  in.need_records(classes, 4);
  in.need_records(count, words * 8 + 8);  // a code and two string lengths per item
  std::vector<std::string> class_names;
  for (uint64_t c = 0; c < classes; ++c) class_names.push_back(in.string());
  HashIndex index(static_cast<int64_t>(bits), std::move(class_names));
  index.codes_.resize(count * words);
  for (auto& word : index.codes_) word = static_cast<int64_t>(in.u64());
  index.items_.resize(count);
  for (GalleryItem& item : index.items_) {
    item.path = in.string();
    item.label = in.string();
  }
  const size_t checked = in.position();
  const uint64_t checksum = in.u64();
  if (in.remaining() != 0 || checksum != fnv1a(reinterpret_cast<const uint8_t*>(bytes.data()), checked)) {
    throw UserError(fmt::format("{}: the hash index is corrupt (checksum mismatch); {}", name, kRebuild));
  }
  return index;
}

}  // namespace trashcl
