// The Predictor's fast path (folded BN, fused backbone, one encoder pass) against training's infer_batch.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/error.h"
#include "data/encode.h"
#include "infer/predictor.h"
#include "infer/quantized_backbone.h"
#include "model/backbone.h"
#include "support/test_support.h"
#include "train/bins.h"
#include "train/options.h"

namespace trashcl {
namespace {

Config small_config(const std::string& backbone, bool flip_test) {
  Config config;
  config.backbone = backbone;
  config.image_size = backbone == "tiny" ? 32 : 64;
  config.hash_bits = 16;
  config.decoder_width = 32;
  config.queue_size = 16;
  config.flip_test = flip_test;
  return config;
}

// A model as training would leave it: BN statistics and affine parts far from their initial identity.
LoadedModel random_model(const Config& config) {
  LoadedModel loaded;
  loaded.config = config;
  loaded.meta.class_names = {"cardboard", "glass", "trash"};
  loaded.meta.class_bins = class_bins(loaded.meta.class_names, "");
  loaded.meta.image_size = config.image_size;
  torch::manual_seed(11);
  loaded.model = ContrastiveClassifier(model_options(config, {0.5, 0.3, 0.2}));
  torch::NoGradGuard no_grad;
  for (const auto& module : loaded.model->modules(/*include_self=*/false)) {
    if (auto* norm = module->as<torch::nn::BatchNorm2dImpl>()) {
      norm->weight.uniform_(0.5, 1.5);
      norm->bias.normal_(0, 0.2);
      norm->running_mean.normal_(0, 0.2);
      norm->running_var.uniform_(0.5, 2.0);
    }
  }
  loaded.model->eval();
  return loaded;
}

std::vector<Image> test_images() { return {testing::make_test_image(96, 72, 1), testing::make_test_image(60, 80, 2)}; }

std::vector<const Image*> pointers(const std::vector<Image>& images) {
  std::vector<const Image*> out;
  for (const Image& image : images) out.push_back(&image);
  return out;
}

// What `eval` and the trainer compute: infer_batch on the model as trained (separate passes, BNs in place).
BatchOutputs reference_outputs(LoadedModel& loaded, const std::vector<Image>& images, const torch::Device& device) {
  EvalOptions eval;
  eval.augment = augment_config(loaded.config);
  eval.device = device;
  eval.flip_test = loaded.config.flip_test;
  return infer_batch(loaded.model, pack_images(pointers(images)), eval, /*with_codes=*/true);
}

void expect_close(const torch::Tensor& actual, const torch::Tensor& expected, double tolerance, const std::string& what) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  const double scale = std::max(1.0, expected.abs().max().item<double>());
  const double error = (actual - expected).abs().max().item<double>();
  EXPECT_LE(error, tolerance * scale) << what << ": max error " << error;
}

class PredictorEveryBackbone : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(PredictorEveryBackbone, FastPathMatchesInferBatch) {
  const auto [backbone, flip_test] = GetParam();
  LoadedModel loaded = random_model(small_config(backbone, flip_test));
  const auto images = test_images();
  const BatchOutputs expected = reference_outputs(loaded, images, torch::kCPU);

