// The images that `predict` and `search` take on the command line: files, and folders of photos.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "infer/predictor.h"

namespace trashcl {

// One image to read: a path as given, or one found in a given folder.
struct ImageInput {
  std::string path;
  std::string error;  // set when the path holds nothing to read (a folder without images); empty otherwise
};

// Each path as given, except that a folder becomes the image files under it (list_image_files); a folder
// without any, or one that cannot be listed, stays one input with an error.
std::vector<ImageInput> expand_image_inputs(const std::vector<std::string>& paths);

// The outcome for one input: a prediction, or why there is none (an unreadable file, an empty folder).
struct InputPrediction {
  std::optional<Prediction> prediction;
  std::string error;
};

// Decodes `inputs` and classifies them in one forward pass, top_k classes each; one outcome per input, in order.
std::vector<InputPrediction> predict_inputs(Predictor& predictor, const std::vector<ImageInput>& inputs, int top_k);

}  // namespace trashcl
