// precision = auto: bf16 where its kernels pay (CUDA, a CPU with AMX), fp32 elsewhere.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "train/precision.h"

namespace trashcl {
namespace {

bool has_flag(const std::string& cpuinfo, const std::string& flag) {
  std::istringstream text(cpuinfo);
  return cpuinfo_has_flag(text, flag);
}

TEST(Precision, ReadsWholeFlagsFromTheCpuinfoFlagsLine) {
  const std::string sapphire_rapids =
      "processor\t: 0\nmodel name\t: Intel(R) Xeon(R)\nflags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n"
      "bugs\t\t: spectre_v1\n";
  EXPECT_TRUE(has_flag(sapphire_rapids, "amx_bf16"));
  EXPECT_TRUE(has_flag(sapphire_rapids, "fpu"));
  EXPECT_FALSE(has_flag(sapphire_rapids, "amx"));        // a prefix of a flag is not the flag
  EXPECT_FALSE(has_flag(sapphire_rapids, "spectre_v1"));  // not on the flags line
  const std::string epyc = "processor\t: 0\nflags\t\t: fpu avx2 fma\n";
  EXPECT_FALSE(has_flag(epyc, "amx_bf16"));
  EXPECT_FALSE(has_flag("", "amx_bf16"));
}

TEST(Precision, AutoIsBf16OnCudaAndExplicitChoicesPassThrough) {
  EXPECT_EQ(resolve_precision("auto", true), "bf16");
  EXPECT_EQ(resolve_precision("fp32", true), "fp32");
  EXPECT_EQ(resolve_precision("bf16", false), "bf16");
  EXPECT_EQ(resolve_precision("fp32", false), "fp32");
}

TEST(Precision, AutoOnTheCpuFollowsTheAmxFlag) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  ASSERT_TRUE(cpuinfo.good()) << "/proc/cpuinfo: cannot read";
  EXPECT_EQ(resolve_precision("auto", false), cpuinfo_has_flag(cpuinfo, "amx_bf16") ? "bf16" : "fp32");
}

}  // namespace
}  // namespace trashcl
