#include "train/weight_average.h"

#include <algorithm>
#include <string>

#include "common/error.h"
#include "model/copy_model.h"
#include "train/rng_state.h"

namespace trashcl {

WeightAverage::WeightAverage(ContrastiveClassifier& model, double decay) : decay_(decay) {
  if (!(decay > 0.0 && decay < 1.0)) {
    throw UserError("model_ema = " + std::to_string(decay) + " must be in (0, 1), or 0 for no weight average; use 0.998");
  }
  // Building the copy draws initial weights from the default generator; its state is put back, so that a run
  // trains the same weights with the average as without it.
  const torch::Tensor state = cpu_rng_state();
  average_ = ContrastiveClassifier(without_momentum_branch(model->options()));
  set_cpu_rng_state(state);
  average_->to(model->parameters().front().device());
  copy_weights_by_name(model, average_);
  average_->eval();
}

double WeightAverage::decay_at(double decay, int64_t step) {
  return std::min(decay, (1.0 + static_cast<double>(step)) / (10.0 + static_cast<double>(step)));
}

void WeightAverage::update(ContrastiveClassifier& model, int64_t step) {
  torch::NoGradGuard no_grad;
  const double d = decay_at(decay_, step);
  auto fold = [d](torch::Tensor& average, const torch::Tensor& current) {
    if (average.is_floating_point()) {
      average.mul_(d).add_(current, 1.0 - d);
    } else {
      average.copy_(current);
    }
  };
  const auto parameters = model->named_parameters();
  for (auto& item : average_->named_parameters()) fold(item.value(), parameters[item.key()]);
  const auto buffers = model->named_buffers();
  for (auto& item : average_->named_buffers()) fold(item.value(), buffers[item.key()]);
  if (model->encoder()->has_fusion()) {  // the sharpness the weights were trained at, not an average of it
    average_->encoder()->fusion()->set_beta(model->encoder()->fusion()->beta());
  }
}

void WeightAverage::load(ContrastiveClassifier& stored) { copy_weights_by_name(stored, average_); }

}  // namespace trashcl
