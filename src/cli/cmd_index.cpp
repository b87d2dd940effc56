// trashcl index build: the binary hash codes of a gallery, written as a hash index for `search` and `serve`.
// trashcl index eval: retrieval quality of a model's codes (mAP, precision@k) between two splits.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/commands.h"
#include "common/device.h"
#include "common/error.h"
#include "data/dataset.h"
#include "infer/predictor.h"
#include "retrieval/encode_images.h"
#include "retrieval/hash_index.h"
#include "retrieval/retrieval_metrics.h"

namespace trashcl {
namespace {

struct BuildOptions {
  std::string model, data, split, subset = "train", out, device = "cpu";
  int batch_size = 64, threads = 0;
  bool json = false;
};

struct RetrievalOptions {
  std::string model, data, split, query = "test", gallery = "train", device = "cpu";
  std::vector<int64_t> ks{1, 5, 10};
  int batch_size = 64, threads = 0;
  bool json = false;
};

std::vector<std::filesystem::path> files_of(const Dataset& dataset) {
  std::vector<std::filesystem::path> files;
  for (const Sample& sample : dataset.samples) files.push_back(dataset.file(sample));
  return files;
}

nlohmann::json bad_files_json(const std::vector<BadFile>& bad_files) {
  auto list = nlohmann::json::array();
  for (const BadFile& bad : bad_files) list.push_back({{"path", bad.path}, {"reason", bad.reason}});
  return list;
}

void run_build(const BuildOptions& options, bool subset_given) {
  if (subset_given && options.split.empty()) throw UserError("--subset needs --split (the manifest it selects from)");
  set_compute_threads(options.threads);
  Predictor predictor(options.model, chosen_device(options.device));
  require_hash_codes(predictor, options.model);
  const Dataset dataset = select_dataset(options.data, options.split, options.subset);
  const EncodedImages encoded = encode_images(predictor, files_of(dataset), options.batch_size, !options.json);
  if (encoded.kept.empty()) {
    throw UserError(fmt::format("{}: none of its {} files is a usable image (see the warnings); nothing to index",
                                options.data, encoded.bad_files.size()));
  }

  HashIndex index(encoded.bits, predictor.meta().class_names);
  const auto words = static_cast<size_t>(index.words());
  for (size_t i = 0; i < encoded.kept.size(); ++i) {
    const Sample& sample = dataset.samples[encoded.kept[i]];
    const auto first = encoded.codes.begin() + static_cast<std::ptrdiff_t>(i * words);
    index.add(std::vector<int64_t>(first, first + static_cast<std::ptrdiff_t>(words)),
              {dataset.file(sample).string(), dataset.class_names[static_cast<size_t>(sample.label)]});
  }
  index.save(options.out);

  if (options.json) {
    std::cout << nlohmann::json{{"index", options.out},         {"items", index.size()},
                                {"bits", index.bits()},         {"skipped", encoded.bad_files.size()},
                                {"bad_files", bad_files_json(encoded.bad_files)}}
                     .dump(2)
              << '\n';
  } else {
    std::cout << fmt::format("{}: {} images, {}-bit codes, {} unusable files skipped\n", options.out, index.size(),
                             index.bits(), encoded.bad_files.size());
  }
}

LabelledCodes encode_split(Predictor& predictor, const std::vector<SplitEntry>& manifest, const RetrievalOptions& options,
                           const std::string& subset, int64_t& skipped) {
  const Dataset dataset = dataset_from_split(options.data, manifest, subset, options.split);
  EncodedImages encoded = encode_images(predictor, files_of(dataset), options.batch_size, !options.json);
  skipped += static_cast<int64_t>(encoded.bad_files.size());
  LabelledCodes codes;
  codes.bits = encoded.bits;
  codes.codes = std::move(encoded.codes);
  for (size_t index : encoded.kept) codes.labels.push_back(dataset.samples[index].label);
  return codes;
}

void print_report(const RetrievalReport& report, const std::vector<RetrievalReport>& prefixes, const RetrievalOptions& options) {
  std::cout << fmt::format("{}-bit codes: {} {} queries against a gallery of {} {} images, ranked by Hamming distance "
                           "(ties in gallery order)\n", report.bits, report.queries, options.query, report.gallery,
                           options.gallery);
  std::string precision;
  for (size_t j = 0; j < report.ks.size(); ++j) precision += fmt::format("  P@{} {:.4f}", report.ks[j], report.precision_at[j]);
  std::cout << fmt::format("mAP {:.4f}{}\n", report.mean_average_precision, precision);
  if (report.queries_without_relevant > 0) {
    std::cout << fmt::format("{} queries have a label absent from the gallery and are left out\n",
                             report.queries_without_relevant);
  }
  for (const RetrievalReport& prefix : prefixes) {
    std::cout << fmt::format("prefix: first {} bits of the same codes: mAP {:.4f} (not a {}-bit model)\n", prefix.bits,
                             prefix.mean_average_precision, prefix.bits);
  }
}

nlohmann::json report_json(const RetrievalReport& report) {
  nlohmann::json precision = nlohmann::json::object();
  for (size_t j = 0; j < report.ks.size(); ++j) precision[std::to_string(report.ks[j])] = report.precision_at[j];
  return {{"bits", report.bits},
          {"queries", report.queries},
          {"gallery", report.gallery},
          {"queries_without_relevant", report.queries_without_relevant},
          {"map", report.mean_average_precision},
          {"precision_at", precision}};
}

void run_eval(const RetrievalOptions& options) {
  if (options.query == options.gallery) {
    throw UserError(fmt::format("--query and --gallery are both '{}': every query would find itself; pick two "
                                "different splits (e.g. --query test --gallery train)", options.query));
  }
  set_compute_threads(options.threads);
  Predictor predictor(options.model, chosen_device(options.device));
  require_hash_codes(predictor, options.model);
  const std::vector<SplitEntry> manifest = read_split_csv(options.split);
  int64_t skipped = 0;
  const LabelledCodes gallery = encode_split(predictor, manifest, options, options.gallery, skipped);
  const LabelledCodes queries = encode_split(predictor, manifest, options, options.query, skipped);
  const RetrievalReport report = evaluate_retrieval(queries, gallery, options.ks);
  // Shorter prefixes of the same codes show how the ranking degrades as bits are dropped; a model trained
  // with fewer bits (--hash-bits) is the real comparison.
  std::vector<RetrievalReport> prefixes;
  for (int64_t bits : {16, 32, 64}) {
    if (bits < gallery.bits) prefixes.push_back(evaluate_retrieval(code_prefix(queries, bits), code_prefix(gallery, bits), options.ks));
  }

  if (options.json) {
    nlohmann::json doc = report_json(report);
    doc["query_split"] = options.query;
    doc["gallery_split"] = options.gallery;
    doc["ties"] = "gallery order";
    doc["skipped"] = skipped;
    doc["prefix"] = nlohmann::json::array();
    for (const RetrievalReport& prefix : prefixes) doc["prefix"].push_back(report_json(prefix));
    std::cout << doc.dump(2) << '\n';
  } else {
    print_report(report, prefixes, options);
  }
}

void add_build_command(CLI::App& index) {
  auto options = std::make_shared<BuildOptions>();
  CLI::App* command = index.add_subcommand("build", "binary hash codes of every gallery image -> a hash index file");
  command->add_option("--model", options->model, "checkpoint or run folder, trained with features = hash")->required();
  command->add_option("--data", options->data, "dataset root: <class>/<image> folders")->required();
  command->add_option("--split", options->split, "split manifest; without it every image of --data is indexed");
  CLI::Option* subset = command->add_option("--subset", options->subset, "which split of the manifest")
                            ->capture_default_str()->check(CLI::IsMember({"train", "val", "test", "all"}));
  command->add_option("--out", options->out, "index file to write (atomically)")->required();
  add_number_option(*command, "--batch-size", options->batch_size, "images per forward pass", NumberBound::positive);
  command->add_option("--device", options->device, "cpu or cuda")->capture_default_str();
  add_compute_threads_option(*command, options->threads);
  command->add_flag("--json", options->json, "one JSON document on stdout (keys index, items, bits, skipped, bad_files)");
  command->callback([options, subset] { run_build(*options, subset->count() > 0); });
}

void add_eval_retrieval_command(CLI::App& index) {
  auto options = std::make_shared<RetrievalOptions>();
  CLI::App* command = index.add_subcommand("eval", "retrieval quality of the hash codes: mAP and precision@k");
  command->add_option("--model", options->model, "checkpoint or run folder, trained with features = hash")->required();
  command->add_option("--data", options->data, "dataset root: <class>/<image> folders")->required();
  command->add_option("--split", options->split, "split manifest")->required();
  command->add_option("--query", options->query, "split whose images are the queries")->capture_default_str()->check(CLI::IsMember({"train", "val", "test"}));
  command->add_option("--gallery", options->gallery, "split whose images are ranked")->capture_default_str()->check(CLI::IsMember({"train", "val", "test"}));
  command->add_option("--precision-at", options->ks, "cut-offs k of precision@k")
      ->delimiter(',')
      ->capture_default_str()
      ->check(number_of_type<int64_t>(NumberBound::positive));
  add_number_option(*command, "--batch-size", options->batch_size, "images per forward pass", NumberBound::positive);
  command->add_option("--device", options->device, "cpu or cuda")->capture_default_str();
  add_compute_threads_option(*command, options->threads);
  command->add_flag("--json", options->json, "one JSON document on stdout (keys map, precision_at, prefix, ...)");
  command->callback([options] { run_eval(*options); });
}

}  // namespace

void add_index_command(CLI::App& app) {
  CLI::App* index = app.add_subcommand("index", "hash index of a gallery: build it, or measure retrieval quality");
  index->require_subcommand(1);
  add_build_command(*index);
  add_eval_retrieval_command(*index);
}

}  // namespace trashcl
