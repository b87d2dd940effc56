// Checkpoints: everything needed to resume a run exactly, or to predict with no flags at all.
//
// One LibTorch archive holding: the model's parameters and buffers (query encoder, head, key encoder, queue,
// queue labels and pointer - all registered on the module), the optimizer state, the metadata below, and,
// when the run keeps one (model_ema > 0), the weight average that prediction uses (train/weight_average.h).
// Written to a temporary file, flushed to the disk and renamed, so a crash or a power cut mid-write leaves the
// previous checkpoint intact.
#pragma once
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "data/augment.h"
#include "model/contrastive_classifier.h"

namespace trashcl {

constexpr int64_t kCheckpointFormatVersion = 1;

struct CheckpointMeta {
  int64_t format_version = kCheckpointFormatVersion;
  std::string config_toml;                  // the effective config the model was built and trained with
  std::vector<std::string> class_names;     // [N]
  std::vector<std::string> class_bins;      // [N] disposal bin of each class
  std::vector<int64_t> train_class_counts;  // [N] usable training images per class (prior, few-shot groups)
  int64_t image_size = 224;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  // input normalisation
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
  int64_t step = 0;                         // optimizer steps taken
  double best_metric = -1;                  // best validation top-1 so far
  int64_t best_epoch = -1;
  torch::Tensor cpu_rng_state;              // the default CPU generator (dropout); undefined: not saved
};

// Writes `path` atomically. optimizer may be null (an inference-only checkpoint); so may weight_average
// (the run keeps none).
void save_checkpoint(const std::filesystem::path& path, ContrastiveClassifier& model,
                     torch::optim::Optimizer* optimizer, const CheckpointMeta& meta,
                     ContrastiveClassifier* weight_average = nullptr);

struct LoadedModel {
  Config config;
  CheckpointMeta meta;
  ContrastiveClassifier model{nullptr};
};

// What a trained model may be used with other than the config it was trained with. Unset: the stored value.
struct LoadOverrides {
  std::optional<std::string> predict_prior;  // train or uniform (Config::predict_prior): needs no retraining
};

// Which weights of a checkpoint to load.
enum class StoredWeights {
  kPredict,  // what to predict with: the weight average when the run kept one (a model without the momentum
             // branch, which prediction does not use), else the trained weights
  kTrained,  // the trained weights, momentum branch included (to resume training)
};

// The checkpoint file `path` names: `path` itself, or a run folder's best.ckpt, so that `--model runs/trashnet`
// works. Throws UserError for a folder without best.ckpt, naming its last.ckpt when it has one.
std::filesystem::path checkpoint_file(const std::filesystem::path& path);

// Rebuilds the model from the stored config (with `overrides` applied) and loads its weights onto `device`;
// `path` may be a run folder (checkpoint_file). Throws UserError naming the file for a missing, corrupt,
// foreign or newer-format checkpoint.
LoadedModel load_checkpoint(const std::filesystem::path& path, const torch::Device& device,
                            const LoadOverrides& overrides = {}, StoredWeights weights = StoredWeights::kPredict);

// The eval transform of a loaded model: its config's input size with the normalisation it was trained with.
AugmentConfig inference_augment(const LoadedModel& loaded);

// What --resume takes from a checkpoint besides the optimizer state.
struct ResumeState {
  CheckpointMeta meta;
  Config config;                           // the settings the run was saved with
  ContrastiveClassifier trained{nullptr};  // the trained weights, momentum branch included
  ContrastiveClassifier average{nullptr};  // the weight average; null when the checkpoint holds none
};

// Reads `path` once for --resume: the models onto `device`, the optimizer state into `optimizer`. Throws UserError
// naming the file as load_checkpoint does, and for a checkpoint without optimizer state.
ResumeState load_for_resume(const std::filesystem::path& path, const torch::Device& device,
                            torch::optim::Optimizer& optimizer);

}  // namespace trashcl
