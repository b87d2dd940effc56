#include "infer/predictor.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/error.h"
#include "data/dataset.h"
#include "model/binary_code.h"
#include "model/copy_model.h"
#include "train/options.h"

namespace trashcl {
Predictor::Predictor(const std::filesystem::path& checkpoint, torch::Device device)
    : Predictor(checkpoint, device, PredictorOptions{}) {}

Predictor::Predictor(const std::filesystem::path& checkpoint, torch::Device device, const PredictorOptions& options)
    : loaded_(load_checkpoint(checkpoint, device, options.load)) {
  prepare(device, options);
}

Predictor::Predictor(LoadedModel loaded, torch::Device device, const PredictorOptions& options)
    : loaded_(std::move(loaded)) {
  if (loaded_.model.ptr().use_count() > 1) loaded_.model = copy_model(loaded_.model);
  loaded_.model->to(device);
  prepare(device, options);
}

void Predictor::prepare(const torch::Device& device, const PredictorOptions& options) {
  eval_.augment = inference_augment(loaded_);
  eval_.device = device;
  eval_.flip_test = options.flip_test.value_or(loaded_.config.flip_test);
  decode_.max_short_side = loaded_.config.effective_decode_short_side();
  InferenceOptions inference = options;
  if (!options.int8.folder.empty()) {
    require_int8_supported(inference, device);  // before the calibration images are decoded
    inference.int8_calibration = calibration_views(options.int8);
  }
  inference_ = std::make_unique<InferenceModel>(loaded_.model, inference);
}

torch::Tensor Predictor::calibration_views(const Int8Calibration& calibration) const {
  if (calibration.images < 1) {
    throw UserError(fmt::format("--int8-calibration-images {}: use 1 or more", calibration.images));
  }
  const Dataset dataset = list_image_folder(calibration.folder, "--int8-calibration");
  const size_t total = dataset.samples.size();
  const size_t wanted = std::min(total, static_cast<size_t>(calibration.images));
  std::vector<torch::Tensor> views;  // each [1,3,S,S]
  for (size_t i = 0; i < wanted; ++i) {
    const std::filesystem::path file = dataset.file(dataset.samples[i * total / wanted]);
    try {
      const Image image = decode_file(file);
      views.push_back(transform({&image}).cpu());
    } catch (const BadImageError& error) {
      spdlog::warn("{}: not used for int8 calibration: {}", file.string(), error.reason());
    }
  }
  if (views.empty()) {
    throw UserError(fmt::format("{}: none of its images could be read for int8 calibration", calibration.folder));
  }
  return torch::cat(views);  // [M,3,S,S]
}

Image Predictor::decode_file(const std::filesystem::path& path) const { return decode_image_file(path, decode_); }

Image Predictor::decode_bytes(const std::string& bytes, const std::string& name) const {
  return decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), name, decode_);
}

bool Predictor::has_hash() const { return loaded_.config.features == "hash"; }

int64_t Predictor::hash_bits() const { return has_hash() ? loaded_.config.hash_bits : 0; }

torch::Tensor Predictor::transform(const std::vector<const Image*>& images) const {
  const std::vector<uint64_t> seeds(images.size(), 0);  // the eval transform draws nothing
  return make_view(pack_images(images), ViewKind::eval, seeds, eval_.augment, eval_.device);  // [B,3,S,S]
}

BatchOutputs Predictor::forward(const torch::Tensor& images) const { return inference_->forward(images, eval_.flip_test); }

std::vector<Prediction> Predictor::predictions(const BatchOutputs& outputs, int top_k) const {
  const auto& names = loaded_.meta.class_names;
  const int64_t batch = outputs.logits.size(0);
  const int64_t k = std::clamp<int64_t>(top_k, 1, static_cast<int64_t>(names.size()));
  const auto [top_probabilities, top_classes] = outputs.logits.softmax(1).topk(k, 1);  // [B,k], [B,k]
  const auto probabilities = top_probabilities.to(torch::kFloat64).contiguous();
  const auto classes = top_classes.contiguous();
  const auto probability_at = probabilities.accessor<double, 2>();
  const auto class_at = classes.accessor<int64_t, 2>();
  torch::Tensor words;  // [B,W] int64
  if (outputs.codes.defined()) words = binary_code(outputs.codes).contiguous();
  std::vector<Prediction> records(static_cast<size_t>(batch));
  for (int64_t row = 0; row < batch; ++row) {
    Prediction& record = records[static_cast<size_t>(row)];
    for (int64_t j = 0; j < k; ++j) record.top.push_back({names[class_at[row][j]], probability_at[row][j]});
    record.bin = loaded_.meta.class_bins[class_at[row][0]];
    if (words.defined()) {
      const int64_t* begin = words[row].data_ptr<int64_t>();
      record.code_words.assign(begin, begin + words.size(1));
      record.hash = hex_words(record.code_words);
    }
  }
  return records;
}

std::vector<Prediction> Predictor::predict(const std::vector<const Image*>& images, int top_k) {
  if (images.empty()) return {};
  return predictions(forward(transform(images)), top_k);
}

std::string hex_words(const std::vector<int64_t>& words) {
  std::string hex;
  for (int64_t word : words) hex += fmt::format("{:016x}", static_cast<uint64_t>(word));
  return hex;
}

}  // namespace trashcl
