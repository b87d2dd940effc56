#include "train/trainer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <optional>

#include "common/clock.h"
#include "common/device.h"
#include "common/error.h"
#include "data/dataset.h"
#include "data/encode.h"
#include "data/loader.h"
#include "model/copy_model.h"
#include "model/memory_format.h"
#include "train/batch_mix.h"
#include "train/bins.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/optimizer.h"
#include "train/options.h"
#include "train/precision.h"
#include "train/progress.h"
#include "train/report.h"
#include "train/rng_state.h"
#include "train/run_folder.h"
#include "train/schedule.h"
#include "train/stop_signals.h"
#include "train/weight_average.h"

namespace trashcl {
namespace fs = std::filesystem;
namespace {

struct SplitData {
  LoadedDataset train, val;  // val.dataset.samples is empty when the manifest has no validation split
};

SplitData load_split_data(const Config& config) {
  if (config.data.empty()) throw UserError("train: --data is required (a folder of <class>/<image> folders)");
  std::vector<SplitEntry> entries;
  const std::string source = config.split.empty() ? "the split made of " + config.data : config.split;
  if (config.split.empty()) {
    spdlog::info("no --split given: splitting {} 0.7/0.13/0.17 with seed {}", config.data, config.seed);
    entries = make_stratified_split(list_image_folder(config.data), SplitRatios{}, config.seed);
  } else {
    entries = read_split_csv(config.split);
  }
  SplitData data;
  LoadOptions load = load_options(config);
  const Dataset train_set = dataset_from_split(config.data, entries, "train", source);
  const auto listed = train_set.class_counts();
  for (size_t c = 0; c < listed.size(); ++c) {
    if (listed[c] == 0) {
      throw UserError(fmt::format("{}: no training image of class '{}'; every class needs at least one (give the "
                                  "training split photos of it, or remove the class)",
                                  source, train_set.class_names[c]));
    }
  }
  data.train = load_dataset(train_set, load);
  const bool has_val = std::any_of(entries.begin(), entries.end(), [](const SplitEntry& e) { return e.split == "val"; });
  if (has_val) {
    load.require_every_class = false;  // a small class may have no validation image: it is left out of the macro
    data.val = load_dataset(dataset_from_split(config.data, entries, "val", source), load);
    const auto validated = data.val.dataset.class_counts();
    for (size_t c = 0; c < validated.size(); ++c) {
      if (validated[c] == 0) {
        spdlog::warn("{}: no validation image of class '{}': validation does not measure it, and its macro-F1 "
                     "averages over the other classes",
                     source, data.val.dataset.class_names[c]);
      }
    }
  } else {
    spdlog::warn("the split has no validation images: best.ckpt will be the last epoch's model");
  }
  return data;
}

// What a resumed run keeps of its checkpoint besides the weights.
struct RestoredRun {
  CheckpointMeta meta;
  Config saved_config;  // the settings the run was saved with
};

// Resumes model, optimizer, weight average (may be null) and RNG from RUN_DIR/last.ckpt. A checkpoint without a
// weight average (the run kept none until now) starts it from the weights.
RestoredRun restore(const fs::path& checkpoint, ContrastiveClassifier& model, torch::optim::Optimizer& optimizer,
                    WeightAverage* average, const torch::Device& device) {
  ResumeState stored = load_for_resume(checkpoint, device, optimizer);
  copy_weights_by_name(stored.trained, model);
  if (average != nullptr) average->load(stored.average ? stored.average : stored.trained);
  if (stored.meta.cpu_rng_state.defined()) set_cpu_rng_state(stored.meta.cpu_rng_state);
  return {std::move(stored.meta), std::move(stored.config)};
}

// The settings a resumed run changes from those it was saved with, as "lr 0.05 -> 0.1"; the runtime keys
// (threads, device) are left out, since they change how fast the run goes, not what it learns.
std::vector<std::string> changed_settings(Config saved, Config now) {
  std::vector<std::string> changes;
  const auto before = saved.fields(), after = now.fields();
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i].section == "runtime") continue;
    const std::string old_value = value_to_toml(before[i]), new_value = value_to_toml(after[i]);
    if (old_value != new_value) changes.push_back(fmt::format("{} {} -> {}", before[i].name, old_value, new_value));
  }
  return changes;
}

