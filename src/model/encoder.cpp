#include "model/encoder.h"

#include <string>

#include "common/error.h"

namespace trashcl {

EncoderImpl::EncoderImpl(const EncoderOptions& options) : options_(options) {
  backbone_ = register_module("backbone", make_backbone(options.backbone));
  const auto channels = backbone_->channels();  // {C3,C4,C5}
  if (options.hash) {
    if (options.hash_bits <= 0) {
      throw UserError("hash_bits = " + std::to_string(options.hash_bits) + " must be positive; use 64");
    }
    fusion_ = register_module("fusion", HashFusion(channels, options.hash_bits, options.spatial_memory));
    feature_dim_ = options.hash_bits;
  } else {
    feature_dim_ = channels[2];
  }
  if (options.embed_dim > 0) {
    projection_ = register_module("projection",
                                  ProjectionHead(feature_dim_, options.projection_hidden, options.embed_dim));
  }
}

EncoderOutput EncoderImpl::forward(const torch::Tensor& images) {
  const auto maps = backbone_->forward(images);  // c3 [B,C3,H/8,W/8] .. c5 [B,C5,H/32,W/32]
  EncoderOutput out;
  if (has_fusion()) {
    auto codes = fusion_->forward(maps);
    out.features = codes.u;                                                           // [B,L]
    out.tokens = options_.spatial_memory ? torch::cat({codes.spatial, codes.u.unsqueeze(1)}, 1)  // [B,2HW+1,L]
                                         : codes.tokens;                               // [B,4,L]
  } else {
    out.features = maps.c5.mean({2, 3});                                              // [B,C5]
    out.tokens = options_.spatial_memory
                     ? torch::cat({maps.c5.flatten(2).transpose(1, 2), out.features.unsqueeze(1)}, 1)  // [B,HW+1,C5]
                     : out.features.unsqueeze(1);                                     // [B,1,C5]
  }
  if (!projection_.is_empty()) out.embedding = projection_->forward(out.features);    // [B,d]
  return out;
}

}  // namespace trashcl
