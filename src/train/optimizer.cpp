#include "train/optimizer.h"

#include <unordered_set>
#include <vector>

namespace trashcl {

std::unique_ptr<torch::optim::SGD> make_optimizer(ContrastiveClassifier& model, const Config& config, double lr) {
  const std::vector<torch::Tensor> head = model->head_parameters();
  std::unordered_set<const void*> in_head;
  for (const auto& parameter : head) in_head.insert(parameter.unsafeGetTensorImpl());
  std::vector<torch::Tensor> encoder;
  for (const auto& parameter : model->trainable_parameters()) {
    if (!in_head.count(parameter.unsafeGetTensorImpl())) encoder.push_back(parameter);
  }
  const auto options = torch::optim::SGDOptions(lr).momentum(config.sgd_momentum).weight_decay(config.weight_decay);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(encoder, std::make_unique<torch::optim::SGDOptions>(options));
  groups.emplace_back(head, std::make_unique<torch::optim::SGDOptions>(options));
  return std::make_unique<torch::optim::SGD>(std::move(groups), options);
}

void set_learning_rate(torch::optim::SGD& optimizer, double lr, double head_lr_scale) {
  auto& groups = optimizer.param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    static_cast<torch::optim::SGDOptions&>(groups[i].options()).lr(i == 1 ? lr * head_lr_scale : lr);
  }
}

}  // namespace trashcl
