// The options of each library piece that a flat Config implies.
#pragma once
#include <string>
#include <vector>

#include "common/config.h"
#include "data/augment.h"
#include "data/image_cache.h"
#include "model/model_options.h"

namespace trashcl {

AugmentConfig augment_config(const Config& config);
LoadOptions load_options(const Config& config);
// class_prior: training-set class frequencies [N].
ModelOptions model_options(const Config& config, const std::vector<double>& class_prior);

}  // namespace trashcl