// The config as the run follows it and config.toml keeps it: the precision `auto` resolved for the device, and the
// data named by absolute paths, so that `--resume` finds them from any working directory.
Config effective_config(Config config, const torch::Device& device) {
  config.precision = resolve_precision(config.precision, device.is_cuda());
  for (std::string* path : {&config.data, &config.split}) {
    if (!path->empty()) *path = fs::absolute(*path).lexically_normal().string();
  }
  return config;
}

LoaderOptions training_loader_options(const Config& config, int64_t training_images) {
  LoaderOptions options;
  options.batch_size = config.batch_size;
  options.drop_last = training_images > config.batch_size;  // batch norm and the queue want full batches
  options.class_balanced = config.class_balanced;
  options.seed = config.seed;
  options.threads = config.loader_threads;
  return options;
}

// One run of `trashcl train`: the constructor sets it up (run folder, log, data, model, optimizer, loader, and
// the state of last.ckpt when resuming); run() trains the epochs left and keeps the run folder.
class TrainingRun {
 public:
  TrainingRun(Config config, const fs::path& run_dir, bool resume);
  TrainSummary run();

 private:
  // What the steps of an epoch added up to.
  struct EpochSteps {
    torch::Tensor loss_sums = torch::zeros({4}, torch::kFloat64);  // [4] total, classification, contrastive, quantization
    int64_t count = 0;
    double lr = 0;               // the last step's
    double augment_seconds = 0;  // building the two views: part of the data share
    bool stopped = false;        // --max-steps reached or a stop signal: the run ends after this epoch
  };

  // The validation after an epoch.
  struct EpochValidation {
    bool due = false;                            // a whole epoch at which --eval-every (or the last epoch) asks for one
    std::optional<ClassificationReport> report;  // of the weights that predict; none without validation images
    std::string summary;                         // for the epoch's log line: the scores, or why there are none
  };

  // Trains the steps of `epoch` from the current step (past the epoch's start when a run resumed mid-epoch) to the
  // epoch's end or a stop.
  EpochSteps train_steps(int64_t epoch, Clock::time_point epoch_start, const StopSignals& stop_signals);
  EpochValidation validate(int64_t epoch, bool epoch_done, int stop_signal);
  void save(const fs::path& checkpoint);
  double seconds_left() const;  // the run's, estimated from this process's steps (a resumed run's earlier speed is unknown)
  void log_end(const TrainSummary& summary) const;
  bool has_val_images() const { return !data_.val.dataset.samples.empty(); }

  const Clock::time_point start_ = Clock::now();
  const fs::path run_dir_, last_, best_, metrics_;
  RunLog log_;
  const torch::Device device_;
  const Config config_;
  const SplitData data_;
  ContrastiveClassifier model_{nullptr};
  std::unique_ptr<torch::optim::SGD> optimizer_;
  std::unique_ptr<WeightAverage> average_;  // null without model_ema
  std::unique_ptr<BatchLoader> loader_;
  AugmentConfig augment_;
  EvalOptions eval_options_;
  CheckpointMeta meta_;  // what every checkpoint holds besides the weights; meta_.step is the step reached
  double peak_lr_ = 0;
  int64_t steps_per_epoch_ = 0, total_steps_ = 0, warmup_steps_ = 0;
  int64_t self_supervised_steps_ = 0;  // the steps before this learn without labels
  int64_t last_step_ = 0;  // the step the run ends at: the schedule's last, or --max-steps
  int64_t first_step_ = 0;  // the step this process started at
  Clock::time_point loop_start_;
};

