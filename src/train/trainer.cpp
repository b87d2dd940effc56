#include "train/trainer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <fstream>
#include <functional>
#include <optional>

#include "common/clock.h"
#include "common/csv.h"
#include "common/device.h"
#include "common/error.h"
#include "data/dataset.h"
#include "data/encode.h"
#include "data/loader.h"
#include "model/copy_model.h"
#include "model/memory_format.h"
#include "train/bins.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/optimizer.h"
#include "train/options.h"
#include "train/precision.h"
#include "train/progress.h"
#include "train/report.h"
#include "train/rng_state.h"
#include "train/schedule.h"
#include "train/stop_signals.h"
#include "train/weight_average.h"

namespace trashcl {
namespace fs = std::filesystem;
namespace {

// Adds RUN_DIR/train.log to the logger for the lifetime of the object, flushed at every message so that the file
// can be followed during the run and keeps every epoch's line if the process is killed.
class RunLog {
 public:
  explicit RunLog(const fs::path& file)
      : sink_(std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string())),
        previous_flush_level_(spdlog::default_logger()->flush_level()) {
    sink_->set_pattern("%Y-%m-%d %H:%M:%S %l: %v");
    spdlog::default_logger()->sinks().push_back(sink_);
    spdlog::default_logger()->flush_on(spdlog::level::trace);
  }
  ~RunLog() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    spdlog::default_logger()->flush_on(previous_flush_level_);
  }

 private:
  spdlog::sink_ptr sink_;
  spdlog::level::level_enum previous_flush_level_;
};

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

