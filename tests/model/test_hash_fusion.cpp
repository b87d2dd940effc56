// Hash feature fusion, the quantisation loss and the packed binary codes.
#include <gtest/gtest.h>

#include <cmath>

#include "loss/quantization.h"
#include "model/binary_code.h"
#include "model/hash_fusion.h"
#include "model_testing.h"

namespace trashcl {
namespace {

const std::array<int64_t, 3> kChannels = {6, 8, 10};  // C3, C4, C5 of the fake backbone features

TEST(HashBeta, FollowsHashNetContinuationRefreshedEvery200Steps) {
  EXPECT_DOUBLE_EQ(hash_beta(0), 1.0);
  EXPECT_DOUBLE_EQ(hash_beta(199), 1.0);
  EXPECT_DOUBLE_EQ(hash_beta(200), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(hash_beta(599), std::sqrt(3.0));
  EXPECT_DOUBLE_EQ(hash_beta(1000, 1000, 0.01), std::sqrt(11.0));
}

TEST(HashFusion, ShapesOfCodesTokensAndSpatialCodes) {
  torch::manual_seed(0);
  HashFusion fusion(kChannels, 16, /*spatial=*/true);
  const auto codes = fusion->forward(testing::random_features(4, kChannels));
  EXPECT_EQ(codes.u.sizes(), torch::IntArrayRef({4, 16}));
  EXPECT_EQ(codes.tokens.sizes(), torch::IntArrayRef({4, 4, 16}));
  EXPECT_EQ(codes.spatial.sizes(), torch::IntArrayRef({4, 8, 16}));  // 2 x (2x2 grid of C5)
  EXPECT_TRUE(torch::equal(codes.tokens.select(1, 3), codes.u));
  EXPECT_LT(codes.u.abs().max().item<double>(), 1.0);
  HashFusion plain(kChannels, 16);
  EXPECT_FALSE(plain->forward(testing::random_features(4, kChannels)).spatial.defined());
}

TEST(HashFusion, BetaIsACheckpointedBuffer) {
  HashFusion fusion(kChannels, 16);
  fusion->set_beta(hash_beta(400));
  EXPECT_NEAR(fusion->beta(), std::sqrt(3.0), 1e-6);
  EXPECT_NE(fusion->named_buffers().find("beta"), nullptr);
}

TEST(HashFusion, TanhOfBetaXApproachesSignAsBetaGrows) {
  torch::manual_seed(1);
  auto x = torch::randn({1000});
  x = x.masked_fill(x.abs() < 1e-2, 0.5);  // keep clear of 0, where sign is discontinuous
  double previous = 2.0;
  for (double beta : {1.0, 10.0, 100.0, 1000.0}) {
    const double gap = (torch::tanh(beta * x) - torch::sign(x)).abs().max().item<double>();
    EXPECT_LT(gap, previous);
    previous = gap;
  }
  EXPECT_LT(previous, 1e-3);
  // The fusion itself: with a large beta every code is within 1e-3 of +-1 and the regulariser vanishes.
  HashFusion fusion(kChannels, 16);
  fusion->set_beta(1e4);
  const auto u = fusion->forward(testing::random_features(8, kChannels)).u;
  EXPECT_GT(u.abs().min().item<double>(), 0.999);
  EXPECT_LT(quantization_loss(u).item<double>(), 1e-3);
}

TEST(HashQuantization, LogCoshIsZeroAtUnitMagnitudeAndStable) {
  auto u = torch::tensor({1.0, -1.0, 1.0, -1.0}).reshape({2, 2});
  EXPECT_EQ(quantization_loss(u).item<double>(), 0.0);
  auto x = torch::linspace(-5, 5, 101, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(log_cosh(x), torch::log(torch::cosh(x)), 1e-12, 1e-12));
  auto large = torch::tensor({1e3, -1e4, 1e30});  // cosh overflows float32 here
  auto value = log_cosh(large);
  EXPECT_TRUE(torch::isfinite(value).all().item<bool>());
  EXPECT_NEAR(value[0].item<double>(), 1e3 - std::log(2.0), 1e-3);
  EXPECT_EQ(quantization_loss(u.to(torch::kBFloat16)).scalar_type(), torch::kFloat32);
}

TEST(HashBinaryCode, PacksSignBitsAndCountsHamming) {
  auto u = -torch::ones({2, 70});
  u[0][0] = 0.3;
  u[0][63] = 0.9;
  u[0][64] = 0.1;
  u[1][69] = 0.5;
  const auto codes = binary_code(u);
  ASSERT_EQ(codes.sizes(), torch::IntArrayRef({2, 2}));
  EXPECT_EQ(static_cast<uint64_t>(codes[0][0].item<int64_t>()), (uint64_t{1} << 63) | 1u);
  EXPECT_EQ(codes[0][1].item<int64_t>(), 1);
  EXPECT_EQ(codes[1][0].item<int64_t>(), 0);
  EXPECT_EQ(codes[1][1].item<int64_t>(), int64_t{1} << 5);
  const auto distances = hamming_distances(codes, codes);
  EXPECT_EQ(distances[0][0].item<int64_t>(), 0);
  EXPECT_EQ(distances[0][1].item<int64_t>(), 4);
  EXPECT_EQ(distances[1][0].item<int64_t>(), 4);
}

TEST(HashBinaryCode, DotProductOfSignCodesIsBitsMinusTwiceHamming) {
  torch::manual_seed(2);
  auto u = torch::randn({5, 64});
  const auto codes = binary_code(u);
  const auto distances = hamming_distances(codes, codes);
  auto signs = torch::where(u > 0, torch::ones_like(u), -torch::ones_like(u));  // [5,64]
  auto dots = torch::matmul(signs, signs.t()).to(torch::kInt64);                // [5,5]
  for (int64_t i = 0; i < 5; ++i) {
    for (int64_t j = 0; j < 5; ++j) {
      EXPECT_EQ(code_dot(distances[i][j].item<int64_t>(), 64), dots[i][j].item<int64_t>());
    }
  }
}

}  // namespace
}  // namespace trashcl
