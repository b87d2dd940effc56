// trashcl bench: throughput and latency of each stage, measured the way training and serving use them.
//   decode   JPEG/PNG decode to the cache size, one thread
//   augment  each view, batched, from decoded images
//   loader   the two-view pipeline end to end: loader threads + both views
//   train    full training steps (model, loss, optimizer) on real or synthetic data
//   predict  single-image latency: decode + eval transform + forward
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <chrono>
#include <iostream>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "common/error.h"
#include "common/random.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/options.h"
#include "train/precision.h"

namespace trashcl {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

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
  std::unique_ptr<ConfigBinding> binding;
};

Dataset bench_dataset(const Config& config) {
  if (config.data.empty()) throw UserError("bench: --data is required for this stage (e.g. ../shared/data/trashnet)");
  return config.split.empty() ? list_image_folder(config.data)
                              : dataset_from_split(config.data, read_split_csv(config.split), "train");
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
  const torch::Device device(config.device);
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
  const torch::Device device(config.device);
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
  const torch::Device device(config.device);
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
  model->train();
  torch::optim::SGD optimizer(model->trainable_parameters(),
                              torch::optim::SGDOptions(config.lr).momentum(config.sgd_momentum).weight_decay(config.weight_decay));
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
    data_seconds += seconds_since(data_start);
    model->set_step(step);
    LossTerms terms;
    {
      AutocastGuard autocast(config.precision == "bf16", device.is_cuda());
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
          {"precision", config.precision}, {"steps", options.steps}, {"peak_rss_mib", peak_rss_mib()}};
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
  CLI::App* command = app.add_subcommand("bench", "throughput and latency: decode, augment, loader, train");
  command->add_option("stage", options->stage, "decode, augment, loader or train")
      ->required()
      ->check(CLI::IsMember({"decode", "augment", "loader", "train"}));
  command->add_option("--steps", options->steps, "measured steps (batches)")->capture_default_str();
  command->add_option("--warmup", options->warmup, "unmeasured steps first")->capture_default_str();
  command->add_flag("--synthetic", options->synthetic, "train: random tensors instead of --data");
  command->add_flag("--json", options->json, "one JSON document on stdout");
  options->binding = std::make_unique<ConfigBinding>(
      *command, options->config, std::vector<std::string>{"data", "augment", "model", "train", "runtime"});
  command->callback([options] { run_bench(*options); });
}

}  // namespace trashcl
