// trashcl bench: throughput and latency of each stage, measured the way training and serving use them.
//   decode   JPEG/PNG decode to the cache size, one thread
//   augment  each view, batched, from decoded images
//   loader   the two-view pipeline end to end: loader threads + both views
//   train    full training steps (model, loss, optimizer) on real or synthetic data
//   predict  through the Predictor that `predict` and `serve` use: single-image latency percentiles of
//            predict_ms (decode + eval transform + forward + top-k: what peer.py --predict-latency times) and
//            model_ms (the forward alone, on a transformed tensor); predict_img_per_s at --batch-size (decode
//            excluded); fold_batch_norm (the convs that run have the BNs folded in) and backbone_path
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "common/clock.h"
#include "common/device.h"
#include "common/error.h"
#include "common/random.h"
#include "data/dataset.h"
#include "data/encode.h"
#include "data/loader.h"
#include "data/synth.h"
#include "infer/predictor.h"
#include "model/memory_format.h"
#include "train/bins.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/optimizer.h"
#include "train/options.h"
#include "train/precision.h"

namespace trashcl {
namespace {

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // Linux reports KiB
}

struct BenchOptions {
  Config config;
  std::string stage, model;
  int64_t steps = 20, warmup = 3;
  bool json = false, synthetic = false;
  // predict only
  int64_t batch_steps = 5;
  bool fold_batch_norm = true, fuse_backbone = true;
  std::string layout = "auto";
  Int8Calibration int8;
  std::unique_ptr<ConfigBinding> binding;
  CLI::App* command = nullptr;
};

Dataset bench_dataset(const Config& config) {
  if (config.data.empty()) throw UserError("bench: --data is required for this stage (e.g. ../shared/data/trashnet)");
  return select_dataset(config.data, config.split, "train");
}

nlohmann::json bench_decode(const BenchOptions& options) {
  const Dataset dataset = bench_dataset(options.config);
  DecodeOptions decode;
  decode.max_short_side = options.config.effective_decode_short_side();
  const auto start = Clock::now();
  int64_t decoded = 0;
  for (const auto& sample : dataset.samples) {
    decode_image_file(dataset.file(sample), decode);
    ++decoded;
  }
  const double seconds = seconds_since(start);
  return {{"decode_img_per_s", decoded / seconds}, {"images", decoded}, {"short_side", decode.max_short_side}, {"decode_threads", 1}};
}

nlohmann::json bench_augment(const BenchOptions& options) {
  const Config& config = options.config;
  const LoadedDataset data = load_dataset(bench_dataset(config), load_options(config));
  const AugmentConfig augment = augment_config(config);
  const torch::Device device = chosen_device(config.device);
  nlohmann::json result{{"image_size", config.image_size}, {"batch_size", config.batch_size}};
  for (auto [kind, name] : {std::pair{ViewKind::anchor, "anchor"}, {ViewKind::positive, "positive"}, {ViewKind::eval, "eval"}}) {
    int64_t images = 0;
    double seconds = 0;
    for (int64_t step = 0; step < options.warmup + options.steps; ++step) {
      std::vector<std::shared_ptr<const Image>> held;
      std::vector<const Image*> pointers;
      std::vector<uint64_t> seeds;
      for (int i = 0; i < config.batch_size; ++i) {
        const size_t index = (step * config.batch_size + i) % data.cache->size();
        held.push_back(data.cache->get(index));
        pointers.push_back(held.back().get());
        seeds.push_back(mix_seed(config.seed, step, i));
      }
      const ImageBatch batch = pack_images(pointers);
      const auto start = Clock::now();
      const torch::Tensor views = make_view(batch, kind, seeds, augment, device);
      if (device.is_cuda()) torch::cuda::synchronize();
      if (step >= options.warmup) {
        seconds += seconds_since(start);
        images += views.size(0);
      }
    }
    result[std::string(name) + "_img_per_s"] = images / seconds;
  }
  return result;
}

nlohmann::json bench_loader(const BenchOptions& options) {
  const Config& config = options.config;
  const auto load_start = Clock::now();
  const LoadedDataset data = load_dataset(bench_dataset(config), load_options(config));
  const double load_seconds = seconds_since(load_start);
  std::vector<int> labels;
  for (const auto& sample : data.dataset.samples) labels.push_back(sample.label);
  LoaderOptions loader_options;
  loader_options.batch_size = config.batch_size;
  loader_options.drop_last = true;
  loader_options.threads = config.loader_threads;
  loader_options.seed = config.seed;
  BatchLoader loader(data.cache, labels, static_cast<int>(data.dataset.class_names.size()), loader_options);
  const AugmentConfig augment = augment_config(config);
  const torch::Device device = chosen_device(config.device);
  int64_t images = 0, step = 0, epoch = 0;
  Clock::time_point start;
  loader.start_epoch(epoch);
  while (step < options.warmup + options.steps) {
    auto batch = loader.next();
    if (!batch) {
      loader.start_epoch(++epoch);
      continue;
    }
    if (step == options.warmup) start = Clock::now();
    const TwoViewBatch views = make_two_views(*batch, augment, device);
    if (device.is_cuda()) torch::cuda::synchronize();
    if (step >= options.warmup) images += views.labels.size(0);
    ++step;
  }
  return {{"loader_img_per_s", images / seconds_since(start)}, {"views", 2}, {"image_size", config.image_size},
          {"batch_size", config.batch_size}, {"loader_threads", config.loader_threads},
          {"decode_and_cache_seconds", load_seconds}, {"cached_mib", data.cache->bytes_held() / 1048576.0}};
}

nlohmann::json bench_train(const BenchOptions& options) {
  const Config& config = options.config;
  const torch::Device device = chosen_device(config.device);
  const std::string precision = resolve_precision(config.precision, device.is_cuda());
  const AugmentConfig augment = augment_config(config);
  std::shared_ptr<ImageCache> cache;
  std::vector<int> labels;
  std::vector<double> prior;
  if (options.synthetic) {
    prior.assign(6, 1.0 / 6);
  } else {
    LoadedDataset data = load_dataset(bench_dataset(config), load_options(config));
    for (const auto& sample : data.dataset.samples) labels.push_back(sample.label);
    prior = data.dataset.class_prior();
    cache = data.cache;
  }
  torch::manual_seed(config.seed);
  ContrastiveClassifier model(model_options(config, prior));
  model->to(device);
  if (config.channels_last) to_channels_last(*model);
  model->train();
  const std::unique_ptr<torch::optim::SGD> sgd = make_optimizer(model, config, config.lr);
  torch::optim::SGD& optimizer = *sgd;
  set_learning_rate(optimizer, config.lr, config.head_lr_scale);
  std::unique_ptr<BatchLoader> loader;
  if (cache) {
    LoaderOptions loader_options;
    loader_options.batch_size = config.batch_size;
    loader_options.drop_last = true;
    loader_options.threads = config.loader_threads;
    loader = std::make_unique<BatchLoader>(cache, labels, static_cast<int>(prior.size()), loader_options);
    loader->start_epoch(0);
  }
  const auto synthetic_images = torch::randn({config.batch_size, 3, config.image_size, config.image_size}).to(device);
  const auto synthetic_labels = torch::randint(static_cast<int64_t>(prior.size()), {config.batch_size}, torch::kInt64).to(device);
  int64_t images = 0, epoch = 0;
  double data_seconds = 0;
  Clock::time_point start;
  for (int64_t step = 0; step < options.warmup + options.steps; ++step) {
    if (step == options.warmup) {
      if (device.is_cuda()) torch::cuda::synchronize();
      start = Clock::now();
      data_seconds = 0;
    }
    const auto data_start = Clock::now();
    TwoViewBatch views{synthetic_images, config.loss == "ce" ? torch::Tensor() : synthetic_images.flip({3}), synthetic_labels};
    if (loader) {
      auto batch = loader->next();
      if (!batch) {
        loader->start_epoch(++epoch);
        batch = loader->next();
      }
      views = make_two_views(*batch, augment, device, config.loss != "ce");
    }
    if (config.channels_last) views = in_channels_last(std::move(views));
    data_seconds += seconds_since(data_start);
    model->set_step(step, options.warmup + options.steps);
    LossTerms terms;
    {
      AutocastGuard autocast(precision == "bf16", device.is_cuda());
      terms = model->training_loss(views.anchor, views.positive, views.labels);
    }
    optimizer.zero_grad();
    terms.total.backward();
    optimizer.step();
    if (step >= options.warmup) images += views.labels.size(0);
  }
  if (device.is_cuda()) torch::cuda::synchronize();
  const double seconds = seconds_since(start);
  return {{"train_img_per_s", images / seconds}, {"data", options.synthetic ? "synthetic" : "real"},
          {"data_share", data_seconds / seconds}, {"backbone", config.backbone}, {"loss", config.loss},
          {"head", config.head}, {"image_size", config.image_size}, {"batch_size", config.batch_size},
          {"precision", precision}, {"steps", options.steps}, {"peak_rss_mib", peak_rss_mib()}};
}

// ---- predict ------------------------------------------------------------------------------------------

// sorted[min(n - 1, int(f * n))]: the percentile ../shared/bench/peer.py --predict-latency reports.
double percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = std::min(values.size() - 1, static_cast<size_t>(fraction * static_cast<double>(values.size())));
  return values[index];
}

