// The progress line's times: the run's remaining time and how a duration reads.
#include <gtest/gtest.h>

#include "train/progress.h"

namespace trashcl {
namespace {

TEST(Progress, RunTimeLeftIsTheMeanStepTimeTimesTheStepsLeft) {
  EXPECT_DOUBLE_EQ(run_seconds_left(30.0, 10, 90), 270.0);  // 3 s a step
  EXPECT_DOUBLE_EQ(run_seconds_left(30.0, 10, 0), 0.0);     // the last step is taken
  EXPECT_LT(run_seconds_left(0.0, 0, 90), 0.0);              // no step yet: not known
}

TEST(Progress, DurationsReadInTheLargestUsefulUnits) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(44.6), "45s");
  EXPECT_EQ(format_duration(59.6), "1m 00s");
  EXPECT_EQ(format_duration(725), "12m 05s");
  EXPECT_EQ(format_duration(3599), "59m 59s");
  EXPECT_EQ(format_duration(3600), "1h 00m");
  EXPECT_EQ(format_duration(9689), "2h 41m");  // 2h 41m 29s
  EXPECT_EQ(format_duration(9691), "2h 42m");  // 2h 41m 31s, to the nearest minute
  EXPECT_EQ(format_duration(-5), "0s");
}

}  // namespace
}  // namespace trashcl
