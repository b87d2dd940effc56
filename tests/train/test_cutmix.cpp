// CutMix of the anchor view: one box from a partner image, the partners' labels, the own share by area.
#include <gtest/gtest.h>

#include "common/error.h"
#include "train/cutmix.h"

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
    const CutMixBatch mixed = cutmix(batch.images, batch.labels);
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
  const CutMixBatch first = cutmix(batch.images, batch.labels);
  std::vector<double> shares;
  for (int draw = 0; draw < 50; ++draw) shares.push_back(cutmix(batch.images, batch.labels).mix.own_share);
  torch::manual_seed(4);
  const CutMixBatch again = cutmix(batch.images, batch.labels);
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

}  // namespace
}  // namespace trashcl
