#include <gtest/gtest.h>

#include "train/metrics.h"
#include "train/report.h"

namespace trashcl {
namespace {

// A hand-made 3-class confusion matrix (rows truth, columns predicted):
//   [5 1 0]
//   [2 6 2]
//   [0 0 4]
ConfusionMatrix hand_made() {
  ConfusionMatrix matrix(3);
  const int counts[3][3] = {{5, 1, 0}, {2, 6, 2}, {0, 0, 4}};
  for (int t = 0; t < 3; ++t) {
    for (int p = 0; p < 3; ++p) {
      for (int k = 0; k < counts[t][p]; ++k) matrix.add(t, p);
    }
  }
  return matrix;
}

TEST(EvalMetrics, MatchAHandComputedConfusionMatrix) {
  const ClassificationReport report = hand_made().report();
  EXPECT_EQ(report.samples, 20);
  EXPECT_DOUBLE_EQ(report.top1, 15.0 / 20.0);
  EXPECT_DOUBLE_EQ(report.top5, -1);  // only 3 classes
  // Recall: 5/6, 6/10, 4/4. Precision: 5/7, 6/7, 4/6.
  EXPECT_DOUBLE_EQ(report.per_class_accuracy[0], 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(report.per_class_accuracy[1], 0.6);
  EXPECT_DOUBLE_EQ(report.per_class_precision[2], 4.0 / 6.0);
  const double f1_0 = 2 * (5.0 / 7) * (5.0 / 6) / (5.0 / 7 + 5.0 / 6);
  const double f1_1 = 2 * (6.0 / 7) * 0.6 / (6.0 / 7 + 0.6);
  const double f1_2 = 2 * (4.0 / 6) * 1.0 / (4.0 / 6 + 1.0);
  EXPECT_NEAR(report.macro_f1, (f1_0 + f1_1 + f1_2) / 3, 1e-12);
  EXPECT_NEAR(report.macro_precision, (5.0 / 7 + 6.0 / 7 + 4.0 / 6) / 3, 1e-12);
  EXPECT_NEAR(report.macro_recall, (5.0 / 6 + 0.6 + 1.0) / 3, 1e-12);
  EXPECT_EQ(report.confusion[1][2], 2);
}

TEST(EvalMetrics, MacroAveragesSkipClassesWithoutImages) {
  // Class 2 has no images but is predicted once:
  //   [3 1 0]
  //   [0 3 1]
  //   [0 0 0]
  ConfusionMatrix matrix(3);
  const int counts[3][3] = {{3, 1, 0}, {0, 3, 1}, {0, 0, 0}};
  for (int t = 0; t < 3; ++t) {
    for (int p = 0; p < 3; ++p) {
      for (int k = 0; k < counts[t][p]; ++k) matrix.add(t, p);
    }
  }
  const ClassificationReport report = matrix.report();
  EXPECT_EQ(report.per_class_samples, (std::vector<int64_t>{4, 4, 0}));
  EXPECT_DOUBLE_EQ(report.per_class_accuracy[2], 0);
  EXPECT_DOUBLE_EQ(report.per_class_precision[2], 0);  // its one prediction was wrong
  // Recall 3/4 and 3/4, precision 3/3 and 3/4, over the two classes with images.
  EXPECT_DOUBLE_EQ(report.macro_recall, 0.75);
  EXPECT_DOUBLE_EQ(report.macro_precision, (1.0 + 0.75) / 2);
  const double f1_0 = 2 * 1.0 * 0.75 / 1.75, f1_1 = 0.75;
  EXPECT_NEAR(report.macro_f1, (f1_0 + f1_1) / 2, 1e-12);
}

TEST(EvalMetrics, AClassWithoutImagesShowsADashNotZeroAccuracy) {
  EXPECT_EQ(percent_or_dash(5.0 / 6.0, 6), "83.3%");
  EXPECT_EQ(percent_or_dash(0, 4), "0.0%");  // images, none right: a real 0
  EXPECT_EQ(percent_or_dash(0, 0), "-");     // no images: undefined
}

TEST(EvalMetrics, ManyMediumFewShotGroupsFollowTrainingCounts) {
  const ClassificationReport report = hand_made().report({500, 50, 5});
  EXPECT_DOUBLE_EQ(report.many_shot, 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(report.medium_shot, 0.6);
  EXPECT_DOUBLE_EQ(report.few_shot, 1.0);
  const ClassificationReport no_few = hand_made().report({500, 500, 500});
  EXPECT_DOUBLE_EQ(no_few.few_shot, -1);
  EXPECT_DOUBLE_EQ(no_few.many_shot, 0.75);
}

TEST(EvalMetrics, TopFiveCountsOnlyWithMoreThanFiveClasses) {
  ConfusionMatrix matrix(6);
  matrix.add(0, 1, true);
  matrix.add(2, 2, true);
  matrix.add(3, 4, false);
  const auto report = matrix.report();
  EXPECT_DOUBLE_EQ(report.top5, 2.0 / 3.0);
  EXPECT_THROW(matrix.add(6, 0), std::out_of_range);
}

}  // namespace
}  // namespace trashcl
