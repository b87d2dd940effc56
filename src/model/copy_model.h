// An independent copy of a classifier: same options, parameters and buffers copied by name, so changing the
// copy in place (BatchNorm folding, for one) leaves the original alone.
#pragma once
#include "model/contrastive_classifier.h"

namespace trashcl {

ContrastiveClassifier copy_model(const ContrastiveClassifier& source);

// Copies every parameter and buffer of `destination`, in place, from the tensor of the same name in `source`
// (which may hold more: a model with the momentum branch into one without it).
void copy_weights_by_name(const ContrastiveClassifier& source, ContrastiveClassifier& destination);

}  // namespace trashcl
