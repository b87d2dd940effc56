// trashcl search: the gallery items nearest to each query image by Hamming distance of the hash codes.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>

#include "cli/commands.h"
#include "cli/image_inputs.h"
#include "common/device.h"
#include "common/error.h"
#include "infer/predictor.h"
#include "retrieval/encode_images.h"
#include "retrieval/hash_index.h"

namespace trashcl {
namespace {

struct Options {
  std::string model, index, device = "cpu";
  int k = 5, batch_size = 32, threads = 0;
  bool json = false;
  std::vector<std::string> paths;
};

nlohmann::json neighbours_json(const HashIndex& index, const std::vector<Neighbour>& neighbours) {
  auto list = nlohmann::json::array();
  for (const Neighbour& neighbour : neighbours) {
    const GalleryItem& item = index.items()[static_cast<size_t>(neighbour.item)];
    list.push_back({{"path", item.path}, {"label", item.label}, {"distance", neighbour.distance}});
  }
  return list;
}

// One record per query image, in order: {path, hash, neighbours} or {path, error}. Images are decoded and
// encoded `batch_size` at a time.
std::vector<nlohmann::json> search_all(Predictor& predictor, const HashIndex& index, const Options& options) {
  const std::vector<ImageInput> inputs = expand_image_inputs(options.paths);
  const auto batch_size = static_cast<size_t>(options.batch_size);
  std::vector<nlohmann::json> records;
  for (size_t start = 0; start < inputs.size(); start += batch_size) {
    const size_t end = std::min(inputs.size(), start + batch_size);
    const std::vector<ImageInput> batch(inputs.begin() + start, inputs.begin() + end);
    const std::vector<InputPrediction> outcomes = predict_inputs(predictor, batch, 1);
    for (size_t i = 0; i < batch.size(); ++i) {
      nlohmann::json& record = records.emplace_back(nlohmann::json{{"path", batch[i].path}});
      if (!outcomes[i].prediction) {
        record["error"] = outcomes[i].error;
        continue;
      }
      record["hash"] = outcomes[i].prediction->hash;
      record["neighbours"] = neighbours_json(index, index.search(outcomes[i].prediction->code_words, options.k));
    }
  }
  return records;
}

void print_table(const std::vector<nlohmann::json>& records) {
  for (const nlohmann::json& record : records) {
    const auto path = record["path"].get<std::string>();
    if (record.contains("error")) {
      std::cout << fmt::format("{}: error: {}\n", path, record["error"].get<std::string>());
      continue;
    }
    std::cout << fmt::format("{} (hash {})\n", path, record["hash"].get<std::string>());
    int rank = 1;
    for (const nlohmann::json& neighbour : record["neighbours"]) {
      std::cout << fmt::format("  {:>3}  distance {:>3}  {:<14} {}\n", rank++, neighbour["distance"].get<int64_t>(),
                               neighbour["label"].get<std::string>(), neighbour["path"].get<std::string>());
    }
  }
}

void run_search(const Options& options) {
  set_compute_threads(options.threads);
  const HashIndex index = HashIndex::load(options.index);
  Predictor predictor(options.model, chosen_device(options.device));
  require_index_fits_model(index, options.index, predictor, options.model);
  const std::vector<nlohmann::json> records = search_all(predictor, index, options);
  if (options.json) {
    std::cout << nlohmann::json{{"index", options.index}, {"bits", index.bits()}, {"k", options.k}, {"results", records}}.dump(2)
              << '\n';
  } else {
    print_table(records);
  }
}

}  // namespace

void add_search_command(CLI::App& app) {
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("search", "nearest gallery images of each query image by hash code");
  command->add_option("--model", options->model, "the checkpoint (or run folder) the index was built with")->required();
  command->add_option("--index", options->index, "hash index from `trashcl index build`")->required();
  add_number_option(*command, "--k", options->k, "neighbours per query", NumberBound::positive);
  add_number_option(*command, "--batch-size", options->batch_size, "images per forward pass", NumberBound::positive);
  command->add_option("--device", options->device, "cpu or cuda")->capture_default_str();
  add_compute_threads_option(*command, options->threads);
  command->add_flag("--json", options->json, "one JSON document on stdout: {index, bits, k, results: [{path, hash, neighbours | error}]}");
  command->add_option("IMAGE", options->paths, "query image files, or folders: every image under them")->required();
  command->callback([options] { run_search(*options); });
}

}  // namespace trashcl
