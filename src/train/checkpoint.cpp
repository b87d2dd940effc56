#include "train/checkpoint.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "data/encode.h"
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

// Opens the checkpoint at `path` and hands its archive to `read`; LibTorch's errors become a UserError naming the file.
template <typename Read>
auto read_checkpoint(const std::filesystem::path& path, Read read) {
  if (!std::filesystem::is_regular_file(path)) {
    throw UserError(fmt::format("{}: no such checkpoint (train one with `trashcl train --out RUN_DIR`)", path.string()));
  }
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    return read(archive);
  } catch (const c10::Error& error) {
    throw UserError(fmt::format("{}: not a readable trashcl checkpoint: {}", path.string(), error.what_without_backtrace()));
  }
}

// The metadata, and the stored config with `overrides` applied; the model is left unset.
LoadedModel read_meta_and_config(torch::serialize::InputArchive& archive, const std::filesystem::path& path,
                                 const LoadOverrides& overrides) {
  LoadedModel loaded;
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
  if (overrides.predict_prior) {
    loaded.config.predict_prior = *overrides.predict_prior;
    if (loaded.config.loss != "paco") {
      spdlog::warn("{}: --predict-prior has no effect: the model was trained with loss = {}, whose scores carry no "
                   "training prior (only PaCo's do)",
                   path.string(), loaded.config.loss);
    }
  }
  return loaded;
}

// The options the stored model was built with: its config and its training-class prior.
ModelOptions stored_model_options(const LoadedModel& loaded) {
  std::vector<double> prior;
  int64_t total = 0;
  for (int64_t count : loaded.meta.train_class_counts) total += count;
  for (int64_t count : loaded.meta.train_class_counts) {
    prior.push_back(static_cast<double>(count) / std::max<int64_t>(total, 1));
  }
  return model_options(loaded.config, prior);
}

// Builds a model with `options` and loads `model_archive` into it, in eval mode.
ContrastiveClassifier read_model(torch::serialize::InputArchive& model_archive, const ModelOptions& options) {
  ContrastiveClassifier model(options);
  model->load(model_archive);
  model->eval();
  return model;
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

  // Flushed to the disk before and after the rename: readers, a killed process and a power cut all leave the old
  // checkpoint or the new one, never half of one.
  auto save_archive = [&](const std::filesystem::path& temporary) {
    try {
      archive.save_to(temporary.string());
    } catch (const c10::Error& error) {
      throw UserError(fmt::format("{}: cannot write the checkpoint: {}", path.string(), error.what_without_backtrace()));
    }
  };
  replace_file_atomic(path, save_archive, Durability::kPowerLoss);
}

AugmentConfig inference_augment(const LoadedModel& loaded) {
  AugmentConfig augment = augment_config(loaded.config);
  augment.mean = loaded.meta.mean;
  augment.std = loaded.meta.std;
  return augment;
}

std::filesystem::path checkpoint_file(const std::filesystem::path& path) {
  if (!std::filesystem::is_directory(path)) return path;
  const auto best = path / "best.ckpt", last = path / "last.ckpt";
  if (std::filesystem::is_regular_file(best)) return best;
  throw UserError(std::filesystem::is_regular_file(last)
                      ? fmt::format("{}: a run folder without best.ckpt (no epoch validated yet); its latest model "
                                    "is {}",
                                    path.string(), last.string())
                      : fmt::format("{}: a folder without best.ckpt; give a checkpoint file (RUN_DIR/best.ckpt)",
                                    path.string()));
}

LoadedModel load_checkpoint(const std::filesystem::path& model_path, const torch::Device& device,
                            const LoadOverrides& overrides, StoredWeights weights) {
  const std::filesystem::path path = checkpoint_file(model_path);
  LoadedModel loaded = read_checkpoint(path, [&](torch::serialize::InputArchive& archive) {
    LoadedModel stored = read_meta_and_config(archive, path, overrides);
    ModelOptions options = stored_model_options(stored);
    torch::serialize::InputArchive model_archive;
    if (weights == StoredWeights::kPredict && archive.try_read(kWeightAverageKey, model_archive)) {
      options = without_momentum_branch(options);  // the average holds the prediction model only (train/weight_average.h)
    } else {
      archive.read("model", model_archive);
    }
    stored.model = read_model(model_archive, options);
    return stored;
  });
  loaded.model->to(device);
  return loaded;
}

ResumeState load_for_resume(const std::filesystem::path& path, const torch::Device& device,
                            torch::optim::Optimizer& optimizer) {
  ResumeState resumed = read_checkpoint(path, [&](torch::serialize::InputArchive& archive) {
    LoadedModel stored = read_meta_and_config(archive, path, {});
    ModelOptions options = stored_model_options(stored);
    ResumeState state;
    state.meta = std::move(stored.meta);
    state.config = std::move(stored.config);
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    state.trained = read_model(model_archive, options);
    torch::serialize::InputArchive average_archive;
    if (archive.try_read(kWeightAverageKey, average_archive)) {
      options = without_momentum_branch(options);  // the average holds the prediction model only (train/weight_average.h)
      state.average = read_model(average_archive, options);
    }
    torch::serialize::InputArchive optimizer_archive;
    if (!archive.try_read("optimizer", optimizer_archive)) {
      throw UserError(fmt::format("{}: has no optimizer state, so training cannot resume from it", path.string()));
    }
    optimizer.load(optimizer_archive);
    return state;
  });
  resumed.trained->to(device);
  if (resumed.average) resumed.average->to(device);
  return resumed;
}

}  // namespace trashcl
