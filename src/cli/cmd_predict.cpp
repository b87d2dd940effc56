// trashcl predict: class, probabilities, disposal bin and hash code of each image - no config needed.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/commands.h"
#include "common/csv.h"
#include "common/error.h"
#include "data/decode.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "model/binary_code.h"
#include "train/options.h"

namespace trashcl {
namespace {

struct Options {
  std::string model, format = "json", device = "cpu";
  int top_k = 3, threads = 0;
  std::vector<std::string> paths;
};

std::string hex_code(const torch::Tensor& u) {  // u [L] -> sign bits as hex, word by word
  const torch::Tensor words = binary_code(u.unsqueeze(0))[0];  // [W] int64
  std::string hex;
  for (int64_t w = 0; w < words.size(0); ++w) hex += fmt::format("{:016x}", static_cast<uint64_t>(words[w].item<int64_t>()));
  return hex;
}

void run_predict(const Options& options) {
  set_compute_threads(options.threads);
  const torch::Device device(options.device);
  LoadedModel loaded = load_checkpoint(options.model, device);
  const auto& names = loaded.meta.class_names;
  EvalOptions eval;
  eval.augment = augment_config(loaded.config);
  eval.device = device;
  eval.flip_test = loaded.config.flip_test;
  DecodeOptions decode;
  decode.max_short_side = loaded.config.effective_decode_short_side();
  const int64_t top_k = std::clamp<int64_t>(options.top_k, 1, static_cast<int64_t>(names.size()));

  if (options.format == "csv") {
    std::cout << "path,class,prob,bin,hash,error\n";
  }
  for (const std::string& path : options.paths) {
    nlohmann::json record{{"path", path}};
    try {
      const Image image = decode_image_file(path, decode);
      const BatchOutputs outputs = infer_batch(loaded.model, pack_images({&image}), eval, true);
      const torch::Tensor probabilities = outputs.logits[0].softmax(0);  // [N]
      const auto [top_probabilities, top_classes] = probabilities.topk(top_k);  // [k], [k]
      record["top"] = nlohmann::json::array();
      for (int64_t k = 0; k < top_k; ++k) {
        const auto c = top_classes[k].item<int64_t>();
        record["top"].push_back({{"class", names[c]}, {"prob", top_probabilities[k].item<double>()}});
      }
      record["bin"] = loaded.meta.class_bins[top_classes[0].item<int64_t>()];
      record["hash"] = outputs.codes.defined() ? hex_code(outputs.codes[0]) : "";
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
  command->add_option("--top-k", options->top_k, "classes to list per image")->capture_default_str()->check(CLI::PositiveNumber);
  command->add_option("--format", options->format, "json (JSON lines) or csv")->capture_default_str()->check(CLI::IsMember({"json", "csv"}));
  command->add_option("--device", options->device, "cpu or cuda")->capture_default_str();
  command->add_option("--threads", options->threads, "intra-op threads (0: one per core)")->capture_default_str();
  command->add_option("paths", options->paths, "image files")->required();
  command->callback([options] { run_predict(*options); });
}

}  // namespace trashcl
