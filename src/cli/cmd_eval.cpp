// trashcl eval: metrics of a checkpoint on a split (test by default), as a table, JSON and report.html.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "common/device.h"
#include "common/error.h"
#include "data/dataset.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/options.h"
#include "train/report.h"

namespace trashcl {
namespace {

struct Options {
  std::string model, data, split, subset = "test", device = "cpu";
  int threads = 0;
  bool json = false;
  LoadOverrides load;
};

// Relabels `dataset` by the model's class indices, so that a data set with some of the model's classes (new
// photos of glass and paper only) is evaluated on those. Throws UserError naming `source` and the classes the
// model does not know.
Dataset with_model_classes(Dataset dataset, const std::vector<std::string>& model_classes, const std::string& source) {
  std::vector<int> model_index(dataset.class_names.size(), -1);
  std::vector<std::string> unknown;
  for (size_t c = 0; c < dataset.class_names.size(); ++c) {
    const auto found = std::find(model_classes.begin(), model_classes.end(), dataset.class_names[c]);
    if (found == model_classes.end()) {
      unknown.push_back(dataset.class_names[c]);
    } else {
      model_index[c] = static_cast<int>(found - model_classes.begin());
    }
  }
  if (!unknown.empty()) {
    throw UserError(fmt::format("{}: the model does not know the class{} {}; its classes are {}", source,
                                unknown.size() > 1 ? "es" : "", fmt::join(unknown, ", "), fmt::join(model_classes, ", ")));
  }
  std::vector<std::string> missing;
  for (const auto& name : model_classes) {
    if (std::find(dataset.class_names.begin(), dataset.class_names.end(), name) == dataset.class_names.end()) {
      missing.push_back(name);
    }
  }
  if (!missing.empty()) {
    spdlog::info("{} has {} of the model's {} classes (none of {}): metrics cover those {}", source,
                 model_classes.size() - missing.size(), model_classes.size(), fmt::join(missing, ", "),
                 model_classes.size() - missing.size());
  }
  for (Sample& sample : dataset.samples) sample.label = model_index[sample.label];
  dataset.class_names = model_classes;
  return dataset;
}

nlohmann::json report_json(const ClassificationReport& report, const std::vector<std::string>& names) {
  nlohmann::json doc{{"samples", report.samples},          {"top1", report.top1},
                     {"macro_precision", report.macro_precision}, {"macro_recall", report.macro_recall},
                     {"macro_f1", report.macro_f1},        {"confusion", report.confusion}};
  if (report.top5 >= 0) doc["top5"] = report.top5;
  doc["per_class"] = nlohmann::json::array();
  for (size_t c = 0; c < names.size(); ++c) {
    const bool has_images = report.per_class_samples[c] > 0;
    doc["per_class"].push_back({{"class", names[c]},
                                {"samples", report.per_class_samples[c]},
                                {"accuracy", has_images ? nlohmann::json(report.per_class_accuracy[c]) : nlohmann::json(nullptr)},
                                {"precision", report.per_class_precision[c]},
                                {"f1", has_images ? nlohmann::json(report.per_class_f1[c]) : nlohmann::json(nullptr)}});
  }
  auto group = [](double value) { return value >= 0 ? nlohmann::json(value) : nlohmann::json(nullptr); };
  doc["many_shot"] = group(report.many_shot);
  doc["medium_shot"] = group(report.medium_shot);
  doc["few_shot"] = group(report.few_shot);
  return doc;
}

void print_table(const ClassificationReport& report, const std::vector<std::string>& names, const std::string& what) {
  std::cout << fmt::format("{}: {} images\n", what, report.samples);
  std::cout << fmt::format("top-1 {:.2f}%{}  macro precision {:.2f}%  recall {:.2f}%  F1 {:.2f}%\n", 100 * report.top1,
                           report.top5 >= 0 ? fmt::format("  top-5 {:.2f}%", 100 * report.top5) : "",
                           100 * report.macro_precision, 100 * report.macro_recall, 100 * report.macro_f1);
  auto group = [](double value) { return value >= 0 ? fmt::format("{:.2f}%", 100 * value) : std::string("-"); };
  std::cout << fmt::format("many-shot {}  medium-shot {}  few-shot {}\n\n", group(report.many_shot),
                           group(report.medium_shot), group(report.few_shot));
  std::cout << fmt::format("{:<16} {:>7} {:>8} {:>9} {:>6}   confusion (predicted ->)\n", "class", "images", "accuracy",
                           "precision", "F1");
  for (size_t c = 0; c < names.size(); ++c) {
    const int64_t images = report.per_class_samples[c];
    std::cout << fmt::format("{:<16} {:>7} {:>8} {:>8.1f}% {:>6}  ", names[c], images,
                             percent_or_dash(report.per_class_accuracy[c], images),
                             100 * report.per_class_precision[c], percent_or_dash(report.per_class_f1[c], images));
    for (int64_t count : report.confusion[c]) std::cout << fmt::format(" {:>5}", count);
    std::cout << '\n';
  }
}

void run_eval(const Options& options) {
  set_compute_threads(options.threads);
  const torch::Device device = chosen_device(options.device);
  LoadedModel loaded = load_checkpoint(options.model, device, options.load);
  Dataset dataset = select_dataset(options.data, options.split, options.subset);
  dataset = with_model_classes(std::move(dataset), loaded.meta.class_names, options.split.empty() ? options.data : options.split);
  LoadOptions load = load_options(loaded.config);
  load.warn = !options.json;
  load.require_every_class = false;  // a class without images is left out of the macro averages
  const LoadedDataset data = load_dataset(dataset, load);
  const std::string what = options.split.empty() ? options.data : fmt::format("{} ({})", options.split, options.subset);
  if (data.dataset.samples.empty()) {
    throw UserError(fmt::format("{}: none of its {} images could be read (see the warnings above); nothing to evaluate",
                                what, dataset.samples.size()));
  }
  EvalOptions eval;
  eval.augment = inference_augment(loaded);
  eval.device = device;
  eval.flip_test = loaded.config.flip_test;
  const ClassificationReport report = evaluate(loaded.model, data, eval, loaded.meta.train_class_counts);

  // report.html beside the checkpoint, with the run's training curves when its metrics.csv is there.
  const auto run_dir = checkpoint_file(options.model).parent_path();
  write_report_html(run_dir, fmt::format("trashcl eval: {} on {}", options.model, what), report,
                    loaded.meta.class_names);

  if (options.json) {
    std::cout << report_json(report, loaded.meta.class_names).dump(2) << '\n';
  } else {
    print_table(report, loaded.meta.class_names, what);
    std::cout << fmt::format("\nreport: {}\n", (run_dir / "report.html").string());
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("eval", "metrics of a checkpoint: top-1, macro P/R/F1, per class, confusion");
  command->add_option("--model", options->model, "checkpoint, or a run folder (its best.ckpt)")->required();
  command->add_option("--data", options->data, "dataset root: <class>/<image> folders")->required();
  CLI::Option* split =
      command->add_option("--split", options->split, "split manifest; without it every image of --data is used");
  command->add_option("--subset", options->subset, "which split of the manifest")
      ->capture_default_str()
      ->check(CLI::IsMember({"train", "val", "test"}))
      ->needs(split);
  command->add_option("--device", options->device, "cpu or cuda")->capture_default_str();
  add_compute_threads_option(*command, options->threads);
  add_predict_prior_option(*command, options->load.predict_prior);
  command->add_flag("--json", options->json, "one JSON document on stdout (keys top1, macro_f1, per_class, confusion)");
  command->callback([options] { run_eval(*options); });
}

}  // namespace trashcl
