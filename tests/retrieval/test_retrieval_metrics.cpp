// mAP and precision@k on examples worked out by hand.
#include <gtest/gtest.h>

#include "common/error.h"
#include "retrieval/retrieval_metrics.h"

namespace trashcl {
namespace {

TEST(RetrievalMetrics, AveragePrecisionOfAHandRanking) {
  // Relevant at ranks 1, 3, 6 of 6: precisions 1/1, 2/3, 3/6 -> AP = (1 + 2/3 + 1/2) / 3.
  EXPECT_NEAR(average_precision({true, false, true, false, false, true}), (1.0 + 2.0 / 3 + 0.5) / 3, 1e-12);
  EXPECT_DOUBLE_EQ(average_precision({true, true, false}), 1.0);
  EXPECT_DOUBLE_EQ(average_precision({false, false}), 0.0);
  EXPECT_DOUBLE_EQ(average_precision({}), 0.0);
}

TEST(RetrievalMetrics, MapAndPrecisionOfAHandExampleWithTies) {
  // 8-bit codes. Labels: 0 = A, 1 = B, 2 = C (no gallery item: that query is left out).
  LabelledCodes gallery{8, {0b00000000, 0b00000001, 0b00000011, 0b00000001, 0b11111111}, {0, 1, 0, 0, 1}};
  LabelledCodes queries{8, {0b00000000, 0b11111111, 0b01010101}, {0, 1, 2}};
  const RetrievalReport report = evaluate_retrieval(queries, gallery, {1, 2, 10});
  // Query A (code 0): distances 0,1,2,1,8 -> ranking g0, g1, g3 (tie at 1 in gallery order), g2, g4;
  // relevant 1,0,1,1,0 -> AP = (1 + 2/3 + 3/4) / 3. Had the tie gone g3 first, AP would be (1 + 1 + 3/4) / 3.
  const double ap_a = (1.0 + 2.0 / 3 + 0.75) / 3;
  // Query B (code 255): distances 8,7,6,7,0 -> ranking g4, g2, g1, g3, g0; relevant 1,0,1,0,0 -> AP = (1 + 2/3) / 2.
  const double ap_b = (1.0 + 2.0 / 3) / 2;
  EXPECT_EQ(report.queries, 3);
  EXPECT_EQ(report.queries_without_relevant, 1);
  EXPECT_EQ(report.gallery, 5);
  EXPECT_NEAR(report.mean_average_precision, (ap_a + ap_b) / 2, 1e-12);
  ASSERT_EQ(report.precision_at.size(), 3u);
  EXPECT_DOUBLE_EQ(report.precision_at[0], 1.0);            // both nearest items relevant
  EXPECT_DOUBLE_EQ(report.precision_at[1], 0.5);            // A: g0 yes, g1 no; B: g4 yes, g2 no
  EXPECT_DOUBLE_EQ(report.precision_at[2], (3.0 / 5 + 2.0 / 5) / 2);  // k = 10 past a gallery of 5 counts 5
}

TEST(RetrievalMetrics, PerfectCodesGiveMapOne) {
  LabelledCodes gallery{64, {1, 1, 2, 2, 4}, {0, 0, 1, 1, 2}};
  LabelledCodes queries{64, {1, 2, 4}, {0, 1, 2}};
  EXPECT_DOUBLE_EQ(evaluate_retrieval(queries, gallery, {1}).mean_average_precision, 1.0);
}

TEST(RetrievalMetrics, PrefixKeepsTheFirstBitsOnly) {
  // Two 128-bit codes: word 0 then word 1.
  LabelledCodes codes{128, {int64_t{0x00000000FFFF1234}, 7, -1, -1}, {0, 1}};
  const LabelledCodes first16 = code_prefix(codes, 16);
  EXPECT_EQ(first16.bits, 16);
  EXPECT_EQ(first16.codes, (std::vector<int64_t>{0x1234, 0xFFFF}));
  EXPECT_EQ(first16.labels, codes.labels);
  EXPECT_EQ(code_prefix(codes, 64).codes, (std::vector<int64_t>{0x00000000FFFF1234, -1}));
  EXPECT_THROW(code_prefix(codes, 129), UserError);
  EXPECT_THROW(evaluate_retrieval(first16, codes, {1}), UserError);  // widths differ
}

}  // namespace
}  // namespace trashcl
