#include "retrieval/encode_images.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/error.h"

namespace trashcl {

EncodedImages encode_images(Predictor& predictor, const std::vector<std::filesystem::path>& files, int batch_size,
                            bool warn) {
  if (!predictor.has_hash()) {
    throw UserError("the model has no hash code (it was trained with features = pool); retrieval needs a model "
                    "trained with features = hash");
  }
  EncodedImages encoded;
  encoded.bits = predictor.hash_bits();
  const size_t batch = static_cast<size_t>(std::max(batch_size, 1));
  std::vector<Image> images;
  std::vector<size_t> indices;
  auto flush = [&] {
    std::vector<const Image*> pointers;
    for (const Image& image : images) pointers.push_back(&image);
    const std::vector<Prediction> predictions = predictor.predict(pointers, 1);
    for (size_t i = 0; i < predictions.size(); ++i) {
      encoded.kept.push_back(indices[i]);
      encoded.codes.insert(encoded.codes.end(), predictions[i].code_words.begin(), predictions[i].code_words.end());
    }
    images.clear();
    indices.clear();
  };
  for (size_t i = 0; i < files.size(); ++i) {
    try {
      images.push_back(predictor.decode_file(files[i]));
      indices.push_back(i);
    } catch (const BadImageError& error) {
      if (warn) spdlog::warn("skipping {}: {}", files[i].string(), error.reason());
      encoded.bad_files.push_back({files[i].string(), error.reason()});
    }
    if (images.size() == batch) flush();
  }
  if (!images.empty()) flush();
  if (warn && !encoded.bad_files.empty()) {
    spdlog::warn("{} of {} files are unusable and were skipped", encoded.bad_files.size(), files.size());
  }
  return encoded;
}

}  // namespace trashcl
