// The hash index file: round trip, and a clear UserError naming the file for anything else.
#include <gtest/gtest.h>

#include <random>

#include "common/error.h"
#include "retrieval/hash_index.h"
#include "support/test_support.h"

namespace trashcl {
namespace {

using testing::read_bytes;
using testing::TempDir;

HashIndex sample_index(int64_t bits, int items) {
  std::mt19937_64 random(static_cast<uint64_t>(bits));
  HashIndex index(bits, {"cardboard", "glass", "métal"});
  for (int i = 0; i < items; ++i) {
    std::vector<int64_t> code(static_cast<size_t>(index.words()));
    for (auto& word : code) word = static_cast<int64_t>(random());
    index.add(code, {"data/glass/photo, \"" + std::to_string(i) + "\".jpg", i % 2 ? "glass" : ""});
  }
  return index;
}

// load() must throw a UserError whose message names the file and contains `cause`.
void expect_load_error(const std::filesystem::path& file, const std::string& cause) {
  try {
    HashIndex::load(file);
    ADD_FAILURE() << file << " loaded; expected an error about " << cause;
  } catch (const UserError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(file.string()), std::string::npos) << message;
    EXPECT_NE(message.find(cause), std::string::npos) << message;
  }
}

TEST(HashIndexFile, SaveLoadRoundTripKeepsEverything) {
  TempDir dir;
  for (int64_t bits : {16, 64, 100, 128}) {
    const HashIndex index = sample_index(bits, 37);
    index.save(dir / "gallery.idx");
    const HashIndex loaded = HashIndex::load(dir / "gallery.idx");
    EXPECT_EQ(loaded.bits(), bits);
    EXPECT_EQ(loaded.size(), 37);
    EXPECT_EQ(loaded.class_names(), index.class_names());
    EXPECT_EQ(loaded.code_words(), index.code_words());
    for (size_t i = 0; i < index.items().size(); ++i) {
      EXPECT_EQ(loaded.items()[i].path, index.items()[i].path);
      EXPECT_EQ(loaded.items()[i].label, index.items()[i].label);
    }
    const std::vector<int64_t> query(static_cast<size_t>(index.words()), 0x1234);
    const auto want = index.search(query, 5), got = loaded.search(query, 5);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].item, want[i].item);
  }
  HashIndex(32).save(dir / "empty.idx");
  EXPECT_EQ(HashIndex::load(dir / "empty.idx").size(), 0);
  // save() writes a temporary file and renames it: nothing else is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()), 2);
}

TEST(HashIndexFile, EveryTruncationIsReported) {
  TempDir dir;
  sample_index(100, 5).save(dir / "full.idx");
  const std::string bytes = read_bytes(dir / "full.idx");
  for (size_t length = 0; length < bytes.size(); ++length) {
    testing::write_bytes(dir / "cut.idx", bytes.substr(0, length));
    // The first bytes cannot yet say "index"; after the magic every cut is a truncation.
    expect_load_error(dir / "cut.idx", length < 8 ? "not a trashcl hash index" : "truncated");
  }
}

TEST(HashIndexFile, ForeignGarbageNewerAndCorruptFilesAreRejected) {
  TempDir dir;
  testing::write_bytes(dir / "photo.jpg", "\xFF\xD8\xFF\xE0 a JPEG, not an index");
  expect_load_error(dir / "photo.jpg", "not a trashcl hash index");
  std::mt19937_64 random(1);
  std::string garbage(4096, '\0');
  for (char& byte : garbage) byte = static_cast<char>(random());
  testing::write_bytes(dir / "garbage.idx", garbage);
  expect_load_error(dir / "garbage.idx", "not a trashcl hash index");
  expect_load_error(dir / "missing.idx", "no such hash index");

  sample_index(64, 4).save(dir / "good.idx");
  const std::string bytes = read_bytes(dir / "good.idx");
  std::string newer = bytes;
  newer[8] = 2;  // version field, little-endian u32 after the 8-byte magic
  testing::write_bytes(dir / "newer.idx", newer);
  expect_load_error(dir / "newer.idx", "newer than this trashcl reads");

  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x01;  // one bit of a code or a path
  testing::write_bytes(dir / "flipped.idx", flipped);
  expect_load_error(dir / "flipped.idx", "corrupt");

  testing::write_bytes(dir / "longer.idx", bytes + "x");
  expect_load_error(dir / "longer.idx", "corrupt");

  std::string huge = bytes;
  for (int i = 0; i < 8; ++i) huge[20 + i] = '\xFF';  // count = 2^64 - 1 must not allocate
  testing::write_bytes(dir / "huge.idx", huge);
  expect_load_error(dir / "huge.idx", "truncated");
}

// A gallery moved after `index build --data ../photos`: its items are found under the new --data by their
// trailing parts; without --data, or when no trailing part is there, the stored path is what is tried.
TEST(GalleryFile, AMovedGalleryIsFoundByItsItemsTrailingParts) {
  TempDir dir;
  testing::write_bytes(dir / "moved/glass/a.jpg", "a");
  testing::write_bytes(dir / "moved/photos/glass/b.jpg", "b");  // a longer trailing part wins over a shorter one
  testing::write_bytes(dir / "moved/glass/b.jpg", "not this one");
  const std::filesystem::path root = dir / "moved";
  EXPECT_EQ(locate_gallery_file("../photos/glass/a.jpg", root), root / "glass/a.jpg");
  EXPECT_EQ(locate_gallery_file("/old/home/photos/glass/a.jpg", root), root / "glass/a.jpg");
  EXPECT_EQ(locate_gallery_file("../photos/glass/b.jpg", root), root / "photos/glass/b.jpg");
  EXPECT_EQ(locate_gallery_file("glass/a.jpg", root), root / "glass/a.jpg");
  EXPECT_EQ(locate_gallery_file("../photos/glass/missing.jpg", root), std::filesystem::path("../photos/glass/missing.jpg"));
  EXPECT_EQ(locate_gallery_file("../photos/glass/a.jpg", {}), std::filesystem::path("../photos/glass/a.jpg"));
}

}  // namespace
}  // namespace trashcl
