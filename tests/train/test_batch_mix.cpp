// Mixing a batch's anchor views: CutMix (one box from a partner image, the own share by area) and mixup (a blend).
#include <gtest/gtest.h>

#include "common/error.h"
#include "train/batch_mix.h"

namespace trashcl {
namespace {

// B = 8 images of 3 x 20 x 30, image i filled with the value i, and labels 10 + i.
struct NumberedBatch {
  torch::Tensor images = torch::arange(8, torch::kFloat32).view({8, 1, 1, 1}).expand({8, 3, 20, 30}).contiguous();
  torch::Tensor labels = torch::arange(10, 18, torch::kInt64);
};

TEST(CutMix, EachImageHoldsItsPartnersBoxAndTheOwnShareIsTheRestsArea) {
  const NumberedBatch batch;
  torch::manual_seed(3);
  for (int draw = 0; draw < 20; ++draw) {
    const MixedBatch mixed = cutmix(batch.images, batch.labels);
    ASSERT_EQ(mixed.images.sizes(), batch.images.sizes());
    const auto partners = mixed.mix.partner_labels - 10;  // [B] the index of each image's partner
    EXPECT_TRUE(torch::equal(std::get<0>(partners.sort()), torch::arange(8, torch::kInt64)))
        << "the partners are a permutation of the batch";
    const auto pasted = mixed.images.ne(batch.images).all(1);  // [B,H,W] pixels replaced, every channel alike
    const auto pasted_area = pasted.sum({1, 2}).to(torch::kFloat64) / (20.0 * 30.0);  // [B]
    const auto box = pasted.any(0);  // [H,W] the one box, where any image whose partner is another differs
    const auto box_area = box.sum().item<double>() / (20.0 * 30.0);
    EXPECT_NEAR(mixed.mix.own_share, 1.0 - box_area, 1e-9) << "draw " << draw;
    for (int64_t i = 0; i < 8; ++i) {
      const int64_t partner = partners[i].item<int64_t>();
      const auto image = mixed.images[i][0];  // [H,W]
      EXPECT_TRUE(image.masked_select(box).eq(static_cast<float>(partner)).all().item<bool>()) << "draw " << draw;
      EXPECT_TRUE(image.masked_select(box.logical_not()).eq(static_cast<float>(i)).all().item<bool>()) << "draw " << draw;
      if (partner != i) {
        EXPECT_NEAR(pasted_area[i].item<double>(), box_area, 1e-9);
      }
    }
    const auto [rows, columns] = [&box] {
      const auto any_row = box.any(1), any_column = box.any(0);
      return std::pair{any_row.sum().item<int64_t>(), any_column.sum().item<int64_t>()};
    }();
    EXPECT_EQ(box.sum().item<int64_t>(), rows * columns) << "the pasted region is one rectangle";
  }
}

TEST(CutMix, TheSameSeedMixesTheSameWayAndTheBoxSizeVaries) {
  const NumberedBatch batch;
  torch::manual_seed(4);
  const MixedBatch first = cutmix(batch.images, batch.labels);
  std::vector<double> shares;
  for (int draw = 0; draw < 50; ++draw) shares.push_back(cutmix(batch.images, batch.labels).mix.own_share);
  torch::manual_seed(4);
  const MixedBatch again = cutmix(batch.images, batch.labels);
  EXPECT_TRUE(torch::equal(first.images, again.images));
  EXPECT_TRUE(torch::equal(first.mix.partner_labels, again.mix.partner_labels));
  const auto share_tensor = torch::tensor(shares, torch::kFloat64);
  // lambda ~ U(0, 1) and clipping only shrinks the box: own shares spread over [0, 1], their mean at or above 1/2.
  EXPECT_LT(share_tensor.min().item<double>(), 0.3);
  EXPECT_GT(share_tensor.max().item<double>(), 0.8);
  EXPECT_GT(share_tensor.mean().item<double>(), 0.45);
}

TEST(CutMix, ThisStepIsMixedWithTheGivenProbability) {
  torch::manual_seed(5);
  int mixed = 0;
  for (int step = 0; step < 1000; ++step) mixed += cutmix_this_step(0.3) ? 1 : 0;
  EXPECT_NEAR(mixed, 300, 60);
  for (int step = 0; step < 100; ++step) {
    EXPECT_FALSE(cutmix_this_step(0.0));
    EXPECT_TRUE(cutmix_this_step(1.0));
  }
}

TEST(CutMix, RejectsImagesAndLabelsThatDoNotMatch) {
  const NumberedBatch batch;
  EXPECT_THROW(cutmix(batch.images, batch.labels.slice(0, 0, 4)), UserError);
  EXPECT_THROW(cutmix(batch.images[0], batch.labels), UserError);
}

TEST(Mixup, EachImageIsTheOwnShareOfItselfAndTheRestOfItsPartner) {
  const NumberedBatch batch;
  torch::manual_seed(6);
  for (int draw = 0; draw < 20; ++draw) {
    const MixedBatch mixed = mixup(batch.images, batch.labels, 0.4);
    ASSERT_EQ(mixed.images.sizes(), batch.images.sizes());
    const double share = mixed.mix.own_share;
    ASSERT_GE(share, 0.0);
    ASSERT_LE(share, 1.0);
    const auto partners = mixed.mix.partner_labels - 10;  // [B] the index of each image's partner
    EXPECT_TRUE(torch::equal(std::get<0>(partners.sort()), torch::arange(8, torch::kInt64)))
        << "the partners are a permutation of the batch";
    // Image i holds i x share + partner x (1 - share) in every pixel.
    const auto expected = torch::arange(8, torch::kFloat32) * share + partners.to(torch::kFloat32) * (1.0 - share);
    EXPECT_TRUE(torch::allclose(mixed.images, expected.view({8, 1, 1, 1}).expand_as(batch.images), 1e-5, 1e-5))
        << "draw " << draw;
  }
}

TEST(Mixup, TheShareFollowsBetaAlphaAlphaAndTheSameSeedMixesTheSameWay) {
  const NumberedBatch batch;
  auto shares = [&batch](double alpha) {
    std::vector<double> drawn;
    for (int draw = 0; draw < 400; ++draw) drawn.push_back(mixup(batch.images, batch.labels, alpha).mix.own_share);
    return torch::tensor(drawn, torch::kFloat64);
  };
  torch::manual_seed(7);
  // Beta(a, a) has mean 1/2 and variance 1 / (4 (2a + 1)): 0.0893 for a = 0.4, 0.0227 for a = 5.
  const auto spread = shares(0.4), central = shares(5.0);
  EXPECT_NEAR(spread.mean().item<double>(), 0.5, 0.05);
  EXPECT_NEAR(central.mean().item<double>(), 0.5, 0.03);
  EXPECT_NEAR(spread.var().item<double>(), 1.0 / (4 * 1.8), 0.015);
  EXPECT_NEAR(central.var().item<double>(), 1.0 / (4 * 11.0), 0.006);

  torch::manual_seed(8);
  const MixedBatch first = mixup(batch.images, batch.labels, 0.4);
  torch::manual_seed(8);
  const MixedBatch again = mixup(batch.images, batch.labels, 0.4);
  EXPECT_TRUE(torch::equal(first.images, again.images));
  EXPECT_TRUE(torch::equal(first.mix.partner_labels, again.mix.partner_labels));
  EXPECT_THROW(mixup(batch.images, batch.labels, 0.0), UserError);
  EXPECT_THROW(mixup(batch.images, batch.labels.slice(0, 0, 4), 0.4), UserError);
}

TEST(MixAnchorViews, CutMixesWithItsProbabilityAndMixesUpTheOtherBatches) {
  const NumberedBatch batch;
  torch::manual_seed(9);
  int cutmixed = 0, mixed_up = 0;
  for (int step = 0; step < 400; ++step) {
    const MixedBatch mixed = mix_anchor_views(batch.images, batch.labels, 0.3, 1.0);
    ASSERT_TRUE(mixed.mix.partner_labels.defined());
    // A CutMixed image holds only whole photo values; a mixed-up one holds blends (share 0 or 1 aside).
    const bool whole_values = torch::equal(mixed.images, mixed.images.round());
    if (whole_values) ++cutmixed;
    else ++mixed_up;
  }
  EXPECT_NEAR(cutmixed, 120, 30);
  EXPECT_EQ(cutmixed + mixed_up, 400);

  // With both off the batch passes through unmixed and nothing is drawn from the generator.
  torch::manual_seed(10);
  const MixedBatch unmixed = mix_anchor_views(batch.images, batch.labels, 0.0, 0.0);
  EXPECT_TRUE(torch::equal(unmixed.images, batch.images));
  EXPECT_FALSE(unmixed.mix.mixed());
  const auto next_draw = torch::rand({1}, torch::kFloat64);
  torch::manual_seed(10);
  EXPECT_TRUE(torch::equal(next_draw, torch::rand({1}, torch::kFloat64)));
}

}  // namespace
}  // namespace trashcl
