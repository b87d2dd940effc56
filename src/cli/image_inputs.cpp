#include "cli/image_inputs.h"

#include <filesystem>

#include "common/error.h"
#include "data/dataset.h"

namespace trashcl {

std::vector<ImageInput> expand_image_inputs(const std::vector<std::string>& paths) {
  std::vector<ImageInput> inputs;
  for (const std::string& path : paths) {
    std::error_code ignored;
    if (!std::filesystem::is_directory(path, ignored)) {
      inputs.push_back({path, ""});
      continue;
    }
    try {
      const auto files = list_image_files(path);
      if (files.empty()) inputs.push_back({path, "a folder with no images in it"});
      for (const auto& file : files) inputs.push_back({file.string(), ""});
    } catch (const UserError& error) {
      inputs.push_back({path, error.what()});
    }
  }
  return inputs;
}

std::vector<InputPrediction> predict_inputs(Predictor& predictor, const std::vector<ImageInput>& inputs, int top_k) {
  std::vector<InputPrediction> outcomes(inputs.size());
  std::vector<Image> images;
  std::vector<size_t> decoded;  // index into inputs of each image
  images.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].error.empty()) {
      outcomes[i].error = inputs[i].error;
      continue;
    }
    try {
      images.push_back(predictor.decode_file(inputs[i].path));
      decoded.push_back(i);
    } catch (const BadImageError& error) {
      outcomes[i].error = error.reason();
    }
  }
  std::vector<const Image*> batch;
  for (const Image& image : images) batch.push_back(&image);
  std::vector<Prediction> predictions = predictor.predict(batch, top_k);
  for (size_t j = 0; j < decoded.size(); ++j) outcomes[decoded[j]].prediction = std::move(predictions[j]);
  return outcomes;
}

}  // namespace trashcl