TrainingRun::TrainingRun(Config config, const fs::path& run_dir, bool resume)
    : run_dir_(checked_run_folder(run_dir, resume)),
      last_(run_dir_ / "last.ckpt"),
      best_(run_dir_ / "best.ckpt"),
      metrics_(run_dir_ / "metrics.csv"),
      log_(run_dir_ / "train.log"),
      device_(chosen_device(config.device)),
      config_(effective_config(std::move(config), device_)),
      data_(load_split_data(config_)) {
  const Dataset& train_set = data_.train.dataset;
  const ModelOptions model_config = model_options(config_, train_set.class_prior());
  const auto training_images = static_cast<int64_t>(train_set.samples.size());
  if (model_config.momentum && model_config.loss != "ce" && model_config.queue_size > training_images) {
    throw UserError(fmt::format("--queue-size {}: larger than the {} training images; use at most that many",
                                model_config.queue_size, training_images));
  }

  torch::manual_seed(static_cast<uint64_t>(config_.seed));
  model_ = ContrastiveClassifier(model_config);
  model_->to(device_);
  if (config_.channels_last) to_channels_last(*model_);
  peak_lr_ = config_.lr * config_.batch_size / 128.0;  // linear scaling rule
  optimizer_ = make_optimizer(model_, config_, peak_lr_);
  if (config_.model_ema > 0) {
    average_ = std::make_unique<WeightAverage>(model_, config_.model_ema);
    if (config_.channels_last) to_channels_last(*average_->model());
  }
  std::vector<int> labels;
  for (const auto& sample : train_set.samples) labels.push_back(sample.label);
  loader_ = std::make_unique<BatchLoader>(data_.train.cache, labels, static_cast<int>(train_set.class_names.size()),
                                          training_loader_options(config_, training_images));
  steps_per_epoch_ = loader_->batches_per_epoch();
  total_steps_ = steps_per_epoch_ * config_.epochs;
  warmup_steps_ = static_cast<int64_t>(config_.warmup_epochs * steps_per_epoch_);
  self_supervised_steps_ = config_.self_supervised_epochs * steps_per_epoch_;
  last_step_ = config_.max_steps > 0 ? std::min(total_steps_, config_.max_steps) : total_steps_;

  augment_ = augment_config(config_);
  eval_options_.augment = augment_;
  eval_options_.device = device_;
  eval_options_.flip_test = config_.flip_test;
  eval_options_.bf16 = config_.precision == "bf16";

  meta_.config_toml = config_to_toml(config_);
  meta_.class_names = train_set.class_names;
  meta_.class_bins = class_bins(train_set.class_names, config_.bins);
  meta_.train_class_counts = train_set.class_counts();
  meta_.image_size = config_.image_size;
  meta_.mean = augment_.mean;  // the checkpoint keeps the normalisation that eval and predict apply
  meta_.std = augment_.std;
  if (resume) {
    const RestoredRun stored = restore(last_, model_, *optimizer_, average_.get(), device_);
    if (config_.channels_last) to_channels_last(*model_);  // a checkpoint keeps the layout it was saved in
    meta_.step = stored.meta.step;
    meta_.best_metric = stored.meta.best_metric;
    meta_.best_epoch = stored.meta.best_epoch;
    spdlog::info("resuming {} at step {}", run_dir_.string(), meta_.step);
    keep_metrics_up_to_step(metrics_, meta_.step);
    const std::vector<std::string> changes = changed_settings(stored.saved_config, config_);
    if (!changes.empty()) {
      spdlog::warn("resuming with settings changed from the run's: {}; from step {} the run follows the new ones "
                   "(the learning-rate schedule too)",
                   fmt::join(changes, ", "), meta_.step);
    }
  } else {
    start_metrics_file(metrics_);
  }
  write_text_atomic(run_dir_ / "config.toml", meta_.config_toml);

  spdlog::info("training {} images in {} classes, {} validation; {} steps of {} images ({} epochs) on {} in {}",
               training_images, train_set.class_names.size(), data_.val.dataset.samples.size(), total_steps_,
               config_.batch_size, config_.epochs, device_.str(), config_.precision);
  const std::vector<std::string> unused = settings_without_effect(config_);
  if (!unused.empty()) spdlog::warn("settings without effect in this run: {}", fmt::join(unused, ", "));
  if (self_supervised_steps_ > 0) {
    const int unlabelled = config_.self_supervised_epochs;
    spdlog::info("{} without labels (instance discrimination); the class head learns from epoch {}, so validation "
                 "before it scores an untrained head",
                 unlabelled == 1 ? "epoch 1 learns" : fmt::format("epochs 1-{} learn", unlabelled), unlabelled + 1);
  }
  if (average_) {
    spdlog::info("validation, best.ckpt and prediction use the weight average (model_ema = {})", config_.model_ema);
  }
  if (warmup_steps_ >= total_steps_) {
    spdlog::warn("--warmup-epochs {} covers the whole {}-epoch run: the learning rate never reaches its peak ({}); "
                 "warm up for a fraction of the epochs",
                 config_.warmup_epochs, config_.epochs, peak_lr_);
  }
}

