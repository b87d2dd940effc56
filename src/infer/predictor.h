// One loaded model ready to classify images: the inference path shared by `predict`, `serve` and `search`.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/decode.h"
#include "data/image.h"
#include "infer/inference_model.h"
#include "infer/int8_calibration.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"

namespace trashcl {

struct ClassProbability {
  std::string name;
  double prob = 0;
};

struct Prediction {
  std::vector<ClassProbability> top;  // best first
  std::string bin;                    // disposal bin of the best class
  std::string hash;                   // sign bits of the hash code as hex; empty when the model has no hash
  std::vector<int64_t> code_words;    // [W] the same bits packed 64 per word; empty when the model has no hash
};

// The defaults are the fast path; the switches exist to measure it against the plain module forward.
struct PredictorOptions : InferenceOptions {
  std::optional<bool> flip_test;  // unset: the model's own config (flip_test key)
  LoadOverrides load;             // applied when the predictor loads a checkpoint file (predict_prior)
  Int8Calibration int8;           // a folder: decoded and transformed into InferenceOptions::int8_calibration
};

class Predictor {
 public:
  // Loads `checkpoint` (throws UserError naming the file when it cannot) for inference.
  explicit Predictor(const std::filesystem::path& checkpoint, torch::Device device = torch::kCPU);
  Predictor(const std::filesystem::path& checkpoint, torch::Device device, const PredictorOptions& options);
  // A model already in memory (a freshly built one, for benchmarks). The predictor uses it in place when it
  // holds the only reference (pass it with std::move), else a copy of it, so a caller's model is never folded.
  Predictor(LoadedModel loaded, torch::Device device, const PredictorOptions& options);

  // Decodes with the model's decode settings (short-side cap); throws BadImageError.
  Image decode_file(const std::filesystem::path& path) const;
  Image decode_bytes(const std::string& bytes, const std::string& name) const;

  // One forward pass over all `images`; `top_k` is clamped to [1, classes].
  std::vector<Prediction> predict(const std::vector<const Image*>& images, int top_k = 3);

  // predict() in its three steps, for callers that time or batch them separately:
  // the eval transform [B,3,S,S] on the device; the model (logits, codes on the CPU); the records.
  torch::Tensor transform(const std::vector<const Image*>& images) const;
  BatchOutputs forward(const torch::Tensor& images) const;
  std::vector<Prediction> predictions(const BatchOutputs& outputs, int top_k) const;

  const CheckpointMeta& meta() const { return loaded_.meta; }
  const Config& config() const { return loaded_.config; }
  // Inference only: in eval mode and, with fold_batch_norm (the default), its BatchNorms folded into the
  // convolutions - never train it or save it as a checkpoint.
  ContrastiveClassifier& model() { return loaded_.model; }
  bool has_hash() const;
  int64_t hash_bits() const;
  bool flip_test() const { return eval_.flip_test; }
  const InferenceModel& inference() const { return *inference_; }

 private:
  void prepare(const torch::Device& device, const PredictorOptions& options);
  torch::Tensor calibration_views(const Int8Calibration& calibration) const;  // -> [M,3,S,S] on the CPU

  LoadedModel loaded_;
  EvalOptions eval_;
  DecodeOptions decode_;
  std::unique_ptr<InferenceModel> inference_;
};

// Packed sign words [W] -> hex, 16 digits per word, word 0 first.
std::string hex_words(const std::vector<int64_t>& words);

}  // namespace trashcl
