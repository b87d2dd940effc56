// Suggestions for misspelt config keys and flags.
#include <gtest/gtest.h>

#include "common/spelling.h"

namespace trashcl {
namespace {

TEST(Spelling, DistanceCountsInsertionsDeletionsSubstitutionsAndSwaps) {
  EXPECT_EQ(spelling_distance("image_size", "image_size"), 0);
  EXPECT_EQ(spelling_distance("imagesize", "image_size"), 1);  // one insertion
  EXPECT_EQ(spelling_distance("image_sizes", "image_size"), 1);  // one deletion
  EXPECT_EQ(spelling_distance("image_sise", "image_size"), 1);  // one substitution
  EXPECT_EQ(spelling_distance("--modle", "--model"), 1);  // two neighbours swapped
  EXPECT_EQ(spelling_distance("Batch_Size", "batch_size"), 0);  // case is ignored
  EXPECT_EQ(spelling_distance("", "seed"), 4);
  EXPECT_EQ(spelling_distance("tau", "lr"), 3);
}

TEST(Spelling, NearestNameSuggestsOnlyALikelyMisspelling) {
  const std::vector<std::string> keys{"image_size", "batch_size", "epochs", "lr", "seed", "tau"};
  EXPECT_EQ(nearest_name("imagesize", keys), "image_size");
  EXPECT_EQ(nearest_name("epoch", keys), "epochs");
  EXPECT_EQ(nearest_name("batchsize", keys), "batch_size");
  EXPECT_EQ(nearest_name("sede", keys), "seed");
  // Too far from every key, or too short for two edits to mean anything: no suggestion.
  EXPECT_EQ(nearest_name("learning_rate", keys), std::nullopt);
  EXPECT_EQ(nearest_name("ab", keys), std::nullopt);
  EXPECT_EQ(nearest_name("tau", {}), std::nullopt);
  // Of two candidates the nearer wins, whatever their order.
  EXPECT_EQ(nearest_name("sizes", {"seeds", "size"}), "size");
  EXPECT_EQ(nearest_name("sizes", {"size", "seeds"}), "size");
}

}  // namespace
}  // namespace trashcl
