#include "model/copy_model.h"

namespace trashcl {

ContrastiveClassifier copy_model(const ContrastiveClassifier& source) {
  ContrastiveClassifier copy(source->options());
  torch::NoGradGuard no_grad;
  const auto parameters = source->named_parameters();
  for (auto& item : copy->named_parameters()) item.value().copy_(parameters[item.key()]);
  const auto buffers = source->named_buffers();
  for (auto& item : copy->named_buffers()) item.value().copy_(buffers[item.key()]);
  return copy;
}

}  // namespace trashcl