// What the predict bench classifies: image files (the split's test images in file order, whose first is the
// one peer.py times; else the folder's images), or with --synthetic a JPEG made in memory.
struct PredictInputs {
  std::vector<std::filesystem::path> files;
  std::string synthetic_jpeg;
  std::vector<std::string> class_names;  // for a model built from the flags
};

PredictInputs predict_inputs(const BenchOptions& options) {
  const Config& config = options.config;
  PredictInputs inputs;
  if (options.synthetic) {
    inputs.class_names = synth_class_names(6);
    const auto bytes = encode_jpeg(synth_image(0, 512, 384, config.seed));  // TrashNet's photo size
    inputs.synthetic_jpeg.assign(bytes.begin(), bytes.end());
    return inputs;
  }
  if (config.data.empty()) {
    throw UserError("bench predict: give --data DIR [--split FILE] (e.g. ../shared/data/trashnet) or --synthetic");
  }
  if (config.split.empty()) {
    const Dataset dataset = list_image_folder(config.data);
    for (const auto& sample : dataset.samples) inputs.files.push_back(dataset.file(sample));
    inputs.class_names = dataset.class_names;
    return inputs;
  }
  const auto entries = read_split_csv(config.split);
  inputs.class_names = dataset_from_split(config.data, entries, "all", config.split).class_names;
  for (const auto& entry : entries) {
    if (entry.split == "test") inputs.files.push_back(std::filesystem::path(config.data) / entry.path);
  }
  if (inputs.files.empty()) throw UserError("bench predict: " + config.split + " has no test images");
  return inputs;
}