TrainSummary TrainingRun::run() {
  StopSignals stop_signals;  // from here Ctrl-C saves the step reached; before, there is nothing to lose
  first_step_ = meta_.step;
  loop_start_ = Clock::now();
  model_->train();
  for (int64_t epoch = meta_.step / steps_per_epoch_; epoch < config_.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    loader_->reset_timing();
    loader_->start_epoch(epoch, meta_.step % steps_per_epoch_);
    const EpochSteps steps = train_steps(epoch, epoch_start, stop_signals);
    const double epoch_seconds = seconds_since(epoch_start);
    const bool epoch_done = meta_.step % steps_per_epoch_ == 0;
    const EpochValidation validation = validate(epoch, epoch_done, stop_signals.received());

    const auto& timing = loader_->timing();
    EpochRow row;
    row.epoch = epoch + 1;
    row.step = meta_.step;
    const torch::Tensor mean_losses = steps.loss_sums / std::max<int64_t>(steps.count, 1);  // [4]
    for (int64_t i = 0; i < 4; ++i) row.mean_losses[static_cast<size_t>(i)] = mean_losses[i].item<double>();
    row.lr = steps.lr;
    if (validation.report) {
      row.val_top1 = validation.report->top1;
      row.val_macro_f1 = validation.report->macro_f1;
    }
    row.images_per_second = timing.images / std::max(epoch_seconds, 1e-9);
    row.data_share = (timing.wait_seconds + steps.augment_seconds) / std::max(epoch_seconds, 1e-9);
    row.seconds = epoch_seconds;
    append_metrics_row(metrics_, row);
    const std::string time_left =
        meta_.step < last_step_ ? fmt::format("; {} left", format_duration(seconds_left())) : "";
    spdlog::info("epoch {}/{}: loss {:.4f}, {}, {:.1f} img/s, data {:.0f}%, {:.0f}s{}", epoch + 1, config_.epochs,
                 row.mean_losses[0], validation.summary, row.images_per_second, 100 * row.data_share,
                 epoch_seconds, time_left);

    // Without validation images every validated epoch counts as the best: best.ckpt is the last whole one.
    if (validation.due && (!has_val_images() || row.val_top1 > meta_.best_metric)) {
      meta_.best_metric = row.val_top1;
      meta_.best_epoch = epoch + 1;
      save(best_);
    }
    save(last_);
    if (validation.report) {  // the curves so far and this validation; `trashcl eval` replaces it with its split's
      write_report_html(run_dir_,
                        fmt::format("trashcl train: {}, validation after epoch {} of {} (best so far: epoch {}, top-1 "
                                    "{:.4f})",
                                    run_dir_.string(), epoch + 1, config_.epochs, meta_.best_epoch, meta_.best_metric),
                        *validation.report, meta_.class_names);
    }
    if (steps.stopped || stop_signals.received() != 0) break;  // a signal during validation or the save stops here
  }
  TrainSummary summary;
  summary.stop_signal = meta_.step < last_step_ ? stop_signals.received() : 0;  // at the end there is nothing to stop
  summary.steps = meta_.step;
  summary.best_epoch = meta_.best_epoch;
  summary.best_val_top1 = meta_.best_metric;
  summary.seconds = seconds_since(start_);
  log_end(summary);
  return summary;
}

TrainingRun::EpochSteps TrainingRun::train_steps(int64_t epoch, Clock::time_point epoch_start,
                                                 const StopSignals& stop_signals) {
  const bool two_views = config_.loss != "ce";
  EpochSteps done;
  Progress progress(epoch, config_.epochs, steps_per_epoch_, meta_.step - epoch * steps_per_epoch_);
  while (auto batch = loader_->next()) {
    const auto augment_start = Clock::now();
    TwoViewBatch views = make_two_views(*batch, augment_, device_, two_views);
    MixedBatch mixed = mix_anchor_views(views.anchor, views.labels, config_.cutmix_p, config_.mixup_alpha);
    views.anchor = std::move(mixed.images);
    if (config_.channels_last) views = in_channels_last(std::move(views));
    done.augment_seconds += seconds_since(augment_start);

    done.lr = learning_rate_at(meta_.step, warmup_steps_, total_steps_, peak_lr_);
    set_learning_rate(*optimizer_, done.lr, config_.head_lr_scale);
    model_->set_step(meta_.step, total_steps_);
    model_->set_self_supervised(meta_.step < self_supervised_steps_);
    LossTerms terms;
    {
      AutocastGuard autocast(config_.precision == "bf16", device_.is_cuda());
      terms = model_->training_loss(views.anchor, views.positive, views.labels, mixed.mix);
    }
    optimizer_->zero_grad();
    terms.total.backward();
    if (config_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model_->trainable_parameters(), config_.grad_clip);
    optimizer_->step();
    ++meta_.step;
    if (average_) average_->update(model_, meta_.step);
    ++done.count;

    const torch::Tensor step_losses = torch::stack({terms.total.detach(), terms.classification.detach(),
                                                    terms.contrastive.detach(), terms.quantization.detach()})
                                          .to(torch::kCPU, torch::kFloat64);  // [4]
    if (!torch::isfinite(step_losses).all().item<bool>()) {
      throw UserError(fmt::format("step {}: the loss is not finite ({}); last.ckpt holds the last good epoch - try a "
                                  "lower --lr or --grad-clip 5",
                                  meta_.step, step_losses[0].item<double>()));
    }
    done.loss_sums += step_losses;
    const double elapsed = std::max(seconds_since(epoch_start), 1e-9);
    const auto& timing = loader_->timing();
    const int64_t step_in_epoch = meta_.step - epoch * steps_per_epoch_;  // 1-based, counting a resumed run's earlier steps
    progress.update({step_in_epoch, step_losses[0].item<double>(), done.lr, timing.images / elapsed,
                     (timing.wait_seconds + done.augment_seconds) / elapsed, seconds_left()});
    if ((config_.max_steps > 0 && meta_.step >= config_.max_steps) || stop_signals.received() != 0) {
      done.stopped = true;
      break;
    }
  }
  progress.finish();
  return done;
}

