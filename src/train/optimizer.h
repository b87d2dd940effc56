// The training optimizer: SGD with momentum and weight decay over two parameter groups, the encoder and the
// class head (group decoder or linear classifier). The head may learn at a multiple of the scheduled rate
// (head_lr_scale): the decoder's attention and feed-forward layers start from scratch on a few thousand
// images and learn slower than a linear layer at the backbone's rate.
#pragma once
#include <memory>

#include "common/config.h"
#include "model/contrastive_classifier.h"

namespace trashcl {

// Group 0: the encoder's trainable parameters; group 1: the class head's. Both start at `lr`; call
// set_learning_rate before each step.
std::unique_ptr<torch::optim::SGD> make_optimizer(ContrastiveClassifier& model, const Config& config, double lr);

// Encoder group at `lr`, head group at lr * head_lr_scale.
void set_learning_rate(torch::optim::SGD& optimizer, double lr, double head_lr_scale);

}  // namespace trashcl
