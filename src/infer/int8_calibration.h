// Where int8 inference takes its activation ranges from (the Predictor decodes and transforms them).
#pragma once
#include <string>

namespace trashcl {

// int8 inference on the CPU (post-training quantisation of the backbone, quantized_backbone.h): the
// activation ranges come from images of a dataset folder, best the one the model was trained on.
struct Int8Calibration {
  std::string folder;  // root/<class>/<image>; empty: float inference
  int images = 64;     // how many, spread evenly over the folder's sorted listing so every class is seen
};

}  // namespace trashcl
