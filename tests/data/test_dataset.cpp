#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "common/error.h"
#include "data/dataset.h"
#include "data/encode.h"
#include "support/test_support.h"

namespace trashcl {
namespace {

using testing::TempDir;

void touch_image(const std::filesystem::path& path) { write_png(path, testing::make_test_image(8, 6)); }

TEST(DatasetListing, ClassesAndFilesAreSortedByteWise) {
  TempDir dir;
  for (const char* name : {"b/2.png", "b/10.png", "a/z.png", "a/B.png", "C/x.png"}) {
    std::filesystem::create_directories((dir / name).parent_path());
    touch_image(dir / name);
  }
  const Dataset dataset = list_image_folder(dir.path());
  EXPECT_EQ(dataset.class_names, (std::vector<std::string>{"C", "a", "b"}));
  std::vector<std::string> paths;
  for (const auto& sample : dataset.samples) paths.push_back(sample.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"C/x.png", "a/B.png", "a/z.png", "b/10.png", "b/2.png"}));
  EXPECT_EQ(dataset.samples[3].label, 2);
  EXPECT_EQ(dataset.class_counts(), (std::vector<int64_t>{1, 2, 2}));
  EXPECT_DOUBLE_EQ(dataset.class_prior()[1], 0.4);
}

TEST(DatasetListing, IgnoresHiddenEntriesAndEmptyClassFolders) {
  TempDir dir;
  std::filesystem::create_directories(dir / "glass");
  std::filesystem::create_directories(dir / "empty");
  std::filesystem::create_directories(dir / ".git");
  touch_image(dir / "glass/a.png");
  touch_image(dir / "glass/.hidden.png");
  touch_image(dir / ".git/x.png");
  const Dataset dataset = list_image_folder(dir.path());
  ASSERT_EQ(dataset.class_names, std::vector<std::string>{"glass"});
  ASSERT_EQ(dataset.samples.size(), 1u);
}

TEST(DatasetListing, MissingOrEmptyRootIsAUserError) {
  TempDir dir;
  EXPECT_THROW(list_image_folder(dir / "nope"), UserError);
  EXPECT_THROW(list_image_folder(dir.path()), UserError);
  touch_image(dir / "file.png");
  EXPECT_THROW(list_image_folder(dir / "file.png"), UserError);
  try {
    list_image_folder(dir.path());
    FAIL();
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("no class folder"), std::string::npos) << error.what();
  }
}

TEST(ImageFiles, EveryImageUnderAFolderSortedByteWise) {
  TempDir dir;
  for (const char* name : {"b/2.png", "b/10.png", "a.png", "deep/er/x.PNG", ".hidden/y.png", ".z.png"}) {
    std::filesystem::create_directories((dir / name).parent_path());
    touch_image(dir / name);
  }
  touch_image(dir / "no-extension");
  testing::write_bytes(dir / "notes.txt", "a note");
  std::vector<std::string> names;
  for (const auto& file : list_image_files(dir.path())) names.push_back(file.lexically_relative(dir.path()).string());
  EXPECT_EQ(names, (std::vector<std::string>{"a.png", "b/10.png", "b/2.png", "deep/er/x.PNG", "no-extension"}));
  try {
    list_image_files(dir / "nope");
    FAIL();
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("nope: cannot list the folder"), std::string::npos) << error.what();
  }
}

Dataset synthetic_listing(const std::vector<int>& per_class) {
  Dataset dataset;
  dataset.root = "/nowhere";
  for (size_t c = 0; c < per_class.size(); ++c) {
    dataset.class_names.push_back("class" + std::to_string(c));
    for (int i = 0; i < per_class[c]; ++i) dataset.samples.push_back({"class" + std::to_string(c) + "/" + std::to_string(i), static_cast<int>(c)});
  }
  return dataset;
}

