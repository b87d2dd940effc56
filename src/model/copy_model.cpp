#include "model/copy_model.h"

namespace trashcl {

void copy_weights_by_name(const ContrastiveClassifier& source, ContrastiveClassifier& destination) {
  torch::NoGradGuard no_grad;
  const auto parameters = source->named_parameters();
  for (auto& item : destination->named_parameters()) item.value().copy_(parameters[item.key()]);
  const auto buffers = source->named_buffers();
  for (auto& item : destination->named_buffers()) item.value().copy_(buffers[item.key()]);
}

ContrastiveClassifier copy_model(const ContrastiveClassifier& source) {
  ContrastiveClassifier copy(source->options());
  copy_weights_by_name(source, copy);
  return copy;
}

}  // namespace trashcl
