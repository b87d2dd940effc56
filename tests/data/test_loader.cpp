#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "common/error.h"
#include "data/encode.h"
#include "data/image_cache.h"
#include "data/loader.h"
#include "support/test_support.h"

namespace trashcl {
namespace {

using testing::TempDir;

// A folder with `per_class[c]` small images in class folder c (sizes vary so packing pads).
Dataset write_folder(const TempDir& dir, const std::vector<int>& per_class) {
  for (size_t c = 0; c < per_class.size(); ++c) {
    const auto folder = dir / ("class" + std::to_string(c));
    std::filesystem::create_directories(folder);
    for (int i = 0; i < per_class[c]; ++i) {
      write_png(folder / ("img" + std::to_string(i) + ".png"),
                testing::make_test_image(20 + (i % 3) * 4, 16 + (i % 2) * 6, static_cast<uint32_t>(c * 100 + i)));
    }
  }
  return list_image_folder(dir.path());
}

std::vector<int> labels_of(const Dataset& dataset) {
  std::vector<int> labels;
  for (const auto& sample : dataset.samples) labels.push_back(sample.label);
  return labels;
}

std::vector<std::vector<int64_t>> epoch_batches(BatchLoader& loader, int64_t epoch) {
  loader.start_epoch(epoch);
  std::vector<std::vector<int64_t>> batches;
  while (auto batch = loader.next()) batches.push_back(batch->indices);
  return batches;
}

TEST(Loader, EveryImageExactlyOncePerEpochInBatchesOfTheRightSize) {
  TempDir dir;
  const LoadedDataset loaded = load_dataset(write_folder(dir, {7, 5, 11}), {});
  LoaderOptions options;
  options.batch_size = 4;
  options.threads = 2;
  BatchLoader loader(loaded.cache, labels_of(loaded.dataset), 3, options);
  EXPECT_EQ(loader.batches_per_epoch(), 6);
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    const auto batches = epoch_batches(loader, epoch);
    ASSERT_EQ(batches.size(), 6u);
    std::vector<int64_t> seen;
    for (size_t b = 0; b < batches.size(); ++b) {
      EXPECT_EQ(batches[b].size(), b + 1 < batches.size() ? 4u : 3u);
      seen.insert(seen.end(), batches[b].begin(), batches[b].end());
    }
    std::sort(seen.begin(), seen.end());
    for (int64_t i = 0; i < 23; ++i) EXPECT_EQ(seen[i], i);
  }
}

TEST(Loader, OrderDependsOnlyOnSeedAndEpoch) {
  TempDir dir;
  const LoadedDataset loaded = load_dataset(write_folder(dir, {9, 9}), {});
  LoaderOptions one_thread;
  one_thread.batch_size = 5;
  LoaderOptions three_threads = one_thread;
  three_threads.threads = 3;
  three_threads.prefetch = 1;
  BatchLoader a(loaded.cache, labels_of(loaded.dataset), 2, one_thread);
  BatchLoader b(loaded.cache, labels_of(loaded.dataset), 2, three_threads);
  EXPECT_EQ(epoch_batches(a, 0), epoch_batches(b, 0));
  EXPECT_EQ(epoch_batches(a, 1), epoch_batches(b, 1));
  EXPECT_NE(epoch_batches(a, 0), epoch_batches(a, 1));
  LoaderOptions other_seed = one_thread;
  other_seed.seed = 7;
  BatchLoader c(loaded.cache, labels_of(loaded.dataset), 2, other_seed);
  EXPECT_NE(epoch_batches(a, 0), epoch_batches(c, 0));
}

TEST(Loader, BatchesCarryMatchingLabelsPixelsAndSeeds) {
  TempDir dir;
  const LoadedDataset loaded = load_dataset(write_folder(dir, {3, 4}), {});
  LoaderOptions options;
  options.batch_size = 7;
  BatchLoader loader(loaded.cache, labels_of(loaded.dataset), 2, options);
  loader.start_epoch(0);
  auto batch = loader.next();
  ASSERT_TRUE(batch.has_value());
  ASSERT_EQ(batch->labels.size(0), 7);
  EXPECT_EQ(batch->images.pixels.sizes(), (std::vector<int64_t>{7, 22, 28, 3}));
  for (int64_t i = 0; i < 7; ++i) {
    const int64_t index = batch->indices[i];
    EXPECT_EQ(batch->labels[i].item<int64_t>(), loaded.dataset.samples[index].label);
    const auto image = loaded.cache->get(index);
    EXPECT_EQ(batch->images.sizes[i][0].item<int64_t>(), image->height);
    EXPECT_EQ(batch->images.pixels[i][0][0][1].item<uint8_t>(), image->pixels[1]);
  }
  std::vector<uint64_t> seeds = batch->sample_seeds;
  std::sort(seeds.begin(), seeds.end());
  EXPECT_EQ(std::unique(seeds.begin(), seeds.end()), seeds.end()) << "every sample gets its own augmentation seed";
  EXPECT_FALSE(loader.next().has_value());
  EXPECT_EQ(loader.timing().images, 7);
}

TEST(Loader, DropLastAndClassBalancedSampling) {
  TempDir dir;
  const LoadedDataset loaded = load_dataset(write_folder(dir, {40, 4}), {});
  LoaderOptions options;
  options.batch_size = 8;
  options.drop_last = true;
  options.class_balanced = true;
  BatchLoader loader(loaded.cache, labels_of(loaded.dataset), 2, options);
  EXPECT_EQ(loader.batches_per_epoch(), 5);
  std::map<int, int> per_class;
  for (int64_t epoch = 0; epoch < 10; ++epoch) {
    for (const auto& batch : epoch_batches(loader, epoch)) {
      EXPECT_EQ(batch.size(), 8u);
      for (int64_t index : batch) ++per_class[loaded.dataset.samples[index].label];
    }
  }
  // 400 draws, half expected from the 4-image class (without balancing it would be ~36).
  EXPECT_GT(per_class[1], 150);
  EXPECT_GT(per_class[0], 150);
}

// The batch keeps its size: a readable image of it takes the removed one's place, with views of its own.
TEST(Loader, AFileRemovedAfterLoadingIsReplacedNotFatal) {
  TempDir dir;
  LoadOptions no_cache;
  no_cache.cache_bytes = 0;  // every access decodes, so the removal is noticed
  const LoadedDataset loaded = load_dataset(write_folder(dir, {3, 3}), no_cache);
  std::filesystem::remove(loaded.cache->file(2));
  LoaderOptions options;
  options.batch_size = 6;
  options.shuffle = false;
  BatchLoader loader(loaded.cache, labels_of(loaded.dataset), 2, options);
  loader.start_epoch(0);
  auto batch = loader.next();
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->indices, (std::vector<int64_t>{0, 1, 3, 4, 5, 0}));
  EXPECT_EQ(batch->images.pixels.size(0), 6);
  EXPECT_TRUE(torch::equal(batch->labels, torch::tensor({0, 0, 1, 1, 1, 0}, torch::kInt64)));
  EXPECT_NE(batch->sample_seeds[5], batch->sample_seeds[0]) << "the copy gets views of its own";
}

