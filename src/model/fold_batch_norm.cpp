#include "model/fold_batch_norm.h"

namespace trashcl {
namespace {

// s = gamma / sqrt(var + eps) and the shift beta - s * mean, in float64: [Cout], [Cout].
std::pair<torch::Tensor, torch::Tensor> scale_and_shift(const torch::nn::BatchNorm2dImpl& norm) {
  const auto mean = norm.running_mean.to(torch::kFloat64), variance = norm.running_var.to(torch::kFloat64);
  const auto scale = norm.weight.to(torch::kFloat64) / (variance + norm.options.eps()).sqrt();  // [Cout]
  return {scale, norm.bias.to(torch::kFloat64) - scale * mean};                                 // [Cout], [Cout]
}

void make_scale_free(torch::nn::BatchNorm2dImpl& norm, const torch::Tensor& shift) {
  norm.weight.fill_(1);
  norm.bias.copy_(shift);
  norm.running_mean.zero_();
  norm.running_var.fill_(1 - norm.options.eps());  // var + eps = 1: the BN divides by exactly sqrt(1)
}

void fold_pair(torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl& norm) {
  const FoldedConv folded = fold_conv_batch_norm(conv, norm);
  conv.weight.copy_(folded.weight);
  if (conv.bias.defined()) {
    conv.bias.copy_(folded.bias);
    make_scale_free(norm, torch::zeros_like(folded.bias));  // the identity
  } else {
    make_scale_free(norm, folded.bias);                     // x + shift
  }
}

}  // namespace

bool can_fold(const torch::nn::Conv2dImpl& conv, const torch::nn::BatchNorm2dImpl& norm) {
  return norm.options.affine() && norm.options.track_running_stats() && norm.running_mean.defined() &&
         norm.weight.defined() && norm.options.num_features() == conv.options.out_channels();
}

FoldedConv fold_conv_batch_norm(const torch::nn::Conv2dImpl& conv, const torch::nn::BatchNorm2dImpl& norm) {
  TORCH_CHECK(can_fold(conv, norm), "fold_conv_batch_norm: this BatchNorm2d cannot be folded into this Conv2d");
  torch::NoGradGuard no_grad;
  const auto [scale, shift] = scale_and_shift(norm);                         // [Cout], [Cout]
  const auto weight = conv.weight.to(torch::kFloat64);                        // [Cout,Cin/g,kh,kw]
  auto bias = shift;                                                          // [Cout]
  if (conv.bias.defined()) bias = bias + scale * conv.bias.to(torch::kFloat64);
  const auto options = conv.weight.options().requires_grad(false);
  return {(weight * scale.view({-1, 1, 1, 1})).to(options),                  // [Cout,Cin/g,kh,kw]
          bias.to(options)};                                                  // [Cout]
}

int64_t fold_batch_norm(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  module.eval();
  int64_t folded = 0;
  auto fold_children = [&folded](torch::nn::Module& parent) {
    torch::nn::Conv2dImpl* previous_conv = nullptr;  // the child registered just before, if a conv
    for (const auto& child : parent.children()) {
      auto* norm = child->as<torch::nn::BatchNorm2dImpl>();
      if (norm != nullptr && previous_conv != nullptr && can_fold(*previous_conv, *norm)) {
        fold_pair(*previous_conv, *norm);
        ++folded;
      }
      previous_conv = child->as<torch::nn::Conv2dImpl>();
    }
  };
  fold_children(module);
  for (const auto& descendant : module.modules(/*include_self=*/false)) fold_children(*descendant);
  return folded;
}

bool is_scale_free(const torch::nn::BatchNorm2dImpl& norm) {
  if (!norm.weight.defined() || !norm.running_mean.defined()) return false;
  const auto expected_variance = torch::full_like(norm.running_var, 1 - norm.options.eps());
  return norm.weight.eq(1).all().item<bool>() && norm.running_mean.eq(0).all().item<bool>() &&
         norm.running_var.equal(expected_variance);
}

}  // namespace trashcl
