// trashcl predict: class, probabilities, disposal bin and hash code of each image - no config needed.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/commands.h"
#include "common/csv.h"
#include "common/error.h"
#include "infer/predictor.h"

namespace trashcl {
namespace {

struct Options {
  std::string model, format = "json", device = "cpu";
  int top_k = 3, threads = 0;
  std::vector<std::string> paths;
  PredictorOptions predictor;
};

void run_predict(const Options& options) {
  set_compute_threads(options.threads);
  Predictor predictor(options.model, torch::Device(options.device), options.predictor);
  if (options.format == "csv") {
    std::cout << "path,class,prob,bin,hash,error\n";
  }
  for (const std::string& path : options.paths) {
    nlohmann::json record{{"path", path}};
    try {
      const Image image = predictor.decode_file(path);
      const Prediction prediction = predictor.predict({&image}, options.top_k)[0];
      record["top"] = nlohmann::json::array();
      for (const ClassProbability& entry : prediction.top) {
        record["top"].push_back({{"class", entry.name}, {"prob", entry.prob}});
      }
      record["bin"] = prediction.bin;
      record["hash"] = prediction.hash;
    } catch (const BadImageError& error) {
      record["error"] = error.reason();
    }
    if (options.format == "csv") {
      if (record.contains("error")) {
        std::cout << fmt::format("{},,,,,{}\n", csv_field(path), csv_field(record["error"].get<std::string>()));
      } else {
        std::cout << fmt::format("{},{},{:.6f},{},{},\n", csv_field(path), csv_field(record["top"][0]["class"].get<std::string>()),
                                 record["top"][0]["prob"].get<double>(), record["bin"].get<std::string>(),
                                 record["hash"].get<std::string>());
      }
    } else {
      std::cout << record.dump() << '\n';  // JSON lines: one record per image
    }
  }
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("predict", "classify images: top classes, disposal bin, hash code");
  command->add_option("--model", options->model, "checkpoint (best.ckpt of a run)")->required();
  command->add_option("--top-k", options->top_k, "classes to list per image")->capture_default_str()->check(positive_number);
  command->add_option("--format", options->format, "json (JSON lines) or csv")->capture_default_str()->check(CLI::IsMember({"json", "csv"}));
  command->add_option("--device", options->device, "cpu or cuda")->capture_default_str();
  command->add_option("--threads", options->threads, "intra-op threads (0: one per core)")->capture_default_str();
  add_predict_prior_option(*command, options->predictor.load.predict_prior);
  add_int8_options(*command, options->predictor.int8);
  command->add_option("paths", options->paths, "image files")->required();
  command->callback([options] { run_predict(*options); });
}

}  // namespace trashcl
