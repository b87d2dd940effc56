// Binary hash codes of many image files, batch by batch through a Predictor: what builds a gallery and
// what the retrieval metrics are computed on.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/image_cache.h"
#include "infer/predictor.h"
#include "retrieval/hash_index.h"

namespace trashcl {

struct EncodedImages {
  int64_t bits = 0;
  std::vector<size_t> kept;        // indices into the given files that decoded, ascending
  std::vector<int64_t> codes;      // [kept, W] packed sign words, row i = files[kept[i]]
  std::vector<BadFile> bad_files;  // the others, in file order, with the reason
};

// Throws UserError naming `model_path` when its model makes no hash code (trained with features = pool).
void require_hash_codes(const Predictor& predictor, const std::string& model_path);

// Throws UserError unless the model makes hash codes of the width `index` (read from `index_path`) holds;
// warns when the index was built by a model of other classes, whose codes may not be comparable.
void require_index_fits_model(const HashIndex& index, const std::string& index_path, const Predictor& predictor,
                              const std::string& model_path);

// Decodes `files` with the model's decode settings and runs them through the model `batch_size` at a
// time (only one batch of decoded images is held). Unusable files are skipped, with one warning each
// when `warn`. The model must make hash codes (require_hash_codes).
EncodedImages encode_images(Predictor& predictor, const std::vector<std::filesystem::path>& files, int batch_size,
                            bool warn = true);

}  // namespace trashcl
