#include "train/checkpoint.h"

#include <fmt/format.h>
#include <unistd.h>

#include "common/error.h"
#include "train/options.h"

namespace trashcl {
namespace {

// The archive entry of the weight average. Trainers before it ignore the entry and predict with the trained
// weights, so the format version stays 1.
constexpr const char* kWeightAverageKey = "weight_average";

// Strings and string lists travel as IValues inside the archive.
torch::IValue string_list(const std::vector<std::string>& items) { return c10::List<std::string>(items); }

std::vector<std::string> read_string_list(torch::serialize::InputArchive& archive, const std::string& key) {
  torch::IValue value;
  archive.read(key, value);
  std::vector<std::string> items;
  for (const auto& item : value.toListRef()) items.push_back(item.toStringRef());
  return items;
}

torch::IValue read_value(torch::serialize::InputArchive& archive, const std::string& key) {
  torch::IValue value;
  archive.read(key, value);
  return value;
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, ContrastiveClassifier& model, torch::optim::Optimizer* optimizer,
                     const CheckpointMeta& meta, ContrastiveClassifier* weight_average) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive;
  model->save(model_archive);
  archive.write("model", model_archive);
  if (weight_average != nullptr) {
    torch::serialize::OutputArchive average_archive;
    (*weight_average)->save(average_archive);
    archive.write(kWeightAverageKey, average_archive);
  }
  if (optimizer != nullptr) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  archive.write("format_version", torch::IValue(meta.format_version));
  archive.write("config_toml", torch::IValue(meta.config_toml));
  archive.write("class_names", string_list(meta.class_names));
  archive.write("class_bins", string_list(meta.class_bins));
  archive.write("train_class_counts", torch::tensor(meta.train_class_counts, torch::kInt64));
  archive.write("image_size", torch::IValue(meta.image_size));
  archive.write("mean", torch::tensor(std::vector<float>(meta.mean.begin(), meta.mean.end())));
  archive.write("std", torch::tensor(std::vector<float>(meta.std.begin(), meta.std.end())));
  archive.write("step", torch::IValue(meta.step));
  archive.write("best_metric", torch::IValue(meta.best_metric));
  archive.write("best_epoch", torch::IValue(meta.best_epoch));
  if (meta.cpu_rng_state.defined()) archive.write("cpu_rng_state", meta.cpu_rng_state);

  // Temporary file in the same folder, then rename: readers see the old file or the new one, never half.
  const auto temporary = path.string() + fmt::format(".tmp-{}", ::getpid());
  try {
    archive.save_to(temporary);
  } catch (const c10::Error& error) {
    std::filesystem::remove(temporary);
    throw UserError(fmt::format("{}: cannot write the checkpoint: {}", path.string(), error.what_without_backtrace()));
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::filesystem::remove(temporary);
    throw UserError(fmt::format("{}: cannot write the checkpoint: {}", path.string(), error.message()));
  }
}

LoadedModel load_checkpoint(const std::filesystem::path& path, const torch::Device& device,
                            const LoadOverrides& overrides, StoredWeights weights) {
  if (!std::filesystem::is_regular_file(path)) {
    throw UserError(fmt::format("{}: no such checkpoint (train one with `trashcl train --out RUN_DIR`)", path.string()));
  }
  LoadedModel loaded;
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string());
    CheckpointMeta& meta = loaded.meta;
    meta.format_version = read_value(archive, "format_version").toInt();
    if (meta.format_version > kCheckpointFormatVersion) {
      throw UserError(fmt::format("{}: checkpoint format {} is newer than this trashcl reads ({}); update trashcl",
                                  path.string(), meta.format_version, kCheckpointFormatVersion));
    }
    meta.config_toml = read_value(archive, "config_toml").toStringRef();
    meta.class_names = read_string_list(archive, "class_names");
    meta.class_bins = read_string_list(archive, "class_bins");
    torch::Tensor counts, mean, std;
    archive.read("train_class_counts", counts);
    archive.read("mean", mean);
    archive.read("std", std);
    meta.train_class_counts.assign(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + counts.numel());
    for (int c = 0; c < 3; ++c) {
      meta.mean[c] = mean[c].item<float>();
      meta.std[c] = std[c].item<float>();
    }
    meta.image_size = read_value(archive, "image_size").toInt();
    meta.step = read_value(archive, "step").toInt();
    meta.best_metric = read_value(archive, "best_metric").toDouble();
    meta.best_epoch = read_value(archive, "best_epoch").toInt();
    archive.try_read("cpu_rng_state", meta.cpu_rng_state);

    apply_config_text(meta.config_toml, path.string() + " (stored config)", loaded.config);
    if (overrides.predict_prior) loaded.config.predict_prior = *overrides.predict_prior;
    std::vector<double> prior;
    int64_t total = 0;
    for (int64_t count : meta.train_class_counts) total += count;
    for (int64_t count : meta.train_class_counts) prior.push_back(static_cast<double>(count) / std::max<int64_t>(total, 1));
    ModelOptions options = model_options(loaded.config, prior);
    torch::serialize::InputArchive model_archive;
    const bool average = weights == StoredWeights::kPredict && archive.try_read(kWeightAverageKey, model_archive);
    if (average) {
      options.momentum = false;  // the average holds the prediction model only (train/weight_average.h)
    } else {
      archive.read("model", model_archive);
    }
    loaded.model = ContrastiveClassifier(options);
    loaded.model->load(model_archive);
  } catch (const c10::Error& error) {
    throw UserError(fmt::format("{}: not a readable trashcl checkpoint: {}", path.string(), error.what_without_backtrace()));
  }
  loaded.model->to(device);
  loaded.model->eval();
  return loaded;
}

void load_optimizer_state(const std::filesystem::path& path, torch::optim::Optimizer& optimizer) {
  torch::serialize::InputArchive archive;
  archive.load_from(path.string());
  torch::serialize::InputArchive optimizer_archive;
  if (!archive.try_read("optimizer", optimizer_archive)) {
    throw UserError(fmt::format("{}: has no optimizer state, so training cannot resume from it", path.string()));
  }
  optimizer.load(optimizer_archive);
}

}  // namespace trashcl
