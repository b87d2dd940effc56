// trashcl augment-preview: a PNG grid showing, for N images, the eval crop, anchor views and positive views.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/config_cli.h"
#include "common/device.h"
#include "common/error.h"
#include "common/random.h"
#include "data/augment.h"
#include "data/dataset.h"
#include "data/encode.h"
#include "data/image_cache.h"
#include "train/batch_mix.h"
#include "train/options.h"

namespace trashcl {
namespace {

constexpr int kViewsPerKind = 2;  // columns: eval | anchor x2 | positive x2
constexpr int kGap = 4;

void paste(Image& canvas, const Image& tile, int left, int top) {
  for (int y = 0; y < tile.height; ++y) {
    std::copy(tile.row(y), tile.row(y) + tile.width * 3, canvas.row(top + y) + left * 3);
  }
}

void run_augment_preview(Config config, const std::string& out, int count) {
  set_compute_threads(config.threads);
  Dataset dataset = select_dataset(config.data, config.split, "train");
  // Pick `count` samples spread over the classes, reproducibly from the seed.
  SplitMix64 rng(config.seed);
  std::vector<Sample> picked = dataset.samples;
  shuffle(picked, rng);
  std::stable_sort(picked.begin(), picked.end(), [](const Sample& a, const Sample& b) { return a.label < b.label; });
  std::vector<Sample> chosen;
  const size_t stride = std::max<size_t>(1, picked.size() / count);
  for (size_t i = 0; i < picked.size() && static_cast<int>(chosen.size()) < count; i += stride) chosen.push_back(picked[i]);
  dataset.samples = chosen;

  LoadOptions load = load_options(config);
  load.require_every_class = false;  // --n may be below the number of classes: the preview shows what it picked
  const LoadedDataset loaded = load_dataset(dataset, load);
  if (loaded.dataset.samples.empty()) {
    throw UserError(fmt::format("{}: none of the {} images picked could be read (see the warnings above)", config.data,
                                dataset.samples.size()));
  }
  std::vector<std::shared_ptr<const Image>> images;
  std::vector<const Image*> pointers;
  for (size_t i = 0; i < loaded.dataset.samples.size(); ++i) {
    images.push_back(loaded.cache->get(i));
    pointers.push_back(images.back().get());
  }
  const ImageBatch batch = pack_images(pointers);
  const AugmentConfig augment = augment_config(config);
  const torch::Device device = chosen_device(config.device);

  const int rows = static_cast<int>(pointers.size()), columns = 1 + 2 * kViewsPerKind, side = config.image_size;
  Image canvas((side + kGap) * columns + kGap, (side + kGap) * rows + kGap);
  std::fill(canvas.pixels.begin(), canvas.pixels.end(), uint8_t{255});
  torch::manual_seed(config.seed);  // the mixing draws
  // The last anchor column shows its views mixed among the preview's rows as training batches are mixed: CutMixed
  // when cutmix_p > 0 (that share of the batches), mixed up when only mixup_alpha > 0 (every batch).
  enum class ShownMix { none, cutmix, mixup };
  const ShownMix shown_mix = config.cutmix_p > 0      ? ShownMix::cutmix
                             : config.mixup_alpha > 0 ? ShownMix::mixup
                                                      : ShownMix::none;
  auto draw_column = [&](ViewKind kind, int column, uint64_t salt, ShownMix column_mix = ShownMix::none) {
    std::vector<uint64_t> seeds;
    for (int row = 0; row < rows; ++row) seeds.push_back(mix_seed(config.seed, salt, static_cast<uint64_t>(row)));
    torch::Tensor views = make_view(batch, kind, seeds, augment, device);  // [rows,3,S,S]
    const auto row_labels = torch::arange(rows, torch::TensorOptions(torch::kInt64).device(device));  // [rows]
    if (column_mix == ShownMix::cutmix) views = cutmix(views, row_labels).images;
    if (column_mix == ShownMix::mixup) views = mixup(views, row_labels, config.mixup_alpha).images;
    for (int row = 0; row < rows; ++row) {
      paste(canvas, view_to_image(views[row], augment), kGap + column * (side + kGap), kGap + row * (side + kGap));
    }
  };
  draw_column(ViewKind::eval, 0, 0);
  for (int k = 0; k < kViewsPerKind; ++k) {
    draw_column(ViewKind::anchor, 1 + k, 1 + k, k + 1 == kViewsPerKind ? shown_mix : ShownMix::none);
    draw_column(ViewKind::positive, 1 + kViewsPerKind + k, 1 + k);
  }
  write_png(out, canvas);
  std::string mix_note;
  if (shown_mix == ShownMix::cutmix) {
    mix_note = fmt::format(" (the last CutMixed, as {:g} of the training batches are{})", config.cutmix_p,
                           config.mixup_alpha > 0 ? "; the others are mixed up" : "");
  } else if (shown_mix == ShownMix::mixup) {
    mix_note = fmt::format(" (the last mixed up with alpha {:g}, as every training batch is)", config.mixup_alpha);
  }
  std::cout << fmt::format("wrote {}: {} images; columns: eval crop | {} anchor views{} | {} positive views\n", out,
                           rows, kViewsPerKind, mix_note, kViewsPerKind);
}

}  // namespace

void add_augment_preview_command(CLI::App& app) {
  struct Options {
    Config config;
    std::string out;
    int count = 8;
    std::unique_ptr<ConfigBinding> binding;
  };
  auto options = std::make_shared<Options>();
  options->config.image_size = 160;
  CLI::App* command = app.add_subcommand("augment-preview", "a PNG grid of anchor and positive views for a person to look at");
  command->add_option("--out", options->out, "PNG file to write")->required();
  command->add_option("--n", options->count, "number of images (rows)")->capture_default_str()->check(CLI::Range(1, 64));
  options->binding = std::make_unique<ConfigBinding>(*command, options->config, std::vector<std::string>{"data", "augment", "runtime"});
  command->callback([options] {
    options->binding->resolve();
    if (options->binding->printed()) return;
    if (options->config.data.empty()) throw UserError("augment-preview: --data is required (a <class>/<image> folder)");
    run_augment_preview(options->config, options->out, options->count);
  });
}

}  // namespace trashcl
