// An independent copy of a classifier: same options, parameters and buffers copied by name, so changing the
// copy in place (BatchNorm folding, for one) leaves the original alone.
#pragma once
#include "model/contrastive_classifier.h"

namespace trashcl {

ContrastiveClassifier copy_model(const ContrastiveClassifier& source);

}  // namespace trashcl