// A randomly initialised model from the flags, as `train` would start it, with the meta a checkpoint carries.
LoadedModel model_from_flags(const Config& config, const std::vector<std::string>& class_names) {
  LoadedModel loaded;
  loaded.config = config;
  loaded.meta.config_toml = config_to_toml(loaded.config);
  loaded.meta.class_names = class_names;
  loaded.meta.class_bins = class_bins(class_names, config.bins);
  loaded.meta.image_size = config.image_size;
  torch::manual_seed(static_cast<int64_t>(config.seed));
  const std::vector<double> uniform(class_names.size(), 1.0 / static_cast<double>(class_names.size()));
  loaded.model = ContrastiveClassifier(model_options(config, uniform));
  return loaded;
}

nlohmann::json bench_predict(const BenchOptions& options) {
  const Config& config = options.config;
  const torch::Device device = chosen_device(config.device);
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);  // fixed input sizes, as peer.py does on CUDA
  const PredictInputs inputs = predict_inputs(options);
  PredictorOptions predictor_options;
  predictor_options.fold_batch_norm = options.fold_batch_norm;
  predictor_options.fuse_backbone = options.fuse_backbone;
  predictor_options.layout = options.layout;
  predictor_options.int8 = options.int8;
  // --flip-test given, or the model is built from the flags: the flag's value; else the checkpoint's.
  if (options.model.empty() || options.command->get_option("--flip-test")->count() > 0) {
    predictor_options.flip_test = config.flip_test;
  }
  const auto load_start = Clock::now();
  std::unique_ptr<Predictor> predictor =
      options.model.empty()
          ? std::make_unique<Predictor>(model_from_flags(config, inputs.class_names), device, predictor_options)
          : std::make_unique<Predictor>(options.model, device, predictor_options);
  const double load_seconds = seconds_since(load_start);
  auto decode_one = [&](size_t index) {
    return inputs.files.empty() ? predictor->decode_bytes(inputs.synthetic_jpeg, "synthetic.jpg")
                                : predictor->decode_file(inputs.files[index % inputs.files.size()]);
  };

  // Batch 1, one image again and again (as peer.py): every step of `predict` on a file, timed one by one.
  std::vector<double> decode_ms, transform_ms, model_ms, total_ms;
  for (int64_t step = 0; step < options.warmup + options.steps; ++step) {
    const auto start = Clock::now();
    const Image image = decode_one(0);
    const auto decoded = Clock::now();
    const torch::Tensor view = predictor->transform({&image});  // [1,3,S,S]
    if (device.is_cuda()) torch::cuda::synchronize();
    const auto transformed = Clock::now();
    const BatchOutputs outputs = predictor->forward(view);      // copied to the CPU: synchronised
    const auto forwarded = Clock::now();
    const std::vector<Prediction> records = predictor->predictions(outputs, 3);
    const auto done = Clock::now();
    if (step < options.warmup) continue;
    auto ms = [](Clock::time_point from, Clock::time_point to) { return std::chrono::duration<double, std::milli>(to - from).count(); };
    decode_ms.push_back(ms(start, decoded));
    transform_ms.push_back(ms(decoded, transformed));
    model_ms.push_back(ms(transformed, forwarded));
    total_ms.push_back(ms(start, done));
  }

  // Batched: --batch-size decoded images per call of predict() (transform + forward + top-k), decode excluded.
  double batch_img_per_s = 0;
  if (options.batch_steps > 0) {
    std::vector<Image> images;
    for (int i = 0; i < config.batch_size; ++i) images.push_back(decode_one(static_cast<size_t>(i)));
    std::vector<const Image*> pointers;
    for (const Image& image : images) pointers.push_back(&image);
    predictor->predict(pointers, 3);  // warm-up: oneDNN and cuDNN pick their kernels for this batch size
    const auto start = Clock::now();
    for (int64_t step = 0; step < options.batch_steps; ++step) predictor->predict(pointers, 3);
    batch_img_per_s = static_cast<double>(config.batch_size * options.batch_steps) / seconds_since(start);
  }

  const InferenceModel& inference = predictor->inference();
  return {{"predict_ms_p50", percentile(total_ms, 0.5)}, {"predict_ms_p90", percentile(total_ms, 0.9)},
          {"predict_ms_p99", percentile(total_ms, 0.99)}, {"model_ms_p50", percentile(model_ms, 0.5)},
          {"model_ms_p90", percentile(model_ms, 0.9)}, {"model_ms_p99", percentile(model_ms, 0.99)},
          {"decode_ms_p50", percentile(decode_ms, 0.5)}, {"transform_ms_p50", percentile(transform_ms, 0.5)},
          {"predict_img_per_s", batch_img_per_s}, {"batch_size", config.batch_size},
          {"samples", options.steps}, {"fold_batch_norm", inference.folded() || inference.fused()},
          {"folded_pairs", inference.folded_pairs()},
          {"backbone_path", inference.backbone_path()}, {"flip_test", predictor->flip_test()},
          {"backbone", predictor->config().backbone}, {"image_size", predictor->config().image_size},
          {"classes", predictor->meta().class_names.size()}, {"model", options.model.empty() ? "random" : options.model},
          {"images", options.synthetic ? "synthetic" : inputs.files.front().string()}, {"load_seconds", load_seconds}};
}