TEST(DatasetSplit, StratifiedDisjointCompleteAndReproducible) {
  const Dataset dataset = synthetic_listing({403, 501, 137, 3});
  const auto entries = make_stratified_split(dataset, {}, 0);
  ASSERT_EQ(entries.size(), dataset.samples.size());
  std::set<std::string> seen;
  std::map<std::string, std::map<std::string, int>> counts;  // class -> split -> n
  for (const auto& entry : entries) {
    EXPECT_TRUE(seen.insert(entry.path).second) << "listed twice: " << entry.path;
    ++counts[entry.label][entry.split];
  }
  // Each class keeps the 0.7/0.13/0.17 proportions to within one image.
  for (auto [label, n] : std::vector<std::pair<std::string, int>>{{"class0", 403}, {"class1", 501}, {"class2", 137}}) {
    EXPECT_NEAR(counts[label]["train"], 0.7 * n, 1.0) << label;
    EXPECT_NEAR(counts[label]["val"], 0.13 * n, 1.0) << label;
    EXPECT_NEAR(counts[label]["test"], 0.17 * n, 1.0) << label;
  }
  // A 3-image class still has one image in each split.
  EXPECT_EQ(counts["class3"]["train"], 1);
  EXPECT_EQ(counts["class3"]["val"], 1);
  EXPECT_EQ(counts["class3"]["test"], 1);

  const auto again = make_stratified_split(dataset, {}, 0);
  const auto other_seed = make_stratified_split(dataset, {}, 1);
  auto splits_of = [](const std::vector<SplitEntry>& list) {
    std::vector<std::string> out;
    for (const auto& entry : list) out.push_back(entry.path + entry.split);
    return out;
  };
  EXPECT_EQ(splits_of(entries), splits_of(again));
  EXPECT_NE(splits_of(entries), splits_of(other_seed));
}

TEST(DatasetSplit, ManifestRoundTripsWithQuoting) {
  TempDir dir;
  const std::vector<SplitEntry> entries{{"glass/a, b \"c\".jpg", "glass", "train"}, {"paper/ß 瓶.png", "paper", "test"}};
  write_split_csv(dir / "split.csv", entries);
  const auto read = read_split_csv(dir / "split.csv");
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0].path, entries[0].path);
  EXPECT_EQ(read[1].path, entries[1].path);
  EXPECT_EQ(read[1].split, "test");
  for (const auto& entry : entries) testing::write_bytes(dir / entry.path, "");  // listed files must exist
  const Dataset test = dataset_from_split(dir.path(), read, "test", "split.csv");
  EXPECT_EQ(test.class_names, (std::vector<std::string>{"glass", "paper"}));  // from the whole manifest
  ASSERT_EQ(test.samples.size(), 1u);
  EXPECT_EQ(test.samples[0].label, 1);
  try {
    dataset_from_split(dir.path(), read, "val", "split.csv");
    FAIL() << "a split without 'val' rows gave a validation set";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("split.csv: no 'val' images"), std::string::npos) << error.what();
  }
  // A root the manifest's paths are not relative to: one error naming the manifest, not a warning per file.
  try {
    dataset_from_split(dir / "elsewhere", read, "test", "split.csv");
    FAIL() << "a root without any of the listed files gave a data set";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("split.csv: none of its 1 'test' files is under "), std::string::npos)
        << error.what();
  }
}

TEST(DatasetSplit, BadManifestsAndRatiosAreUserErrors) {
  TempDir dir;
  testing::write_bytes(dir / "no_header.csv", "a.jpg,glass,train\n");
  testing::write_bytes(dir / "bad_split.csv", "path,label,split\na.jpg,glass,training\n");
  testing::write_bytes(dir / "columns.csv", "path,label,split\na.jpg,glass\n");
  for (const char* name : {"no_header.csv", "bad_split.csv", "columns.csv", "missing.csv"}) {
    EXPECT_THROW(read_split_csv(dir / name), UserError) << name;
  }
  try {
    read_split_csv(dir / "bad_split.csv");
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("bad_split.csv:2"), std::string::npos) << error.what();
  }
  EXPECT_THROW(parse_split_ratios("0.5,0.5"), UserError);
  EXPECT_THROW(parse_split_ratios("0.7,0.2,0.2"), UserError);
  EXPECT_THROW(parse_split_ratios("a,b,c"), UserError);
  EXPECT_DOUBLE_EQ(parse_split_ratios("0.8,0.1,0.1").train, 0.8);
}

TEST(DatasetSplit, TrashnetCanonicalSplitReadsWithSixClasses) {
  const auto shared = testing::shared_dir();
  ASSERT_FALSE(shared.empty()) << "../shared/data is missing beside the project";
  const auto root = shared / "data/trashnet";
  const auto entries = read_split_csv(root / "splits/seed0.csv");
  EXPECT_EQ(entries.size(), 2527u);
  const Dataset train = dataset_from_split(root, entries, "train", "seed0.csv");
  EXPECT_EQ(train.class_names.size(), 6u);
  const Dataset listed = list_image_folder(root);
  EXPECT_EQ(listed.class_counts(), (std::vector<int64_t>{403, 501, 410, 594, 482, 137}));
}

}  // namespace
}  // namespace trashcl
