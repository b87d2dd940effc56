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

// The keys `config` moves from their defaults that its other choices leave without effect, each as
// "paco_gamma = 0.001 (loss = ce)": whoever set one expected it to change the run.
std::vector<std::string> settings_without_effect(Config config);

}  // namespace trashcl
