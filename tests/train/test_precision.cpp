// precision = auto: bf16 where its kernels pay (CUDA, a CPU with AMX or AVX-512 BF16), fp32 elsewhere.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "train/precision.h"

namespace trashcl {
namespace {

bool has_flag(const std::string& cpuinfo, const std::string& flag) {
  std::istringstream text(cpuinfo);
  return cpuinfo_has_any_flag(text, {flag});
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

bool has_bf16_kernels(const std::string& cpuinfo) {
  std::istringstream text(cpuinfo);
  return cpuinfo_has_bf16_kernels(text);
}

TEST(Precision, Bf16KernelsMeanAmxOrAvx512Bf16) {
  EXPECT_TRUE(has_bf16_kernels("flags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile\n"));  // Sapphire Rapids
  EXPECT_TRUE(has_bf16_kernels("flags\t\t: fpu avx512f avx512_bf16 avx512_vnni\n"));        // EPYC Zen 4
  EXPECT_TRUE(has_bf16_kernels("flags\t\t: fpu amx_bf16\n"));
  EXPECT_FALSE(has_bf16_kernels("flags\t\t: fpu avx2 fma avx512f avx512_vnni\n"));          // AVX-512 without BF16
  EXPECT_FALSE(has_bf16_kernels("model name\t: avx512_bf16\nflags\t\t: fpu avx2\n"));     // not on the flags line
  EXPECT_FALSE(has_bf16_kernels(""));
}

TEST(Precision, AutoIsBf16OnCudaAndExplicitChoicesPassThrough) {
  EXPECT_EQ(resolve_precision("auto", true), "bf16");
  EXPECT_EQ(resolve_precision("fp32", true), "fp32");
  EXPECT_EQ(resolve_precision("bf16", false), "bf16");
  EXPECT_EQ(resolve_precision("fp32", false), "fp32");
}

TEST(Precision, AutoOnTheCpuFollowsTheBf16Flags) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  ASSERT_TRUE(cpuinfo.good()) << "/proc/cpuinfo: cannot read";
  EXPECT_EQ(resolve_precision("auto", false), cpuinfo_has_bf16_kernels(cpuinfo) ? "bf16" : "fp32");
}

}  // namespace
}  // namespace trashcl