void write_text_atomic(const fs::path& path, const std::string& text) {
  write_file_atomic(path, std::vector<uint8_t>(text.begin(), text.end()));
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

const char* kMetricsHeader =
    "epoch,step,loss,classification_loss,contrastive_loss,quantization_loss,lr,val_top1,val_macro_f1,img_per_s,"
    "data_wait_pct,epoch_seconds\n";

// A resumed run redoes the steps after its checkpoint, so metrics.csv keeps only the rows up to that step: a row
// written just before the process died, and before last.ckpt was saved, would otherwise list its epoch twice.
// A row cut short by the process's end is dropped too; a missing metrics.csv starts again from its header.
void keep_metrics_up_to_step(const fs::path& metrics, int64_t checkpoint_step) {
  const std::string header = kMetricsHeader;
  const auto columns = static_cast<size_t>(std::count(header.begin(), header.end(), ',') + 1);
  std::ifstream in(metrics);
  std::string kept = header, line;
  int dropped = 0;
  if (std::getline(in, line)) {  // the header
    while (std::getline(in, line)) {
      const std::vector<std::string> fields = parse_csv_line(line);
      int64_t row_step = -1;
      try {
        if (fields.size() == columns) row_step = std::stoll(fields[1]);
      } catch (const std::exception&) {  // not a number: the row is dropped
      }
      if (row_step >= 0 && row_step <= checkpoint_step) {
        kept += line + "\n";
      } else {
        ++dropped;
      }
    }
  }
  if (dropped > 0) {
    spdlog::info("{}: dropped {} row(s) cut short or past the checkpoint's step {}; the run redoes those steps",
                 metrics.string(), dropped, checkpoint_step);
  }
  write_text_atomic(metrics, kept);
}

// Creates the run folder, or checks that it holds a run to resume - or none to overwrite.
void prepare_run_folder(const fs::path& run_dir, bool resume) {
  std::error_code error;
  fs::create_directories(run_dir, error);
  if (error) throw UserError(fmt::format("{}: cannot create the run folder: {}", run_dir.string(), error.message()));
  const bool has_run = fs::exists(run_dir / "last.ckpt");
  if (resume && !has_run) throw UserError(fmt::format("{}: nothing to resume (no last.ckpt)", run_dir.string()));
  if (!resume && has_run) {
    throw UserError(fmt::format("{}: holds a run already; add --resume to continue it, or choose another --out",
                                run_dir.string()));
  }
}

// What the steps of an epoch work with; every member outlives the epoch.
struct StepContext {
  const Config& config;
  ContrastiveClassifier& model;
  torch::optim::SGD& optimizer;
  WeightAverage* average;  // null without model_ema
  BatchLoader& loader;
  const AugmentConfig& augment;
  torch::Device device;
  int64_t steps_per_epoch, warmup_steps, total_steps;
  double peak_lr;
  const StopSignals& stop_signals;
  std::function<double()> seconds_left;  // the run's estimated remaining time, for the progress line
};

// What the steps of an epoch added up to.
struct EpochSteps {
  torch::Tensor loss_sums = torch::zeros({4}, torch::kFloat64);  // [4] total, classification, contrastive, quantization
  int64_t count = 0;
  double lr = 0;               // the last step's
  double augment_seconds = 0;  // building the two views: part of the data share
  bool stopped = false;        // --max-steps reached or a stop signal: the run ends after this epoch
};

// Trains the steps of `epoch` from `step` (past the epoch's start when a run resumed mid-epoch) to the epoch's end
// or a stop, advancing `step`.
EpochSteps train_epoch_steps(const StepContext& run, int64_t epoch, int64_t& step, Clock::time_point epoch_start) {
  const Config& config = run.config;
  const bool two_views = config.loss != "ce";
  EpochSteps done;
  Progress progress(epoch, config.epochs, run.steps_per_epoch, step - epoch * run.steps_per_epoch);
  while (auto batch = run.loader.next()) {
    const auto augment_start = Clock::now();
    TwoViewBatch views = make_two_views(*batch, run.augment, run.device, two_views);
    if (config.channels_last) views = in_channels_last(std::move(views));
    done.augment_seconds += seconds_since(augment_start);

    done.lr = learning_rate_at(step, run.warmup_steps, run.total_steps, run.peak_lr);
    set_learning_rate(run.optimizer, done.lr, config.head_lr_scale);
    run.model->set_step(step, run.total_steps);
    LossTerms terms;
    {
      AutocastGuard autocast(config.precision == "bf16", run.device.is_cuda());
      terms = run.model->training_loss(views.anchor, views.positive, views.labels);
    }
    run.optimizer.zero_grad();
    terms.total.backward();
    if (config.grad_clip > 0) torch::nn::utils::clip_grad_norm_(run.model->trainable_parameters(), config.grad_clip);
    run.optimizer.step();
    ++step;
    if (run.average != nullptr) run.average->update(run.model, step);
    ++done.count;

    const torch::Tensor step_losses = torch::stack({terms.total.detach(), terms.classification.detach(),
                                                    terms.contrastive.detach(), terms.quantization.detach()})
                                          .to(torch::kCPU, torch::kFloat64);  // [4]
    if (!torch::isfinite(step_losses).all().item<bool>()) {
      throw UserError(fmt::format("step {}: the loss is not finite ({}); last.ckpt holds the last good epoch - try a "
                                  "lower --lr or --grad-clip 5",
                                  step, step_losses[0].item<double>()));
    }
    done.loss_sums += step_losses;
    const double elapsed = std::max(seconds_since(epoch_start), 1e-9);
    const auto& timing = run.loader.timing();
    const int64_t step_in_epoch = step - epoch * run.steps_per_epoch;  // 1-based, counting a resumed run's earlier steps
    progress.update({step_in_epoch, step_losses[0].item<double>(), done.lr, timing.images / elapsed,
                     (timing.wait_seconds + done.augment_seconds) / elapsed, run.seconds_left()});
    if ((config.max_steps > 0 && step >= config.max_steps) || run.stop_signals.received() != 0) {
      done.stopped = true;
      break;
    }
  }
  progress.finish();
  return done;
}

// One row of metrics.csv (kMetricsHeader); val_top1 and val_macro_f1 are -1 for an epoch not validated.
struct EpochRow {
  int64_t epoch = 0, step = 0;  // epoch 1-based
  torch::Tensor mean_losses;    // [4] as EpochSteps::loss_sums
  double lr = 0, val_top1 = -1, val_macro_f1 = -1, images_per_second = 0, data_share = 0, seconds = 0;
};

// Appends the row and flushes it, so that the file can be followed during the run; a failed write is reported and
// training goes on (the checkpoints matter more than the log).
void append_metrics_row(const fs::path& metrics, const EpochRow& row) {
  std::ofstream file(metrics, std::ios::app);
  file << fmt::format("{},{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6g},{:.4f},{:.4f},{:.1f},{:.1f},{:.1f}\n", row.epoch,
                      row.step, row.mean_losses[0].item<double>(), row.mean_losses[1].item<double>(),
                      row.mean_losses[2].item<double>(), row.mean_losses[3].item<double>(), row.lr, row.val_top1,
                      row.val_macro_f1, row.images_per_second, 100 * row.data_share, row.seconds);
  if (!file.flush()) {
    spdlog::warn("{}: cannot append epoch {}'s row (is the disk full?); training goes on", metrics.string(), row.epoch);
  }
}

// The last line of a run's log: how it ended and where its model is.
void log_run_end(const TrainSummary& summary, bool has_val_images, const fs::path& run_dir) {
  const fs::path last = run_dir / "last.ckpt", best = run_dir / "best.ckpt";
  const std::string took = fmt::format("done: {} steps in {}", summary.steps, format_duration(summary.seconds));
  if (summary.stop_signal != 0) {
    spdlog::warn("stopped by {} at step {}: {} holds it, and `trashcl train --out {} --resume` continues at the next "
                 "step",
                 summary.stop_signal == SIGINT ? "Ctrl-C (SIGINT)" : "SIGTERM", summary.steps, last.string(),
                 run_dir.string());
  } else if (summary.best_epoch < 0) {
    spdlog::info("{}; no epoch was validated, so there is no best.ckpt: the model is in {}", took, last.string());
  } else if (!has_val_images) {
    spdlog::info("{}; no validation images, so best.ckpt holds epoch {}, the last whole one ({})", took,
                 summary.best_epoch, best.string());
  } else {
    spdlog::info("{}; best validation top-1 {:.4f} at epoch {} ({})", took, summary.best_val_top1, summary.best_epoch,
                 best.string());
  }
}

}  // namespace