TEST(ImageCache, MemoryBoundIsRespectedAndMissesStillDecode) {
  TempDir dir;
  const Dataset dataset = write_folder(dir, {10});
  LoadOptions options;
  const int64_t one_image = 28 * 22 * 3;  // the largest test image
  options.cache_bytes = 3 * one_image;
  const LoadedDataset loaded = load_dataset(dataset, options);
  EXPECT_LE(loaded.cache->bytes_held(), options.cache_bytes);
  EXPECT_GE(loaded.cache->images_held(), 3u);
  EXPECT_LT(loaded.cache->images_held(), 10u);
  for (size_t i = 0; i < 10; ++i) EXPECT_FALSE(loaded.cache->get(i)->empty());
  EXPECT_LE(loaded.cache->bytes_held(), options.cache_bytes);
}

TEST(ImageCache, LoadingSkipsBadFilesAndFailsOnlyWhenAClassIsEmpty) {
  TempDir dir;
  write_folder(dir, {3, 2});
  testing::write_bytes(dir / "class0/broken.jpg", "\xFF\xD8\xFF\xE0 not really");
  testing::write_bytes(dir / "class0/notes.txt", "hello");
  LoadOptions options;
  options.warn = false;
  const LoadedDataset loaded = load_dataset(list_image_folder(dir.path()), options);
  EXPECT_EQ(loaded.dataset.samples.size(), 5u);
  ASSERT_EQ(loaded.bad_files.size(), 2u);
  EXPECT_NE(loaded.bad_files[0].path.find("broken.jpg"), std::string::npos);
  EXPECT_FALSE(loaded.bad_files[0].reason.empty());

  for (int i = 0; i < 2; ++i) testing::write_bytes(dir / ("class1/img" + std::to_string(i) + ".png"), "");
  EXPECT_THROW(load_dataset(list_image_folder(dir.path()), options), UserError);
}

}  // namespace
}  // namespace trashcl
