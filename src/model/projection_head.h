// Projection head of the contrastive branch: e = normalize(MLP(features)).
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace trashcl {

// MoCo v2 / SupCon projection: Linear(F, hidden) - BatchNorm - ReLU - Linear(hidden, d), then L2
// normalisation, so dot products of embeddings are cosine similarities.
class ProjectionHeadImpl : public torch::nn::Module {
 public:
  // input_dim: F, the feature width (L for hash codes, C5 for pooled features).
  // hidden: the MLP's hidden width (512).
  // embed_dim: d, the embedding width (128).
  ProjectionHeadImpl(int64_t input_dim, int64_t hidden = 512, int64_t embed_dim = 128);

  // features [B,F] -> unit embeddings [B,d].
  torch::Tensor forward(const torch::Tensor& features);

 private:
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  torch::nn::BatchNorm1d norm_{nullptr};
};
TORCH_MODULE(ProjectionHead);

}  // namespace trashcl
