// One encoder branch: backbone -> features (hash code u, or pooled C5) -> decoder memory and embedding.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "model/backbone.h"
#include "model/hash_fusion.h"
#include "model/projection_head.h"

namespace trashcl {

struct EncoderOptions {
  std::string backbone = "resnet18";  // make_backbone name
  bool hash = true;                   // features = hash fusion code u; false: pooled C5 (the ablation)
  int64_t hash_bits = 64;             // L
  bool spatial_memory = false;        // decoder memory of per-position tokens instead of the 4 code tokens
  int64_t embed_dim = 128;            // d of the projection head; 0 builds no projection head
  int64_t projection_hidden = 512;    // hidden width of the projection MLP
};

struct EncoderOutput {
  torch::Tensor features;   // [B,F]: u (F = L) with hash fusion, pooled C5 (F = C5) without
  torch::Tensor tokens;     // [B,T,F] decoder memory (see EncoderImpl)
  torch::Tensor embedding;  // [B,d] unit vectors; undefined without a projection head
};

// Decoder memory by option:
//   hash, codes:    [h3, h4, h5, u]                               T = 4
//   hash, spatial:  [per-position codes of C4 and C5, u]          T = 2HW + 1 (HW of C5's grid)
//   pool, codes:    [GAP(C5)]                                      T = 1
//   pool, spatial:  [C5 at every position, GAP(C5)]               T = HW + 1
// Query and key encoders are two instances built from the same options, so their parameter and
// buffer names match one for one (the key encoder is a copy by name, see MomentumContrast).
class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(const EncoderOptions& options);

  EncoderOutput forward(const torch::Tensor& images);  // images [B,3,H,W]

  int64_t feature_dim() const { return feature_dim_; }
  const EncoderOptions& options() const { return options_; }
  bool has_fusion() const { return !fusion_.is_empty(); }
  HashFusion& fusion() { return fusion_; }

 private:
  EncoderOptions options_;
  int64_t feature_dim_;
  std::shared_ptr<BackboneImpl> backbone_;
  HashFusion fusion_{nullptr};
  ProjectionHead projection_{nullptr};
};
TORCH_MODULE(Encoder);

}  // namespace trashcl
