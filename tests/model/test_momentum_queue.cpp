// Momentum (key) encoder EMA and the labelled queue.
#include <gtest/gtest.h>

#include "common/error.h"
#include "model/momentum.h"

namespace trashcl {
namespace {

Encoder tiny_encoder() {
  EncoderOptions options;
  options.backbone = "tiny";
  options.hash_bits = 16;
  options.embed_dim = 8;
  options.projection_hidden = 16;
  return Encoder(options);
}

// Moves every query parameter and buffer away from the key encoder's values.
void perturb(Encoder& encoder) {
  torch::NoGradGuard no_grad;
  for (auto& parameter : encoder->parameters()) parameter.add_(torch::randn_like(parameter));
  for (auto& buffer : encoder->buffers()) {
    if (buffer.is_floating_point()) buffer.add_(1.0);
  }
}

bool same_tensors(torch::nn::Module& a, torch::nn::Module& b) {
  auto left = a.named_parameters(), right = b.named_parameters();
  for (const auto& item : left) {
    if (!torch::equal(item.value(), right[item.key()])) return false;
  }
  auto left_buffers = a.named_buffers(), right_buffers = b.named_buffers();
  for (const auto& item : left_buffers) {
    if (!torch::equal(item.value(), right_buffers[item.key()])) return false;
  }
  return true;
}

TEST(MomentumQueue, KeyEncoderStartsAsACopyWithoutGradient) {
  torch::manual_seed(0);
  auto query = tiny_encoder();
  MomentumContrast momentum(query, 10, 0.99);
  EXPECT_TRUE(same_tensors(*query, *momentum->key_encoder()));
  for (const auto& parameter : momentum->key_encoder()->parameters()) EXPECT_FALSE(parameter.requires_grad());
}

TEST(MomentumQueue, EmaWithMomentumOneLeavesTheKeyEncoderUnchanged) {
  torch::manual_seed(1);
  auto query = tiny_encoder();
  MomentumContrast momentum(query, 10, 1.0);
  auto before = tiny_encoder();
  before->to(torch::kFloat32);
  {
    torch::NoGradGuard no_grad;
    auto source = momentum->key_encoder()->named_parameters();
    for (auto& item : before->named_parameters()) item.value().copy_(source[item.key()]);
  }
  perturb(query);
  momentum->update(query);
  auto key = momentum->key_encoder()->named_parameters();
  for (const auto& item : before->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), key[item.key()])) << item.key();
  }
}

TEST(MomentumQueue, EmaWithMomentumZeroCopiesTheQueryEncoder) {
  torch::manual_seed(2);
  auto query = tiny_encoder();
  MomentumContrast momentum(query, 10, 0.0);
  perturb(query);
  EXPECT_FALSE(same_tensors(*query, *momentum->key_encoder()));
  momentum->update(query);
  EXPECT_TRUE(same_tensors(*query, *momentum->key_encoder()));
}

TEST(MomentumQueue, EmaMovesParametersAFractionOneMinusMAndCopiesBuffers) {
  torch::manual_seed(3);
  auto query = tiny_encoder();
  MomentumContrast momentum(query, 10, 0.9);
  auto old_key = momentum->key_encoder()->named_parameters()["projection.fc1.weight"].clone();
  perturb(query);
  momentum->update(query);
  auto expected = 0.9 * old_key + 0.1 * query->named_parameters()["projection.fc1.weight"];
  EXPECT_TRUE(torch::allclose(momentum->key_encoder()->named_parameters()["projection.fc1.weight"], expected, 1e-6, 1e-6));
  EXPECT_TRUE(torch::equal(momentum->key_encoder()->named_buffers()["fusion.norm3.running_var"],
                           query->named_buffers()["fusion.norm3.running_var"]));
}

TEST(MomentumQueue, QueueStartsEmptyAndIsCheckpointedAsBuffers) {
  auto query = tiny_encoder();
  MomentumContrast momentum(query, 10, 0.99);
  EXPECT_EQ(momentum->queue().sizes(), torch::IntArrayRef({10, 8}));
  EXPECT_TRUE((momentum->queue_labels() == -1).all().item<bool>());
  EXPECT_EQ(momentum->pointer(), 0);
  auto buffers = momentum->named_buffers(/*recurse=*/false);
  for (const char* name : {"queue", "queue_labels", "queue_pointer"}) EXPECT_NE(buffers.find(name), nullptr) << name;
}

