#include "model/contrastive_classifier.h"

#include <string>
#include <tuple>
#include <utility>

#include "common/error.h"
#include "loss/contrastive.h"
#include "loss/cross_entropy.h"
#include "loss/quantization.h"

namespace trashcl {

ContrastiveClassifierImpl::ContrastiveClassifierImpl(const ModelOptions& options) : options_(options) {
  validate(options);
  encoder_ = register_module("encoder", Encoder(encoder_options(options)));
  if (has_decoder(options)) {
    decoder_ = register_module("decoder", GroupDecoder(decoder_options(options, encoder_->feature_dim())));
  }
  if (has_linear_classifier(options)) {
    classifier_ = register_module("classifier", torch::nn::Linear(encoder_->feature_dim(), options.num_classes));
  }
  if (options.loss != "ce" && options.momentum) {
    momentum_ = register_module("momentum", MomentumContrast(encoder_, options.queue_size, options.momentum_m, options.key_batch_groups));
  }
  auto prior = options.class_prior.empty()
                   ? torch::full({options.num_classes}, 1.0 / static_cast<double>(options.num_classes))
                   : torch::tensor(options.class_prior, torch::kFloat64).to(torch::kFloat32);  // [N]
  log_prior_ = register_buffer("log_prior", (prior / prior.sum()).log());                  // [N]
}

torch::Tensor ContrastiveClassifierImpl::head(const torch::Tensor& features, const torch::Tensor& tokens) {
  if (classifier_.is_empty()) return decoder_->forward(tokens);       // [B,N]
  if (decoder_.is_empty()) return classifier_->forward(features);     // [B,N]
  return classifier_->forward(features) + decoder_->forward(tokens);  // [B,N]
}

torch::Tensor ContrastiveClassifierImpl::prediction_offset() const {
  const bool natural = options_.loss == "paco" && options_.predict_prior == "train";
  return natural ? log_prior_ : torch::zeros_like(log_prior_);  // [N]
}

torch::Tensor ContrastiveClassifierImpl::forward_logits(const torch::Tensor& images) {
  const EncoderOutput encoded = encoder_->forward(images);
  return head(encoded.features, encoded.tokens) + prediction_offset();  // [B,N]
}

torch::Tensor ContrastiveClassifierImpl::hash_code(const torch::Tensor& images) {
  if (!encoder_->has_fusion()) {
    throw UserError("hash codes need features = hash; this model was built with features = " + options_.features);
  }
  return encoder_->forward(images).features;  // [B,L]
}

void ContrastiveClassifierImpl::set_step(int64_t step, int64_t total_steps) {
  contrastive_weight_scale_ = contrastive_weight(options_.contrastive_schedule, step, total_steps);
  if (has_momentum()) momentum_->set_momentum(momentum_at(options_.momentum_schedule, options_.momentum_m, step, total_steps));
  if (!encoder_->has_fusion()) return;
  const double beta = hash_beta(step, kHashBetaRefresh, options_.hash_beta_rate);
  encoder_->fusion()->set_beta(beta);
  if (has_momentum()) momentum_->key_encoder()->fusion()->set_beta(beta);
}

std::vector<torch::Tensor> ContrastiveClassifierImpl::trainable_parameters() {
  std::vector<torch::Tensor> out;
  for (auto& parameter : parameters()) {
    if (parameter.requires_grad()) out.push_back(parameter);
  }
  return out;
}

std::vector<torch::Tensor> ContrastiveClassifierImpl::head_parameters() {
  std::vector<torch::Tensor> out;
  if (!classifier_.is_empty()) out = classifier_->parameters();
  if (!decoder_.is_empty()) {
    for (auto& parameter : decoder_->parameters()) out.push_back(parameter);
  }
  return out;
}

void ContrastiveClassifierImpl::check_batch(const torch::Tensor& anchor, const torch::Tensor& positive,
                                            const torch::Tensor& labels, const AnchorMix& mix) const {
  if (!anchor.defined() || anchor.dim() != 4 || !labels.defined() || labels.dim() != 1 ||
      labels.size(0) != anchor.size(0)) {
    throw UserError("training_loss: expected anchor images [B,3,S,S] and labels [B]");
  }
  const int64_t batch = anchor.size(0);
  if (batch < 2) throw UserError("training_loss: batch size must be >= 2 (BatchNorm); raise batch_size");
  if (options_.loss == "ce" && self_supervised_) {
    throw UserError("training_loss: the self-supervised warm-up contrasts the two views, and loss = ce has no "
                    "positive view; use loss = paco or supcon");
  }
  if (options_.loss != "ce" && (!positive.defined() || !positive.sizes().equals(anchor.sizes()))) {
    throw UserError("training_loss: loss = " + options_.loss + " needs the positive view, shaped like the anchor");
  }
  if (has_momentum() && batch > options_.queue_size) {
    throw UserError("queue_size = " + std::to_string(options_.queue_size) + " is smaller than the batch (" +
                    std::to_string(batch) + "); raise queue_size or lower batch_size");
  }
  const auto low = labels.min().item<int64_t>(), high = labels.max().item<int64_t>();
  if (low < 0 || high >= options_.num_classes) {
    throw UserError("training_loss: labels must be in [0, num_classes = " + std::to_string(options_.num_classes) + ")");
  }
  if (mix.partner_labels.defined()) {
    if (!mix.partner_labels.sizes().equals(labels.sizes()) || !(mix.own_share >= 0.0 && mix.own_share <= 1.0)) {
      throw UserError("training_loss: a mixed anchor view needs partner labels [B] and an own share in [0, 1]");
    }
    if (options_.symmetric) {
      throw UserError("training_loss: a mixed (CutMix or mixup) anchor view cannot be used with symmetric = true "
                      "(its mirrored term takes the anchor view as a key); use one or the other");
    }
    if (self_supervised_) {
      throw UserError("training_loss: a mixed (CutMix or mixup) anchor view has two photos' labels, and the "
                      "self-supervised warm-up gives every photo its own; mix after the warm-up or not at all");
    }
  }
}

LossTerms ContrastiveClassifierImpl::training_loss(const torch::Tensor& anchor, const torch::Tensor& positive,
                                                   const torch::Tensor& labels, const AnchorMix& mix) {
  check_batch(anchor, positive, labels, mix);
  auto y = labels.to(torch::kInt64);                                     // [B]
  auto query = encoder_->forward(anchor);                                // features [B,F], embedding [B,d]
  auto logits = head(query.features, query.tokens);                      // [B,N]
  auto zero = torch::zeros({}, logits.options().dtype(torch::kFloat32));
  LossTerms terms{zero, zero, zero, zero};
  if (encoder_->has_fusion()) terms.quantization = options_.lambda_q * quantization_loss(query.features);  // []
  if (options_.loss == "ce") {
    terms.classification = cross_entropy(logits, y, options_.label_smoothing);  // []
    if (mix.mixed()) {
      terms.classification =
          mix.blend(terms.classification, cross_entropy(logits, mix.partner_labels, options_.label_smoothing));
    }
    terms.total = terms.classification + terms.quantization;                    // []
    return terms;
  }
  ContrastSet set{query.embedding, {}, y, {}, {}};
  if (has_momentum()) {
    momentum_->update(encoder_);
    set.keys = momentum_->keys(positive);                                // [B,d], no gradient
    set.queue = momentum_->queue();                                      // [Q,d]
    set.queue_labels = momentum_->queue_labels();                        // [Q]
  } else if (options_.key_gradient) {
    set.keys = encoder_->forward(positive).embedding;                    // [B,d], with gradient
  } else {
    torch::NoGradGuard no_grad;
    set.keys = encoder_->forward(positive).embedding;                    // [B,d], no gradient
  }
  if (self_supervised_) set = with_instance_labels(set);
  if (has_momentum() && options_.query_positives) {
    // The positive views through the query encoder join the contrast set as labelled samples ahead of the
    // queue: [e; k; p; queue] with labels [y; y; y; queue labels] (y: the set's labels, instances or classes).
    auto positives = encoder_->forward(positive).embedding.to(set.queue.scalar_type());  // [B,d], with gradient
    set.queue = torch::cat({positives, set.queue}, 0);                    // [B+Q,d]
    set.queue_labels = torch::cat({set.labels, set.queue_labels}, 0);     // [B+Q]
  }
  std::tie(terms.classification, terms.contrastive) = contrastive_terms(set, logits, mix);
  if (options_.symmetric) {
    // The mirror image: the positive view as the query, the anchor view's momentum key as its positive, the
    // same queue. Each term is the mean of the two directions.
    auto mirrored = encoder_->forward(positive);                         // features [B,F], embedding [B,d]
    ContrastSet mirrored_set{mirrored.embedding, momentum_->keys(anchor), set.labels, set.queue, set.queue_labels};
    auto [classification, contrastive] = contrastive_terms(mirrored_set, head(mirrored.features, mirrored.tokens));
    terms.classification = 0.5 * (terms.classification + classification);  // []
    terms.contrastive = 0.5 * (terms.contrastive + contrastive);            // []
    if (encoder_->has_fusion()) {
      terms.quantization = 0.5 * (terms.quantization + options_.lambda_q * quantization_loss(mirrored.features));
    }
  }
  if (has_momentum()) momentum_->enqueue(set.keys, y);  // after the loss: the logits above used the old queue
  terms.total = terms.classification + terms.contrastive + terms.quantization;  // []
  return terms;
}

std::pair<torch::Tensor, torch::Tensor> ContrastiveClassifierImpl::contrastive_terms(const ContrastSet& set,
                                                                                     const torch::Tensor& logits,
                                                                                     const AnchorMix& mix) const {
  if (self_supervised_) {
    auto instance_discrimination = supcon_loss(set, options_.tau);  // []
    return {torch::zeros_like(instance_discrimination), instance_discrimination};
  }
  auto terms_by = [&](const ContrastSet& scored) -> std::pair<torch::Tensor, torch::Tensor> {
    if (options_.loss == "paco") {
      auto paco = paco_loss(scored, logits, log_prior_, paco_options(options_, contrastive_weight_scale_));  // []
      return {paco, torch::zeros_like(paco)};
    }
    const torch::Tensor& labels = scored.anchor_labels.defined() ? scored.anchor_labels : scored.labels;  // [B]
    return {cross_entropy(logits, labels, options_.label_smoothing),       // []
            contrastive_weight_scale_ * supcon_loss(scored, options_.tau)};  // []
  };
  auto own = terms_by(set);
  if (!mix.mixed()) return own;
  ContrastSet by_partner = set;
  by_partner.anchor_labels = mix.partner_labels;  // [B]
  auto partner = terms_by(by_partner);
  return {mix.blend(own.first, partner.first), mix.blend(own.second, partner.second)};
}

}  // namespace trashcl
