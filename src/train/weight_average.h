// A running average of the model's weights ("model EMA", method.md "Small data"): validation, best.ckpt and
// prediction use it when `model_ema` > 0, while the optimizer goes on training the weights themselves.
//
// After optimizer step t (1, 2, ...):  avg <- d avg + (1 - d) theta,  d = min(decay, (1 + t) / (10 + t)),
// so the first, random weights fade within tens of steps instead of lingering for 1 / (1 - decay). Every
// floating-point tensor of the prediction model is averaged, BatchNorm statistics included; integer buffers
// (batch counters) are copied, and so is the hash sharpness beta. The momentum branch (key encoder and queue)
// is left out: prediction never uses it. Channels-last is the caller's choice, as for the model.
#pragma once
#include <cstdint>

#include "model/contrastive_classifier.h"

namespace trashcl {

class WeightAverage {
 public:
  // Starts the average at `model`'s weights. decay in (0, 1); throws UserError otherwise.
  WeightAverage(ContrastiveClassifier& model, double decay);

  // Folds in `model`'s weights after optimizer step `step` (counted from 1).
  void update(ContrastiveClassifier& model, int64_t step);
  // Replaces the average by a stored one: the weights of `stored` with the average's names (for --resume).
  void load(ContrastiveClassifier& stored);

  // The averaged model: the trained model's modules without the momentum branch, in eval mode.
  ContrastiveClassifier& model() { return average_; }
  // d at step t: min(decay, (1 + t) / (10 + t)).
  static double decay_at(double decay, int64_t step);

 private:
  double decay_;
  ContrastiveClassifier average_{nullptr};
};

}  // namespace trashcl
