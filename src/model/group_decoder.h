// ML-Decoder-style classification head: class queries attend to memory tokens, then a group FC.
#pragma once
#include <torch/torch.h>

#include <cstdint>

#include "model/cross_attention.h"

namespace trashcl {

struct GroupDecoderOptions {
  int64_t input_dim = 64;           // width of the memory tokens: L for hash codes, C5 for pooled features
  int64_t num_classes = 6;          // N
  int64_t width = 256;              // D, the decoder width (queries, attention, class feature vectors)
  int64_t heads = 8;                // attention heads; must divide width
  int64_t hidden = 2048;            // feed-forward hidden width (D -> hidden -> D)
  double dropout = 0.1;             // on the attention output and in the feed-forward, training only
  int64_t max_queries = 100;        // K_g = min(N, max_queries) query vectors
  bool learnable_queries = false;   // queries as a parameter; false: a fixed random buffer (ML-Decoder)
  double query_std = 0.0625;        // the queries start as N(0, query_std^2); 1/sqrt(256) (ML-Decoder: 1)
  bool zero_output = false;         // the group FC starts at 0, so z starts at 0 (a correction added to another head)
};

// memory = ReLU(Linear_{input->D}(tokens))                         [B,T,D]
// q1 = LayerNorm(q + Dropout(CrossAttention(q, memory)))          [B,K_g,D]
// q2 = LayerNorm(q1 + Dropout(FFN(q1)))                            [B,K_g,D] class feature vectors
// group FC: query k owns W_k [D, G], G = ceil(N/K_g); z = flatten_k(q2_k W_k)[:, :N] + b   [B,N]
// There is no self-attention between queries, so the cost is linear in the number of classes; with
// K_g = N each class c has its own weight vector w_c (PaCo's parametric class centre).
class GroupDecoderImpl : public torch::nn::Module {
 public:
  explicit GroupDecoderImpl(const GroupDecoderOptions& options);

  // tokens [B,T,input_dim] -> logits z [B,N]. Independent of the order of the T tokens.
  torch::Tensor forward(const torch::Tensor& tokens);
  // tokens [B,T,input_dim] -> class feature vectors q2 [B,K_g,D].
  torch::Tensor query_features(const torch::Tensor& tokens);

  int64_t num_queries() const { return num_queries_; }
  int64_t group_size() const { return group_size_; }
  const GroupDecoderOptions& options() const { return options_; }

 private:
  GroupDecoderOptions options_;
  int64_t num_queries_, group_size_;
  torch::nn::Linear embed_{nullptr};
  torch::Tensor queries_;  // [K_g,D] buffer, or parameter when learnable
  CrossAttention attention_{nullptr};
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Linear ffn_in_{nullptr}, ffn_out_{nullptr};
  torch::Tensor group_weight_;  // [K_g,D,G]
  torch::Tensor group_bias_;    // [N]
};
TORCH_MODULE(GroupDecoder);

// Number of elements in the module's parameters (for the benchmark and the docs).
int64_t parameter_count(const torch::nn::Module& module);

}  // namespace trashcl
