// trashcl data-stats: classes, counts, imbalance and unusable files of a dataset (every file is decoded).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>

#include "cli/commands.h"
#include "data/dataset.h"
#include "data/image_cache.h"

namespace trashcl {
namespace {

struct Options {
  std::string data, split;
  bool json = false;
};

void run_data_stats(const Options& options) {
  std::vector<SplitEntry> entries;
  Dataset dataset;
  if (options.split.empty()) {
    dataset = list_image_folder(options.data);
  } else {
    entries = read_split_csv(options.split);
    dataset = dataset_from_split(options.data, entries, "all", options.split);
  }
  LoadOptions load;
  load.decode.max_short_side = 64;  // full validation of every file, at a fraction of the decode cost
  load.cache_bytes = 0;
  load.warn = !options.json;
  load.require_every_class = false;  // a class whose every file is unusable is reported, not an error
  const LoadedDataset loaded = load_dataset(dataset, load);

  const auto counts = loaded.dataset.class_counts();
  std::vector<std::string> empty_classes;  // training refuses these
  for (size_t c = 0; c < counts.size(); ++c) {
    if (counts[c] == 0) empty_classes.push_back(loaded.dataset.class_names[c]);
  }
  const auto [smallest, largest] = std::minmax_element(counts.begin(), counts.end());
  // Largest over smallest class; undefined (null in JSON) while a class has no usable image.
  std::optional<double> imbalance;
  if (*smallest > 0) imbalance = static_cast<double>(*largest) / static_cast<double>(*smallest);
  // Per split and class, counted over usable files only.
  std::map<std::string, std::vector<int64_t>> split_counts;
  if (!entries.empty()) {
    std::map<std::string, std::string> split_of;
    for (const auto& entry : entries) split_of[entry.path] = entry.split;
    for (const Sample& sample : loaded.dataset.samples) {
      auto& row = split_counts[split_of[sample.path]];
      row.resize(counts.size(), 0);
      ++row[sample.label];
    }
  }

  if (options.json) {
    nlohmann::json doc;
    doc["root"] = options.data;
    doc["classes"] = nlohmann::json::array();
    for (size_t c = 0; c < counts.size(); ++c) {
      nlohmann::json row{{"name", loaded.dataset.class_names[c]}, {"count", counts[c]}};
      for (const auto& [split, per_class] : split_counts) row[split] = per_class[c];
      doc["classes"].push_back(row);
    }
    doc["total"] = loaded.dataset.samples.size();
    doc["imbalance"] = imbalance ? nlohmann::json(*imbalance) : nlohmann::json(nullptr);
    doc["empty_classes"] = empty_classes;
    doc["bad_files"] = nlohmann::json::array();
    for (const auto& bad : loaded.bad_files) doc["bad_files"].push_back({{"path", bad.path}, {"reason", bad.reason}});
    std::cout << doc.dump(2) << '\n';
    return;
  }
  std::cout << fmt::format("{}: {} usable images in {} classes\n\n", options.data, loaded.dataset.samples.size(), counts.size());
  std::cout << fmt::format("{:<20} {:>7} {:>7}", "class", "images", "share");
  for (const auto& [split, per_class] : split_counts) std::cout << fmt::format(" {:>7}", split);
  std::cout << '\n';
  for (size_t c = 0; c < counts.size(); ++c) {
    std::cout << fmt::format("{:<20} {:>7} {:>6.1f}%", loaded.dataset.class_names[c], counts[c],
                             100.0 * counts[c] / std::max<size_t>(loaded.dataset.samples.size(), 1));
    for (const auto& [split, per_class] : split_counts) std::cout << fmt::format(" {:>7}", per_class[c]);
    std::cout << '\n';
  }
  if (imbalance) {
    std::cout << fmt::format("\nimbalance (largest / smallest class): {:.2f}\n", *imbalance);
  } else {
    std::cout << fmt::format("\nclasses with no usable image: {} (training refuses them: add images or remove the "
                             "folders)\n",
                             fmt::join(empty_classes, ", "));
  }
  std::cout << fmt::format("unusable files: {}\n", loaded.bad_files.size());
  for (const auto& bad : loaded.bad_files) std::cout << fmt::format("  {}: {}\n", bad.path, bad.reason);
}

}  // namespace

void add_data_stats_command(CLI::App& app) {
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("data-stats", "classes, counts, imbalance and unusable files of a dataset");
  command->add_option("--data", options->data, "dataset root: <class>/<image> folders")->required();
  command->add_option("--split", options->split, "split manifest: count its files, per split");
  command->add_flag("--json", options->json, "one JSON document on stdout instead of the table");
  command->callback([options] { run_data_stats(*options); });
}

}  // namespace trashcl
