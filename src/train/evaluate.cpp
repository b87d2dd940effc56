#include "train/evaluate.h"

#include <algorithm>

#include "common/error.h"
#include "train/precision.h"

namespace trashcl {

BatchOutputs infer_batch(ContrastiveClassifier& model, const ImageBatch& batch, const EvalOptions& options,
                         bool with_codes) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  const std::vector<uint64_t> seeds(batch.sizes.size(0), 0);  // the eval transform draws nothing
  const torch::Tensor images = make_view(batch, ViewKind::eval, seeds, options.augment, options.device);  // [B,3,S,S]
  BatchOutputs outputs;
  {
    AutocastGuard autocast(options.bf16, options.device.is_cuda());
    torch::Tensor logits = model->forward_logits(images).to(torch::kFloat32);  // [B,N]
    if (options.flip_test) logits = 0.5 * (logits + model->forward_logits(images.flip({3})).to(torch::kFloat32));
    outputs.logits = logits.cpu();
    if (with_codes && model->options().features == "hash") outputs.codes = model->hash_code(images).to(torch::kFloat32).cpu();
  }
  if (was_training) model->train();
  return outputs;
}

torch::Tensor dataset_logits(ContrastiveClassifier& model, ImageCache& images, const EvalOptions& options) {
  std::vector<torch::Tensor> parts;
  for (size_t begin = 0; begin < images.size(); begin += options.batch_size) {
    const size_t end = std::min(images.size(), begin + static_cast<size_t>(options.batch_size));
    std::vector<std::shared_ptr<const Image>> held;
    std::vector<const Image*> pointers;
    for (size_t i = begin; i < end; ++i) {
      held.push_back(images.get(i));
      pointers.push_back(held.back().get());
    }
    parts.push_back(infer_batch(model, pack_images(pointers), options).logits);  // [b,N]
  }
  return torch::cat(parts);  // [M,N]
}

ClassificationReport evaluate(ContrastiveClassifier& model, const LoadedDataset& data, const EvalOptions& options,
                              const std::vector<int64_t>& train_class_counts) {
  if (data.dataset.samples.empty()) throw UserError("evaluate: no image to evaluate (none given, or none readable)");
  const torch::Tensor logits = dataset_logits(model, *data.cache, options);  // [M,N]
  const int64_t num_classes = logits.size(1);
  const torch::Tensor predicted = logits.argmax(1);                         // [M]
  const torch::Tensor top5 = std::get<1>(logits.topk(std::min<int64_t>(5, num_classes), 1));  // [M,min(5,N)]
  ConfusionMatrix matrix(static_cast<int>(num_classes));
  for (size_t i = 0; i < data.dataset.samples.size(); ++i) {
    const int truth = data.dataset.samples[i].label;
    const bool in_top5 = (top5[i] == truth).any().item<bool>();
    matrix.add(truth, static_cast<int>(predicted[i].item<int64_t>()), in_top5);
  }
  return matrix.report(train_class_counts);
}

}  // namespace trashcl