TrainingRun::EpochValidation TrainingRun::validate(int64_t epoch, bool epoch_done, int stop_signal) {
  EpochValidation validation;
  validation.due = epoch_done && ((epoch + 1) % std::max(1, config_.eval_every) == 0 || epoch + 1 == config_.epochs);
  if (!epoch_done) {
    validation.summary = stop_signal != 0 ? "not validated (the run was interrupted)"
                                          : "not validated (the epoch was cut short by --max-steps)";
  } else if (!validation.due) {
    validation.summary = fmt::format("not validated (every {} epochs: --eval-every)", config_.eval_every);
  } else if (!has_val_images()) {
    validation.summary = "not validated (no validation images)";
  } else {
    ContrastiveClassifier& validated = average_ ? average_->model() : model_;
    const ClassificationReport& report =
        validation.report.emplace(evaluate(validated, data_.val, eval_options_, meta_.train_class_counts));
    validation.summary = fmt::format("val top-1 {:.4f}, val macro-F1 {:.4f}", report.top1, report.macro_f1);
    if (average_) {  // how the trained weights themselves score
      const ClassificationReport trained = evaluate(model_, data_.val, eval_options_, meta_.train_class_counts);
      validation.summary +=
          fmt::format(" (weight average; the trained weights {:.4f}, {:.4f})", trained.top1, trained.macro_f1);
    }
  }
  return validation;
}

void TrainingRun::save(const fs::path& checkpoint) {
  meta_.cpu_rng_state = cpu_rng_state();
  save_checkpoint(checkpoint, model_, optimizer_.get(), meta_, average_ ? &average_->model() : nullptr);
}

double TrainingRun::seconds_left() const {
  return run_seconds_left(seconds_since(loop_start_), meta_.step - first_step_, last_step_ - meta_.step);
}

// The last line of a run's log: how it ended and where its model is.
void TrainingRun::log_end(const TrainSummary& summary) const {
  const std::string took = fmt::format("done: {} steps in {}", summary.steps, format_duration(summary.seconds));
  if (summary.stop_signal != 0) {
    spdlog::warn("stopped by {} at step {}: {} holds it, and `trashcl train --out {} --resume` continues at the next "
                 "step",
                 summary.stop_signal == SIGINT ? "Ctrl-C (SIGINT)" : "SIGTERM", summary.steps, last_.string(),
                 run_dir_.string());
  } else if (summary.best_epoch < 0) {
    spdlog::info("{}; no epoch was validated, so there is no best.ckpt: the model is in {}", took, last_.string());
  } else if (!has_val_images()) {
    spdlog::info("{}; no validation images, so best.ckpt holds epoch {}, the last whole one ({})", took,
                 summary.best_epoch, best_.string());
  } else {
    spdlog::info("{}; best validation top-1 {:.4f} at epoch {} ({})", took, summary.best_val_top1, summary.best_epoch,
                 best_.string());
  }
}

}  // namespace

TrainSummary train(Config config, const fs::path& run_dir, bool resume) {
  return TrainingRun(std::move(config), run_dir, resume).run();
}

}  // namespace trashcl