void run_bench(BenchOptions& options) {
  options.binding->resolve();
  if (options.binding->printed()) return;
  set_compute_threads(options.config.threads);
  nlohmann::json result;
  if (options.stage == "decode") result = bench_decode(options);
  if (options.stage == "augment") result = bench_augment(options);
  if (options.stage == "loader") result = bench_loader(options);
  if (options.stage == "train") result = bench_train(options);
  if (options.stage == "predict") result = bench_predict(options);
  result["stage"] = options.stage;
  result["threads"] = at::get_num_threads();
  result["device"] = options.config.device;
  result["peak_rss_mib"] = peak_rss_mib();
  if (options.json) {
    std::cout << result.dump() << '\n';
  } else {
    for (const auto& [key, value] : result.items()) std::cout << fmt::format("{:<26} {}\n", key, value.dump());
  }
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* command = app.add_subcommand("bench", "throughput and latency: decode, augment, loader, train, predict");
  options->command = command;
  command->add_option("STAGE", options->stage, "decode, augment, loader, train or predict")
      ->required()
      ->check(CLI::IsMember({"decode", "augment", "loader", "train", "predict"}));
  add_number_option(*command, "--steps", options->steps, "measured steps (batches; predict: single-image predictions)");
  add_number_option(*command, "--warmup", options->warmup, "unmeasured steps first");
  command->add_flag("--synthetic", options->synthetic,
                    "train: random tensors instead of --data; predict: a synthetic 512x384 JPEG");
  command->add_option("--model", options->model, "predict: checkpoint to load (default: a random model from the flags)")
      ->group("predict");
  add_number_option(*command, "--batch-steps", options->batch_steps, "predict: timed calls of --batch-size images (0: none)")
      ->group("predict");
  command->add_flag("--fold-batch-norm", options->fold_batch_norm, "predict: fold BN into the convs (=false: off)")
      ->capture_default_str()
      ->group("predict");
  command->add_flag("--fuse-backbone", options->fuse_backbone,
                    "predict: run the backbone as fused convs without BN calls (=false: the module forward)")
      ->capture_default_str()
      ->group("predict");
  command->add_option("--layout", options->layout, "predict: fused backbone layout: auto, mkldnn, channels-last, contiguous")
      ->capture_default_str()
      ->group("predict");
  add_int8_options(*command, options->int8);
  command->get_option("--int8-calibration")->group("predict");
  command->get_option("--int8-calibration-images")->group("predict");
  command->add_flag("--json", options->json, "one JSON document on stdout");
  options->binding = std::make_unique<ConfigBinding>(
      *command, options->config, std::vector<std::string>{"data", "augment", "model", "train", "runtime"});
  command->callback([options] { run_bench(*options); });
}

}  // namespace trashcl
