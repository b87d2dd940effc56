#include "model/momentum.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.h"

namespace trashcl {

namespace {

// Pairs every named tensor of `query` with the key encoder's tensor of the same name.
template <typename Visit>
void for_each_pair(const torch::OrderedDict<std::string, torch::Tensor>& query,
                   const torch::OrderedDict<std::string, torch::Tensor>& key, Visit visit) {
  if (query.size() != key.size()) {
    throw std::logic_error("momentum encoder: query has " + std::to_string(query.size()) + " tensors, key " +
                           std::to_string(key.size()));
  }
  for (const auto& item : query) {
    const torch::Tensor* target = key.find(item.key());
    if (target == nullptr || !target->sizes().equals(item.value().sizes())) {
      throw std::logic_error("momentum encoder: no key tensor matching " + item.key());
    }
    visit(item.value(), *target);
  }
}

}  // namespace

MomentumContrastImpl::MomentumContrastImpl(const Encoder& query, int64_t queue_size, double momentum, int64_t groups)
    : groups_(groups) {
  if (queue_size <= 0) {
    throw UserError("queue_size = " + std::to_string(queue_size) +
                    " must be positive; use about half the training set (1024 for ~2k images)");
  }
  if (query->options().embed_dim <= 0) {
    throw UserError("embed_dim = " + std::to_string(query->options().embed_dim) +
                    " must be positive with the momentum encoder; use 128");
  }
  if (groups <= 0) {
    throw UserError("key_batch_groups = " + std::to_string(groups) + " must be positive; use 4 (1 disables the shuffle)");
  }
  set_momentum(momentum);
  key_encoder_ = register_module("key_encoder", Encoder(query->options()));
  for (auto& parameter : key_encoder_->parameters()) parameter.set_requires_grad(false);
  const auto device = query->parameters().front().device();
  key_encoder_->to(device);
  queue_ = register_buffer("queue", torch::zeros({queue_size, query->options().embed_dim}, device));
  queue_labels_ = register_buffer("queue_labels", torch::full({queue_size}, -1, torch::dtype(torch::kInt64).device(device)));
  queue_pointer_ = register_buffer("queue_pointer", torch::zeros({}, torch::kInt64));
  const double configured = momentum_;
  momentum_ = 0.0;  // the key encoder starts as an exact copy
  update(query);
  momentum_ = configured;
}

void MomentumContrastImpl::set_momentum(double momentum) {
  if (momentum < 0.0 || momentum > 1.0) {
    throw UserError("moco_m = " + std::to_string(momentum) + " must be in [0, 1]; use 0.99 (0.999 for long runs)");
  }
  momentum_ = momentum;
}

void MomentumContrastImpl::update(const Encoder& query) {
  torch::NoGradGuard no_grad;
  const double m = momentum_;
  for_each_pair(query->named_parameters(), key_encoder_->named_parameters(),
                [m](const torch::Tensor& source, const torch::Tensor& target) {
                  auto key = target;  // shares storage with the key encoder's parameter
                  key.mul_(m).add_(source.detach(), 1.0 - m);
                });
  for_each_pair(query->named_buffers(), key_encoder_->named_buffers(),
                [](const torch::Tensor& source, const torch::Tensor& target) {
                  auto key = target;
                  key.copy_(source);
                });
}

torch::Tensor MomentumContrastImpl::keys(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  key_encoder_->train();  // batch statistics of each shuffled sub-batch (the running ones are overwritten by update)
  const int64_t batch = images.size(0);
  const int64_t groups = std::max<int64_t>(1, std::min(groups_, batch / 2));
  auto order = torch::randperm(batch, torch::dtype(torch::kInt64).device(images.device()));  // [B]
  std::vector<torch::Tensor> embedded;
  for (const auto& sub_batch : images.index_select(0, order).tensor_split(groups)) {  // [~B/G,3,H,W] each
    embedded.push_back(key_encoder_->forward(sub_batch).embedding);                   // [~B/G,d]
  }
  auto shuffled = torch::cat(embedded, 0);                                            // [B,d], row i is image order[i]
  return torch::empty_like(shuffled).index_copy_(0, order, shuffled);                 // [B,d] in batch order
}

void MomentumContrastImpl::enqueue(const torch::Tensor& keys, const torch::Tensor& labels) {
  torch::NoGradGuard no_grad;
  const int64_t size = queue_.size(0), batch = keys.size(0);
  if (keys.dim() != 2 || keys.size(1) != queue_.size(1) || labels.dim() != 1 || labels.size(0) != batch) {
    throw UserError("enqueue: expected keys [B," + std::to_string(queue_.size(1)) + "] and labels [B]");
  }
  const int64_t kept = std::min(batch, size);  // with B > Q the oldest rows would be overwritten anyway
  const int64_t first = batch - kept, pointer = queue_pointer_.item<int64_t>();
  auto slots = (torch::arange(first, batch, torch::dtype(torch::kInt64).device(queue_.device())) + pointer) % size;  // [kept]
  queue_.index_copy_(0, slots, keys.narrow(0, first, kept).detach().to(queue_.dtype()));        // [Q,d]
  queue_labels_.index_copy_(0, slots, labels.narrow(0, first, kept).to(queue_labels_.device(), torch::kInt64));  // [Q]
  queue_pointer_.fill_((pointer + batch) % size);
}

}  // namespace trashcl
