#include "infer/inference_model.h"

#include "common/error.h"
#include "model/fold_batch_norm.h"

namespace trashcl {
namespace {

template <typename Impl>
std::shared_ptr<Impl> named_child(const torch::nn::Module& parent, const std::string& name) {
  const auto children = parent.named_children();
  const auto* found = children.find(name);
  return found == nullptr ? nullptr : std::dynamic_pointer_cast<Impl>(*found);
}

torch::Device model_device(const ContrastiveClassifier& model) {
  const auto parameters = model->parameters();
  return parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();
}

}  // namespace

void require_int8_supported(const InferenceOptions& options, const torch::Device& device) {
  if (!device.is_cpu()) throw UserError("int8 inference runs on the CPU: use --device cpu, or drop --int8-calibration");
  if (!options.fuse_backbone) {
    throw UserError("int8 inference quantises the fused backbone: drop --fuse-backbone=false or --int8-calibration");
  }
}

InferenceModel::InferenceModel(ContrastiveClassifier model, const InferenceOptions& options)
    : model_(std::move(model)), device_(model_device(model_)) {
  model_->eval();
  if (options.fold_batch_norm) folded_pairs_ = fold_batch_norm(*model_);
  Encoder& encoder = model_->encoder();
  backbone_ = named_child<BackboneImpl>(*encoder, "backbone");
  fusion_ = named_child<HashFusionImpl>(*encoder, "fusion");
  spatial_memory_ = encoder->options().spatial_memory;
  prediction_offset_ = model_->prediction_offset().to(device_);
  if (!backbone_) throw UserError("inference: the model's encoder has no backbone it knows");
  if (options.int8_calibration.defined()) {
    require_int8_supported(options, device_);
    const auto folded = FusedBackbone::compile(*backbone_, device_, TensorLayout::contiguous);
    if (!folded) throw UserError("int8 inference: this backbone has no fused form to quantise");
    quantized_ = QuantizedBackbone::compile(*folded, options.int8_calibration);
    return;
  }
  const TensorLayout layout = parse_layout(options.layout, device_);
  if (options.fuse_backbone) fused_ = FusedBackbone::compile(*backbone_, device_, layout);
}

std::string InferenceModel::backbone_path() const {
  if (quantized_) return "int8";
  return fused_ ? layout_name(fused_->layout()) : "module";
}

BatchOutputs InferenceModel::forward(const torch::Tensor& images, bool flip_test) const {  // images: [B,3,S,S]
  c10::InferenceMode inference_mode;
  const int64_t batch = images.size(0);
  const torch::Tensor input = flip_test ? torch::cat({images, images.flip({3})}) : images;  // [B',3,S,S], B' = 2B or B
  const BackboneFeatures maps = quantized_ ? quantized_->forward(input)                      // c3 .. c5 [B',C5,h,w]
                                : fused_  ? fused_->forward(input)
                                          : backbone_->forward(input);
  // The rest of EncoderImpl::forward, without the projection head.
  const bool spatial = spatial_memory_;
  torch::Tensor features, tokens;
  if (fusion_) {
    const HashCodes codes = fusion_->forward(maps);
    features = codes.u;                                                                  // [B',L]
    tokens = spatial ? torch::cat({codes.spatial, codes.u.unsqueeze(1)}, 1) : codes.tokens;  // [B',2HW+1,L] / [B',4,L]
  } else {
    features = maps.c5.mean({2, 3});                                                     // [B',C5]
    tokens = spatial ? torch::cat({maps.c5.flatten(2).transpose(1, 2), features.unsqueeze(1)}, 1)  // [B',HW+1,C5]
                     : features.unsqueeze(1);                                            // [B',1,C5]
  }
  torch::Tensor logits = (model_.ptr()->head(features, tokens) + prediction_offset_).to(torch::kFloat32);  // [B',N]
  if (flip_test) logits = 0.5 * (logits.narrow(0, 0, batch) + logits.narrow(0, batch, batch));  // [B,N]
  BatchOutputs outputs;
  outputs.logits = logits.cpu();
  if (fusion_) outputs.codes = features.narrow(0, 0, batch).to(torch::kFloat32).cpu();  // [B,L]
  return outputs;
}

}  // namespace trashcl