TrainSummary train(Config config, const fs::path& run_dir, bool resume) {
  const auto run_start = Clock::now();
  prepare_run_folder(run_dir, resume);
  const fs::path last = run_dir / "last.ckpt", best = run_dir / "best.ckpt", metrics = run_dir / "metrics.csv";
  RunLog log(run_dir / "train.log");
  const torch::Device device = chosen_device(config.device);
  config.precision = resolve_precision(config.precision, device.is_cuda());  // config.toml keeps what ran
  // config.toml names the data by absolute paths, so `--resume` finds them from any working directory.
  for (std::string* path : {&config.data, &config.split}) {
    if (!path->empty()) *path = fs::absolute(*path).lexically_normal().string();
  }

  SplitData data = load_split_data(config);
  const auto counts = data.train.dataset.class_counts();
  const auto& class_names = data.train.dataset.class_names;
  ModelOptions model_config = model_options(config, data.train.dataset.class_prior());
  const auto training_images = static_cast<int64_t>(data.train.dataset.samples.size());
  if (model_config.momentum && model_config.loss != "ce" && model_config.queue_size > training_images) {
    throw UserError(fmt::format("--queue-size {}: larger than the {} training images; use at most that many",
                                model_config.queue_size, training_images));
  }

  torch::manual_seed(static_cast<uint64_t>(config.seed));
  ContrastiveClassifier model(model_config);
  model->to(device);
  if (config.channels_last) to_channels_last(*model);
  const double peak_lr = config.lr * config.batch_size / 128.0;  // linear scaling rule
  const std::unique_ptr<torch::optim::SGD> sgd = make_optimizer(model, config, peak_lr);
  torch::optim::SGD& optimizer = *sgd;
  std::unique_ptr<WeightAverage> average;
  if (config.model_ema > 0) {
    average = std::make_unique<WeightAverage>(model, config.model_ema);
    if (config.channels_last) to_channels_last(*average->model());
  }
  LoaderOptions loader_options;
  loader_options.batch_size = config.batch_size;
  loader_options.drop_last = training_images > config.batch_size;  // batch norm and the queue want full batches
  loader_options.class_balanced = config.class_balanced;
  loader_options.seed = config.seed;
  loader_options.threads = config.loader_threads;
  std::vector<int> labels;
  for (const auto& sample : data.train.dataset.samples) labels.push_back(sample.label);
  BatchLoader loader(data.train.cache, labels, static_cast<int>(class_names.size()), loader_options);

  const int64_t steps_per_epoch = loader.batches_per_epoch();
  const int64_t total_steps = steps_per_epoch * config.epochs;
  const auto warmup_steps = static_cast<int64_t>(config.warmup_epochs * steps_per_epoch);

  CheckpointMeta meta;
  meta.config_toml = config_to_toml(config);
  meta.class_names = class_names;
  meta.class_bins = class_bins(class_names, config.bins);
  meta.train_class_counts = counts;
  meta.image_size = config.image_size;
  if (resume) {
    const RestoredRun stored = restore(last, model, optimizer, average.get(), device);
    if (config.channels_last) to_channels_last(*model);  // a checkpoint keeps the layout it was saved in
    meta.step = stored.meta.step;
    meta.best_metric = stored.meta.best_metric;
    meta.best_epoch = stored.meta.best_epoch;
    spdlog::info("resuming {} at step {}", run_dir.string(), meta.step);
    keep_metrics_up_to_step(metrics, meta.step);
    const std::vector<std::string> changes = changed_settings(stored.saved_config, config);
    if (!changes.empty()) {
      spdlog::warn("resuming with settings changed from the run's: {}; from step {} the run follows the new ones "
                   "(the learning-rate schedule too)",
                   fmt::join(changes, ", "), meta.step);
    }
  } else {
    write_text_atomic(metrics, kMetricsHeader);
  }
  write_text_atomic(run_dir / "config.toml", meta.config_toml);
  spdlog::info("training {} images in {} classes, {} validation; {} steps of {} images ({} epochs) on {} in {}",
               training_images, class_names.size(), data.val.dataset.samples.size(), total_steps, config.batch_size,
               config.epochs, device.str(), config.precision);
  if (average) {
    spdlog::info("validation, best.ckpt and prediction use the weight average (model_ema = {})", config.model_ema);
  }
  if (warmup_steps >= total_steps) {
    spdlog::warn("--warmup-epochs {} covers the whole {}-epoch run: the learning rate never reaches its peak ({}); "
                 "warm up for a fraction of the epochs",
                 config.warmup_epochs, config.epochs, peak_lr);
  }

  const AugmentConfig augment = augment_config(config);
  meta.mean = augment.mean;  // the checkpoint keeps the normalisation that eval and predict apply
  meta.std = augment.std;
  EvalOptions eval_options;
  eval_options.augment = augment;
  eval_options.device = device;
  eval_options.flip_test = config.flip_test;
  eval_options.bf16 = config.precision == "bf16";
  const bool has_val_images = !data.val.dataset.samples.empty();
  auto save = [&](const fs::path& path) {
    meta.cpu_rng_state = cpu_rng_state();
    save_checkpoint(path, model, &optimizer, meta, average ? &average->model() : nullptr);
  };

  // The run's remaining time is estimated from this process's own steps (a resumed run's earlier speed is unknown).
  const int64_t last_step = config.max_steps > 0 ? std::min(total_steps, config.max_steps) : total_steps;
  const int64_t first_step = meta.step;
  const auto loop_start = Clock::now();
  auto seconds_left = [&] {
    return run_seconds_left(seconds_since(loop_start), meta.step - first_step, last_step - meta.step);
  };

  StopSignals stop_signals;  // from here Ctrl-C saves the step reached; before, there is nothing to lose
  const StepContext step_context{config,          model,        optimizer,   average.get(), loader,  augment, device,
                                 steps_per_epoch, warmup_steps, total_steps, peak_lr,       stop_signals, seconds_left};
  model->train();
  for (int64_t epoch = meta.step / steps_per_epoch; epoch < config.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    loader.reset_timing();
    loader.start_epoch(epoch, meta.step % steps_per_epoch);
    const EpochSteps steps = train_epoch_steps(step_context, epoch, meta.step, epoch_start);

    const double epoch_seconds = seconds_since(epoch_start);
    const bool epoch_done = meta.step % steps_per_epoch == 0;
    const bool validate = epoch_done && ((epoch + 1) % std::max(1, config.eval_every) == 0 || epoch + 1 == config.epochs);
    double val_top1 = -1, val_f1 = -1;
    std::optional<ClassificationReport> validation_report;
    std::string trained_weights_validation;  // with a weight average: how the trained weights themselves score
    if (validate && has_val_images) {
      ContrastiveClassifier& validated = average ? average->model() : model;
      validation_report = evaluate(validated, data.val, eval_options, counts);
      val_top1 = validation_report->top1;
      val_f1 = validation_report->macro_f1;
      if (average) {
        const ClassificationReport trained = evaluate(model, data.val, eval_options, counts);
        trained_weights_validation =
            fmt::format(" (weight average; the trained weights {:.4f}, {:.4f})", trained.top1, trained.macro_f1);
      }
    }
    const auto& timing = loader.timing();
    EpochRow row;
    row.epoch = epoch + 1;
    row.step = meta.step;
    row.mean_losses = steps.loss_sums / std::max<int64_t>(steps.count, 1);
    row.lr = steps.lr;
    row.val_top1 = val_top1;
    row.val_macro_f1 = val_f1;
    row.images_per_second = timing.images / std::max(epoch_seconds, 1e-9);
    row.data_share = (timing.wait_seconds + steps.augment_seconds) / std::max(epoch_seconds, 1e-9);
    row.seconds = epoch_seconds;
    append_metrics_row(metrics, row);
    std::string validation;
    if (!epoch_done) {
      validation = stop_signals.received() != 0 ? "not validated (the run was interrupted)"
                                                : "not validated (the epoch was cut short by --max-steps)";
    } else if (!validate) {
      validation = fmt::format("not validated (every {} epochs: --eval-every)", config.eval_every);
    } else if (!has_val_images) {
      validation = "not validated (no validation images)";
    } else {
      validation = fmt::format("val top-1 {:.4f}, val macro-F1 {:.4f}{}", val_top1, val_f1, trained_weights_validation);
    }
    const std::string time_left = meta.step < last_step ? fmt::format("; {} left", format_duration(seconds_left())) : "";
    spdlog::info("epoch {}/{}: loss {:.4f}, {}, {:.1f} img/s, data {:.0f}%, {:.0f}s{}", epoch + 1, config.epochs,
                 row.mean_losses[0].item<double>(), validation, row.images_per_second, 100 * row.data_share,
                 epoch_seconds, time_left);

    const bool improved = validate && (!has_val_images || val_top1 > meta.best_metric);
    if (improved) {
      meta.best_metric = val_top1;
      meta.best_epoch = epoch + 1;
      save(best);
    }
    save(last);
    if (validation_report) {  // the curves so far and this validation; `trashcl eval` replaces it with its split's
      write_report_html(run_dir,
                        fmt::format("trashcl train: {}, validation after epoch {} of {} (best so far: epoch {}, top-1 "
                                    "{:.4f})",
                                    run_dir.string(), epoch + 1, config.epochs, meta.best_epoch, meta.best_metric),
                        *validation_report, class_names);
    }
    if (steps.stopped || stop_signals.received() != 0) break;  // a signal during validation or the save stops here
  }
  TrainSummary summary;
  summary.stop_signal = meta.step < last_step ? stop_signals.received() : 0;  // at the end there is nothing to stop
  summary.steps = meta.step;
  summary.best_epoch = meta.best_epoch;
  summary.best_val_top1 = meta.best_metric;
  summary.seconds = seconds_since(run_start);
  log_run_end(summary, has_val_images, run_dir);
  return summary;
}

}  // namespace trashcl
