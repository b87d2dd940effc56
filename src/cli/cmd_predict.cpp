// trashcl predict: class, probabilities, disposal bin and hash code of each image - no config needed.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>

#include "cli/commands.h"
#include "cli/image_inputs.h"
#include "common/csv.h"
#include "common/device.h"
#include "infer/predictor.h"

namespace trashcl {
namespace {

struct Options {
  std::string model, format = "json", device = "cpu";
  int top_k = 3, batch_size = 32, threads = 0;
  std::vector<std::string> paths;
  PredictorOptions predictor;
};

nlohmann::json record_of(const ImageInput& input, const InputPrediction& outcome) {
  nlohmann::json record{{"path", input.path}};
  if (!outcome.prediction) {
    record["error"] = outcome.error;
    return record;
  }
  record["top"] = nlohmann::json::array();
  for (const ClassProbability& entry : outcome.prediction->top) {
    record["top"].push_back({{"class", entry.name}, {"prob", entry.prob}});
  }
  record["bin"] = outcome.prediction->bin;
  record["hash"] = outcome.prediction->hash;
  return record;
}

void print_csv_row(const nlohmann::json& record) {
  const std::string path = csv_field(record["path"].get<std::string>());
  if (record.contains("error")) {
    std::cout << fmt::format("{},,,,,{}\n", path, csv_field(record["error"].get<std::string>()));
    return;
  }
  std::cout << fmt::format("{},{},{:.6f},{},{},\n", path, csv_field(record["top"][0]["class"].get<std::string>()),
                           record["top"][0]["prob"].get<double>(), record["bin"].get<std::string>(),
                           record["hash"].get<std::string>());
}

// Records are printed batch by batch, in input order, so a long folder shows results as it goes.
void run_predict(const Options& options) {
  set_compute_threads(options.threads);
  Predictor predictor(options.model, chosen_device(options.device), options.predictor);
  const std::vector<ImageInput> inputs = expand_image_inputs(options.paths);
  if (options.format == "csv") std::cout << "path,class,prob,bin,hash,error\n";
  const auto batch_size = static_cast<size_t>(options.batch_size);
  for (size_t start = 0; start < inputs.size(); start += batch_size) {
    const size_t end = std::min(inputs.size(), start + batch_size);
    const std::vector<ImageInput> batch(inputs.begin() + start, inputs.begin() + end);
    const std::vector<InputPrediction> outcomes = predict_inputs(predictor, batch, options.top_k);
    for (size_t i = 0; i < batch.size(); ++i) {
      const nlohmann::json record = record_of(batch[i], outcomes[i]);
      if (options.format == "csv") {
        print_csv_row(record);
      } else {
        std::cout << record.dump() << '\n';  // JSON lines: one record per image
      }
    }
    std::cout.flush();
  }
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("predict", "classify images: top classes, disposal bin, hash code");
  command->add_option("--model", options->model, "checkpoint, or a run folder (its best.ckpt)")->required();
  add_number_option(*command, "--top-k", options->top_k, "classes to list per image", NumberBound::positive);
  command->add_option("--format", options->format, "json (JSON lines) or csv")->capture_default_str()->check(CLI::IsMember({"json", "csv"}));
  add_number_option(*command, "--batch-size", options->batch_size, "images per forward pass", NumberBound::positive);
  command->add_option("--device", options->device, "cpu or cuda")->capture_default_str();
  add_compute_threads_option(*command, options->threads);
  add_predict_prior_option(*command, options->predictor.load.predict_prior);
  add_int8_options(*command, options->predictor.int8);
  command->add_option("PATH", options->paths, "image files, or folders: every image under them")->required();
  command->callback([options] { run_predict(*options); });
}

}  // namespace trashcl
