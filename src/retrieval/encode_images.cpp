#include "retrieval/encode_images.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/error.h"

namespace trashcl {

void require_hash_codes(const Predictor& predictor, const std::string& model_path) {
  if (!predictor.has_hash()) {
    throw UserError(fmt::format("{}: this model makes no hash code (trained with features = pool); retrieval needs a "
                                "model trained with features = hash (the default)",
                                model_path));
  }
}

void require_index_fits_model(const HashIndex& index, const std::string& index_path, const Predictor& predictor,
                              const std::string& model_path) {
  require_hash_codes(predictor, model_path);
  if (predictor.hash_bits() != index.bits()) {
    throw UserError(fmt::format("{} holds {}-bit codes but {} makes {}-bit codes; use the model that built the index, "
                                "or rebuild it with `trashcl index build --model {}`",
                                index_path, index.bits(), model_path, predictor.hash_bits(), model_path));
  }
  if (!index.class_names().empty() && index.class_names() != predictor.meta().class_names) {
    spdlog::warn("{} was built with a model of other classes ({}); its codes may not be comparable", index_path,
                 fmt::join(index.class_names(), ","));
  }
}

EncodedImages encode_images(Predictor& predictor, const std::vector<std::filesystem::path>& files, int batch_size,
                            bool warn) {
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