TEST(MomentumQueue, PointerWrapsAndTheNewestRowsAreTheEnqueuedKeys) {
  auto query = tiny_encoder();
  MomentumContrast momentum(query, 10, 0.99);
  torch::Tensor keys;
  for (int step = 0; step < 3; ++step) {  // 4 does not divide 10: the third batch wraps
    keys = torch::randn({4, 8});
    momentum->enqueue(keys, torch::full({4}, step, torch::kInt64));
  }
  EXPECT_EQ(momentum->pointer(), 2);
  auto slots = torch::tensor({8, 9, 0, 1}, torch::kInt64);
  EXPECT_TRUE(torch::equal(momentum->queue().index_select(0, slots), keys));
  EXPECT_TRUE((momentum->queue_labels().index_select(0, slots) == 2).all().item<bool>());
  EXPECT_EQ((momentum->queue_labels() == 1).sum().item<int64_t>(), 4);   // slots 4-7
  EXPECT_EQ((momentum->queue_labels() == 0).sum().item<int64_t>(), 2);   // slots 2-3 survive
}

TEST(MomentumQueue, BatchLargerThanTheQueueKeepsTheNewestRows) {
  auto query = tiny_encoder();
  MomentumContrast momentum(query, 3, 0.99);
  momentum->enqueue(torch::randn({1, 8}), torch::zeros({1}, torch::kInt64));  // pointer 1
  auto keys = torch::randn({5, 8});
  momentum->enqueue(keys, torch::arange(5));
  EXPECT_EQ(momentum->pointer(), (1 + 5) % 3);
  // Rows 2, 3, 4 land where sequential writes from slot 1 would leave them: 0, 1, 2.
  EXPECT_TRUE(torch::equal(momentum->queue(), keys.narrow(0, 2, 3)));
  EXPECT_TRUE(torch::equal(momentum->queue_labels(), torch::tensor({2, 3, 4}, torch::kInt64)));
}

TEST(MomentumQueue, KeysComeFromShuffledSubBatchesInBatchOrder) {
  torch::manual_seed(4);
  auto query = tiny_encoder();
  auto images = torch::randn({6, 3, 32, 32});
  // One group: the whole key batch in training mode.
  MomentumContrast whole(query, 10, 0.99, /*groups=*/1);
  auto keys = whole->keys(images);
  EXPECT_FALSE(keys.requires_grad());
  EXPECT_TRUE(torch::allclose(keys.norm(2, 1), torch::ones({6}), 1e-5, 1e-5));
  torch::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = whole->key_encoder()->forward(images).embedding;
  }
  EXPECT_TRUE(torch::allclose(keys, expected, 1e-5, 1e-6));
  // Three groups: the same permutation, split, encoded per sub-batch, and put back in batch order.
  MomentumContrast shuffled(query, 10, 0.99, /*groups=*/3);
  torch::manual_seed(11);
  keys = shuffled->keys(images);
  torch::manual_seed(11);
  auto order = torch::randperm(6, torch::kInt64);
  {
    torch::NoGradGuard no_grad;
    for (int64_t g = 0; g < 3; ++g) {
      auto members = order.narrow(0, 2 * g, 2);
      auto sub_batch = shuffled->key_encoder()->forward(images.index_select(0, members)).embedding;  // [2,d]
      EXPECT_TRUE(torch::allclose(keys.index_select(0, members), sub_batch, 1e-5, 1e-6)) << "group " << g;
    }
  }
  // Normalisation with other statistics: a key differs from the whole-batch one.
  EXPECT_FALSE(torch::allclose(keys, expected, 1e-3, 1e-3));
  // Groups shrink for small batches so each sub-batch keeps 2 images.
  EXPECT_EQ(shuffled->keys(images.narrow(0, 0, 3)).sizes(), torch::IntArrayRef({3, 8}));
}

TEST(MomentumQueue, RejectsBadOptions) {
  auto query = tiny_encoder();
  EXPECT_THROW(MomentumContrast(query, 0, 0.99), UserError);
  EXPECT_THROW(MomentumContrast(query, 10, 1.5), UserError);
  EXPECT_THROW(MomentumContrast(query, 10, 0.99, 0), UserError);
  MomentumContrast momentum(query, 10, 0.99);
  EXPECT_THROW(momentum->enqueue(torch::randn({4, 7}), torch::zeros({4}, torch::kInt64)), UserError);
}

}  // namespace
}  // namespace trashcl
