// Binary hash codes of many image files, batch by batch through a Predictor: what builds a gallery and
// what the retrieval metrics are computed on.
#pragma once
#include <cstdint>
#include <filesystem>
#include <vector>

#include "data/image_cache.h"
#include "infer/predictor.h"

namespace trashcl {

struct EncodedImages {
  int64_t bits = 0;
  std::vector<size_t> kept;        // indices into the given files that decoded, ascending
  std::vector<int64_t> codes;      // [kept, W] packed sign words, row i = files[kept[i]]
  std::vector<BadFile> bad_files;  // the others, in file order, with the reason
};

// Decodes `files` with the model's decode settings and runs them through the model `batch_size` at a
// time (only one batch of decoded images is held). Unusable files are skipped, with one warning each
// when `warn`. Throws UserError when the model has no hash code (features = pool).
EncodedImages encode_images(Predictor& predictor, const std::vector<std::filesystem::path>& files, int batch_size,
                            bool warn = true);

}  // namespace trashcl
