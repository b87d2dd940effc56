#include "model/group_decoder.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"

namespace trashcl {

namespace {

void validate(const GroupDecoderOptions& options) {
  auto require_positive = [](int64_t value, const char* name) {
    if (value <= 0) throw UserError(std::string(name) + " = " + std::to_string(value) + " must be positive");
  };
  require_positive(options.input_dim, "decoder input width (hash_bits or backbone channels)");
  require_positive(options.num_classes, "num_classes");
  require_positive(options.width, "decoder_width");
  require_positive(options.hidden, "decoder_hidden");
  require_positive(options.max_queries, "decoder_max_queries");
  if (!(options.query_std > 0.0)) {
    throw UserError("decoder_query_std = " + std::to_string(options.query_std) + " must be positive; use 0.0625");
  }
  if (options.dropout < 0.0 || options.dropout >= 1.0) {
    throw UserError("decoder_dropout = " + std::to_string(options.dropout) + " must be in [0, 1); use 0.1");
  }
}

}  // namespace

GroupDecoderImpl::GroupDecoderImpl(const GroupDecoderOptions& options) : options_(options) {
  validate(options);
  const int64_t width = options.width, classes = options.num_classes;
  num_queries_ = std::min(classes, options.max_queries);
  group_size_ = (classes + num_queries_ - 1) / num_queries_;
  embed_ = register_module("embed", torch::nn::Linear(options.input_dim, width));
  auto queries = torch::randn({num_queries_, width}) * options.query_std;  // [K_g,D]
  queries_ = options.learnable_queries ? register_parameter("queries", queries) : register_buffer("queries", queries);
  attention_ = register_module("attention", CrossAttention(width, options.heads));
  norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
  ffn_in_ = register_module("ffn_in", torch::nn::Linear(width, options.hidden));
  ffn_out_ = register_module("ffn_out", torch::nn::Linear(options.hidden, width));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
  // Xavier-normal per group, as a Linear(D -> G) would get.
  const double deviation = options.zero_output ? 0.0 : std::sqrt(2.0 / static_cast<double>(width + group_size_));
  group_weight_ = register_parameter("group_weight", torch::randn({num_queries_, width, group_size_}) * deviation);
  group_bias_ = register_parameter("group_bias", torch::zeros({classes}));
}

torch::Tensor GroupDecoderImpl::query_features(const torch::Tensor& tokens) {
  if (tokens.dim() != 3 || tokens.size(2) != options_.input_dim) {
    throw UserError("GroupDecoder: expected memory tokens [B,T," + std::to_string(options_.input_dim) +
                    "], got " + std::to_string(tokens.dim()) + " dims; check hash_bits / features");
  }
  namespace F = torch::nn::functional;
  const auto dropout = F::DropoutFuncOptions().p(options_.dropout).training(is_training());
  auto memory = torch::relu(embed_->forward(tokens));                           // [B,T,D]
  auto queries = queries_.unsqueeze(0).expand({tokens.size(0), -1, -1});       // [B,K_g,D]
  auto attended = F::dropout(attention_->forward(queries, memory), dropout);    // [B,K_g,D]
  auto q1 = norm1_->forward(queries + attended);                                // [B,K_g,D]
  auto hidden = F::dropout(torch::relu(ffn_in_->forward(q1)), dropout);         // [B,K_g,hidden]
  auto q2 = norm2_->forward(q1 + F::dropout(ffn_out_->forward(hidden), dropout));  // [B,K_g,D]
  return q2;
}

torch::Tensor GroupDecoderImpl::forward(const torch::Tensor& tokens) {
  auto features = query_features(tokens);                                      // [B,K_g,D]
  auto grouped = torch::einsum("bkd,kdg->bkg", {features, group_weight_});     // [B,K_g,G]
  auto logits = grouped.flatten(1).narrow(1, 0, options_.num_classes);         // [B,N]
  return logits + group_bias_;                                                 // [B,N]
}

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& parameter : module.parameters()) count += parameter.numel();
  return count;
}

}  // namespace trashcl