  Predictor predictor(loaded, torch::kCPU, PredictorOptions{});
  EXPECT_TRUE(predictor.inference().fused()) << backbone << ": FusedBackbone::compile does not know this backbone";
  EXPECT_GT(predictor.inference().folded_pairs(), 0);
  EXPECT_EQ(predictor.flip_test(), flip_test);
  const BatchOutputs actual = predictor.forward(predictor.transform(pointers(images)));
  expect_close(actual.logits, expected.logits, 1e-4, backbone + " logits");
  expect_close(actual.codes, expected.codes, 1e-4, backbone + " codes");
}

INSTANTIATE_TEST_SUITE_P(Predictor, PredictorEveryBackbone,
                         ::testing::Combine(::testing::ValuesIn(backbone_names()), ::testing::Bool()),
                         [](const auto& info) {
                           return std::get<0>(info.param) + (std::get<1>(info.param) ? "_flip" : "_single");
                         });

TEST(Predictor, EveryHeadMatchesInferBatch) {
  for (const std::string head : {"decoder", "linear", "linear+decoder"}) {
    Config config = small_config("tiny", false);
    config.head = head;
    LoadedModel loaded = random_model(config);
    {
      torch::NoGradGuard no_grad;  // every head parameter away from its initial value (linear+decoder's zero group FC)
      for (auto& parameter : loaded.model->head_parameters()) parameter.normal_(0, 0.3);
    }
    const auto images = test_images();
    const BatchOutputs expected = reference_outputs(loaded, images, torch::kCPU);
    Predictor predictor(loaded, torch::kCPU, PredictorOptions{});
    const BatchOutputs actual = predictor.forward(predictor.transform(pointers(images)));
    expect_close(actual.logits, expected.logits, 1e-4, head + " logits");
  }
}

// The input normalisation comes from the checkpoint: a model stored with other mean/std gets inputs normalised
// with those.
TEST(Predictor, NormalisesWithTheCheckpointsMeanAndStd) {
  LoadedModel loaded = random_model(small_config("tiny", false));
  const auto images = test_images();
  const torch::Tensor usual = Predictor(loaded, torch::kCPU, PredictorOptions{}).transform(pointers(images));
  const CheckpointMeta defaults;
  loaded.meta.mean = {0.5f, 0.4f, 0.3f};
  loaded.meta.std = {0.2f, 0.3f, 0.25f};
  const torch::Tensor stored = Predictor(loaded, torch::kCPU, PredictorOptions{}).transform(pointers(images));
  auto channels = [](const std::array<float, 3>& values) {
    return torch::tensor({values[0], values[1], values[2]}).view({1, 3, 1, 1});
  };
  const torch::Tensor expected = (usual * channels(defaults.std) + channels(defaults.mean) - channels(loaded.meta.mean)) /
                                 channels(loaded.meta.std);  // [B,3,S,S]
  expect_close(stored, expected, 1e-5, "inputs");
}

TEST(Predictor, EveryPathAndLayoutGivesTheSameOutputs) {
  LoadedModel loaded = random_model(small_config("resnet18", false));
  const auto images = test_images();
  const BatchOutputs expected = reference_outputs(loaded, images, torch::kCPU);
  std::vector<std::string> layouts = {"auto", "contiguous", "channels-last"};
  if (at::hasMKLDNN()) layouts.push_back("mkldnn");
  for (bool fold : {true, false}) {
    for (bool fuse : {true, false}) {
      for (const auto& layout : layouts) {
        PredictorOptions options;
        options.fold_batch_norm = fold;
        options.fuse_backbone = fuse;
        options.layout = layout;
        Predictor predictor(loaded, torch::kCPU, options);
        const std::string what = "fold " + std::to_string(fold) + " fuse " + std::to_string(fuse) + " " + layout;
        EXPECT_EQ(predictor.inference().fused(), fuse) << what;
        EXPECT_EQ(predictor.inference().folded(), fold) << what;
        const BatchOutputs actual = predictor.forward(predictor.transform(pointers(images)));
        expect_close(actual.logits, expected.logits, 1e-4, what + " logits");
        expect_close(actual.codes, expected.codes, 1e-4, what + " codes");
      }
    }
  }
}

TEST(Predictor, FoldsACopyWhenTheCallerKeepsTheModelAndTheModelItselfWhenHandedOver) {
  LoadedModel loaded = random_model(small_config("tiny", false));
  std::vector<torch::Tensor> before;
  for (const auto& tensor : loaded.model->parameters()) before.push_back(tensor.clone());
  for (const auto& tensor : loaded.model->buffers()) before.push_back(tensor.clone());

  Predictor copied(loaded, torch::kCPU, PredictorOptions{});
  EXPECT_NE(copied.model().ptr(), loaded.model.ptr());
  std::vector<torch::Tensor> after = loaded.model->parameters();
  for (const auto& tensor : loaded.model->buffers()) after.push_back(tensor);
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(before[i].equal(after[i])) << "tensor " << i << " changed";

  const auto* original = loaded.model.ptr().get();
  Predictor moved(std::move(loaded), torch::kCPU, PredictorOptions{});
  EXPECT_EQ(moved.model().ptr().get(), original);
}

// predict_prior is applied when the checkpoint is loaded: a PaCo model trained to predict with the training
// prior predicts with balanced scores on request, without retraining, and the logits differ by log(pi).
TEST(Predictor, PredictPriorCanBeChosenWhenLoading) {
  LoadedModel loaded = random_model(small_config("tiny", false));  // paco, prior {0.5, 0.3, 0.2}
  ASSERT_EQ(loaded.config.loss, "paco");
  ASSERT_EQ(loaded.config.predict_prior, "train");
  loaded.meta.config_toml = config_to_toml(loaded.config);
  loaded.meta.train_class_counts = {50, 30, 20};
  testing::TempDir dir;
  const auto checkpoint = dir / "model.ckpt";
  save_checkpoint(checkpoint, loaded.model, nullptr, loaded.meta);

  const auto images = test_images();
  auto logits_with = [&](const std::optional<std::string>& predict_prior, const std::string& expected) {
    PredictorOptions options;
    options.load.predict_prior = predict_prior;
    Predictor predictor(checkpoint, torch::kCPU, options);
    EXPECT_EQ(predictor.config().predict_prior, expected);
    return predictor.forward(predictor.transform(pointers(images))).logits;  // [2,3]
  };
  const auto natural = logits_with(std::nullopt, "train"), balanced = logits_with("uniform", "uniform");
  const auto log_prior = torch::tensor({0.5f, 0.3f, 0.2f}).log().unsqueeze(0).expand({2, 3});  // [2,3]
  EXPECT_TRUE(torch::allclose(natural - balanced, log_prior, 1e-4, 1e-4)) << natural - balanced;
  EXPECT_TRUE(torch::allclose(logits_with("train", "train"), natural));
}

TEST(Predictor, RecordsCarryTopClassesBinAndHash) {
  LoadedModel loaded = random_model(small_config("tiny", true));
  Predictor predictor(std::move(loaded), torch::kCPU, PredictorOptions{});
  const auto images = test_images();
  const auto records = predictor.predict(pointers(images), 5);  // clamped to the 3 classes
  ASSERT_EQ(records.size(), 2u);
  for (const Prediction& record : records) {
    ASSERT_EQ(record.top.size(), 3u);
    EXPECT_GE(record.top[0].prob, record.top[1].prob);
    EXPECT_GE(record.top[1].prob, record.top[2].prob);
    EXPECT_EQ(record.bin, record.top[0].name == "trash" ? "other" : "recyclable");
    EXPECT_EQ(record.hash.size(), 16u);  // 16 bits -> one 64-bit word
    EXPECT_EQ(record.code_words.size(), 1u);
  }
  EXPECT_TRUE(predictor.predict({}, 3).empty());
}

// Eval-transformed views [M,3,S,S] of generated images with seeds first..first+count-1.
torch::Tensor generated_views(const Predictor& predictor, uint32_t first, int count) {
  std::vector<Image> images;
  for (int i = 0; i < count; ++i) images.push_back(testing::make_test_image(80 + 4 * i, 64, first + i));
  return predictor.transform(pointers(images));
}

double relative_error(const torch::Tensor& actual, const torch::Tensor& expected) {
  return ((actual - expected).norm() / expected.norm()).item<double>();
}

// int8 backbone against the float one it was made from, on images it was not calibrated on: per-channel
// int8 weights and 7-bit activations keep every feature map within 10% (measured: 0.6-5.8%).
TEST(QuantizedBackbone, FollowsTheFloatBackboneOnImagesOutsideTheCalibrationSet) {
  for (const std::string backbone : {"tiny", "resnet18"}) {
    LoadedModel loaded = random_model(small_config(backbone, false));
    Predictor predictor(loaded, torch::kCPU, PredictorOptions{});
    const auto module = loaded.model->encoder()->named_children()["backbone"];
    const auto folded = FusedBackbone::compile(*module, torch::kCPU, TensorLayout::contiguous);
    ASSERT_NE(folded, nullptr) << backbone;
    const auto quantized = QuantizedBackbone::compile(*folded, generated_views(predictor, 100, 8));
    EXPECT_FALSE(quantized->engine().empty());

    torch::NoGradGuard no_grad;
    const torch::Tensor held_out = generated_views(predictor, 200, 3);  // [3,3,S,S]
    const BackboneFeatures expected = folded->forward(held_out), actual = quantized->forward(held_out);
    const std::vector<std::pair<std::string, std::pair<torch::Tensor, torch::Tensor>>> maps = {
        {"C3", {actual.c3, expected.c3}}, {"C4", {actual.c4, expected.c4}}, {"C5", {actual.c5, expected.c5}}};
    for (const auto& [name, pair] : maps) {
      ASSERT_EQ(pair.first.sizes(), pair.second.sizes()) << backbone << " " << name;
      EXPECT_FALSE(pair.first.is_quantized()) << backbone << " " << name;
      EXPECT_LT(relative_error(pair.first, pair.second), 0.1) << backbone << " " << name;
    }
  }
}

TEST(QuantizedBackbone, NeedsCalibrationImages) {
  LoadedModel loaded = random_model(small_config("tiny", false));
  const auto module = loaded.model->encoder()->named_children()["backbone"];
  const auto folded = FusedBackbone::compile(*module, torch::kCPU, TensorLayout::contiguous);
  EXPECT_THROW(QuantizedBackbone::compile(*folded, torch::zeros({0, 3, 32, 32})), UserError);
  EXPECT_THROW(QuantizedBackbone::compile(*folded, torch::Tensor()), UserError);
}

// --int8-calibration FOLDER: the predictor calibrates on the folder's images, skipping unreadable ones, and
// predicts what the float predictor predicts.
TEST(Predictor, Int8CalibratesOnAFolderAndFollowsTheFloatPredictions) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir / "data" / "glass");
  std::filesystem::create_directories(dir / "data" / "trash");
  for (uint32_t i = 0; i < 4; ++i) {
    write_jpeg(dir / "data" / "glass" / ("g" + std::to_string(i) + ".jpg"), testing::make_test_image(90, 70, 300 + i));
    write_png(dir / "data" / "trash" / ("t" + std::to_string(i) + ".png"), testing::make_test_image(70, 90, 400 + i));
  }
  testing::write_bytes(dir / "data" / "glass" / "broken.jpg", "\xFF\xD8\xFF truncated");
  const LoadedModel loaded = random_model(small_config("resnet18", true));
  PredictorOptions options;
  options.int8.folder = (dir / "data").string();
  Predictor int8(loaded, torch::kCPU, options);
  Predictor float32(loaded, torch::kCPU, PredictorOptions{});
  EXPECT_EQ(int8.inference().backbone_path(), "int8");

  const torch::Tensor views = generated_views(float32, 500, 4);  // [4,3,S,S]
  const torch::Tensor expected = float32.forward(views).logits, actual = int8.forward(views).logits;  // [4,3]
  EXPECT_LT(relative_error(actual.softmax(1), expected.softmax(1)), 0.05) << actual << expected;

  options.int8.folder = (dir / "missing").string();
  EXPECT_THROW(
      {
        try {
          Predictor failing(loaded, torch::kCPU, options);
        } catch (const UserError& error) {
          const std::string message = error.what();
          EXPECT_NE(message.find("missing"), std::string::npos) << message;
          EXPECT_NE(message.find("--int8-calibration wants"), std::string::npos) << message;
          throw;
        }
      },
      UserError);
  testing::write_bytes(dir / "broken" / "glass" / "a.jpg", "\xFF\xD8\xFF truncated");
  options.int8.folder = (dir / "broken").string();
  EXPECT_THROW(Predictor(loaded, torch::kCPU, options), UserError);
  // Options int8 cannot run with are refused before the folder is read: a missing folder is not what is reported.
  options.int8.folder = (dir / "missing").string();
  options.fuse_backbone = false;
  try {
    Predictor failing(loaded, torch::kCPU, options);
    ADD_FAILURE() << "int8 without the fused backbone was accepted";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("quantises the fused backbone"), std::string::npos) << error.what();
  }
}

TEST(Predictor, CudaMatchesTheCpuReference) {
  if (!torch::cuda::is_available()) {
    GTEST_SKIP() << "no CUDA device: the CUDA inference path did not run (scripts/gpu-check.sh runs it on a GPU)";
  }
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setAllowTF32CuBLAS(false);
  for (const std::string backbone : {"tiny", "resnet18"}) {
    LoadedModel loaded = random_model(small_config(backbone, true));
    const auto images = test_images();
    const BatchOutputs expected = reference_outputs(loaded, images, torch::kCPU);
    Predictor predictor(loaded, torch::Device(torch::kCUDA), PredictorOptions{});
    EXPECT_EQ(predictor.inference().backbone_path(), "channels-last");
    const BatchOutputs actual = predictor.forward(predictor.transform(pointers(images)));
    expect_close(actual.logits, expected.logits, 1e-3, backbone + " logits");
    expect_close(actual.codes, expected.codes, 1e-3, backbone + " codes");
  }
}

}  // namespace
}  // namespace trashcl
