// Helpers shared by the model tests: small options, fake backbone features, fixture tensors.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "model/backbone.h"
#include "model/model_options.h"

namespace trashcl::testing {

// A model small enough to train in milliseconds: tiny backbone, L = 16, D = 32, d = 16, Q = 16.
inline ModelOptions tiny_model_options(int64_t classes = 3) {
  ModelOptions options;
  options.backbone = "tiny";
  options.num_classes = classes;
  options.hash_bits = 16;
  options.decoder_width = 32;
  options.decoder_heads = 4;
  options.decoder_hidden = 64;
  options.embed_dim = 16;
  options.projection_hidden = 32;
  options.queue_size = 16;
  return options;
}

// Random C3, C4, C5 maps with the given channels: C3 at 4x4, C4 at 4x4, C5 at 2x2.
inline BackboneFeatures random_features(int64_t batch, std::array<int64_t, 3> channels,
                                        torch::Dtype dtype = torch::kFloat32) {
  auto options = torch::dtype(dtype);
  return {torch::randn({batch, channels[0], 4, 4}, options), torch::randn({batch, channels[1], 4, 4}, options),
          torch::randn({batch, channels[2], 2, 2}, options)};
}

inline std::filesystem::path parity_dir() {
  return std::filesystem::path(TRASHCL_SOURCE_DIR) / "tests" / "model" / "fixtures" / "parity";
}

// Reads one tensor written by tools/parity.py: "ndim sizes..." then the values (float64).
inline torch::Tensor load_fixture(const std::string& name) {
  const auto path = parity_dir() / (name + ".txt");
  std::ifstream in(path);
  if (!in) throw std::runtime_error("missing fixture " + path.string() + "; run /usr/bin/python3 tools/parity.py");
  std::string header;
  std::getline(in, header);
  std::istringstream sizes_line(header);
  int64_t dims = 0;
  sizes_line >> dims;
  std::vector<int64_t> sizes(static_cast<size_t>(dims));
  for (auto& size : sizes) sizes_line >> size;
  std::vector<double> values;
  for (double value; in >> value;) values.push_back(value);
  return torch::tensor(values, torch::kFloat64).reshape(sizes);
}

// Copies fixture tensors "<prefix><name>" into every parameter (and, where a file exists, buffer) of module.
inline void load_fixture_weights(torch::nn::Module& module, const std::string& prefix) {
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters()) {
    item.value().copy_(load_fixture(prefix + item.key()));
  }
  for (auto& item : module.named_buffers()) {
    if (std::filesystem::exists(parity_dir() / (prefix + item.key() + ".txt"))) {
      item.value().copy_(load_fixture(prefix + item.key()));
    }
  }
}

}  // namespace trashcl::testing
