#include "common/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/spelling.h"

namespace trashcl {
namespace {

void set_from_toml(const Config::Field& field, const toml::node& node, const std::string& path) {
  auto wrong_type = [&](const char* wanted) {
    const auto line = node.source().begin.line;
    return UserError(fmt::format("{}:{}: '{}' wants {}", path, line, field.name, wanted));
  };
  std::visit(
      [&](auto* target) {
        using T = std::remove_pointer_t<decltype(target)>;
        if constexpr (std::is_same_v<T, bool>) {
          auto value = node.value<bool>();
          if (!value) throw wrong_type("true or false");
          *target = *value;
        } else if constexpr (std::is_same_v<T, std::string>) {
          auto value = node.value<std::string>();
          if (!value) throw wrong_type("a quoted string");
          *target = *value;
        } else if constexpr (std::is_same_v<T, double>) {
          auto value = node.value<double>();  // integers are accepted too
          if (!value) throw wrong_type("a number");
          *target = *value;
        } else {
          if (!node.is_integer()) throw wrong_type("an integer");
          const int64_t value = *node.value<int64_t>();
          if (std::is_unsigned_v<T> && value < 0) throw wrong_type("a non-negative integer");
          *target = static_cast<T>(value);
        }
      },
      field.value);
}

}  // namespace


std::vector<Config::Field> Config::fields() {
  return {
      {"data", "data", "dataset root: <class>/<image> folders", &data},
      {"split", "data", "split manifest CSV (path,label,split); empty: all images", &split},
      {"seed", "data", "seed for splitting, shuffling, augmentation and initialisation", &seed},
      {"image_size", "data", "side of the square training/eval input in pixels", &image_size},
      {"decode_short_side", "data", "short side images are decoded and cached at (0: 2 x image_size)", &decode_short_side},
      {"cache_mb", "data", "RAM for decoded images in MiB; the rest is decoded again when needed", &cache_mb},
      {"loader_threads", "data", "background threads that fetch, decode and pack batches", &loader_threads},
      {"class_balanced", "data", "sample classes equally often instead of each image once per epoch", &class_balanced},
      {"anchor_scale_min", "augment", "anchor view: random resized crop keeps [this, 1] of the area", &anchor_scale_min},
      {"anchor_jitter", "augment", "anchor view: brightness/contrast/saturation jitter strength", &anchor_jitter},
      {"randaugment_ops", "augment", "anchor view: RandAugment-style ops per image", &randaugment_ops},
      {"randaugment_magnitude", "augment", "anchor view: RandAugment magnitude (0-30)", &randaugment_magnitude},
      {"positive_scale_min", "augment", "positive view: random resized crop keeps [this, 1] of the area", &positive_scale_min},
      {"positive_jitter_p", "augment", "positive view: probability of colour jitter", &positive_jitter_p},
      {"grayscale_p", "augment", "positive view: probability of grayscale", &grayscale_p},
      {"blur_p", "augment", "positive view: probability of Gaussian blur", &blur_p},
      {"cutmix_p", "augment", "anchor view: probability that a batch is CutMixed (a box from another photo, the label shared by area)", &cutmix_p},
      {"mixup_alpha", "augment", "anchor view: mixup of the batches not CutMixed, its share ~ Beta(alpha, alpha) (0: off)", &mixup_alpha},
      {"backbone", "model", "backbone: resnet18, resnet34, resnet50 or tiny", &backbone},
      {"features", "model", "hash (multi-scale hash feature fusion) or pool (pooled C5, no hash)", &features},
      {"hash_bits", "model", "length L of the hash code", &hash_bits},
      {"head", "model", "decoder (group-query class decoder), linear, or linear+decoder (their sum; the decoder starts at 0)", &head},
      {"decoder_memory", "model", "decoder memory tokens: spatial (per-position codes + u) or codes (h3,h4,h5,u)", &decoder_memory},
      {"decoder_width", "model", "decoder width D", &decoder_width},
      {"decoder_query_std", "model", "standard deviation of the decoder's random queries (ML-Decoder: 1; 1/sqrt(256) learns faster from scratch)", &decoder_query_std},
      {"learnable_queries", "model", "learn the decoder's class queries instead of fixing them at random", &learnable_queries},
      {"momentum", "model", "momentum (EMA) key encoder with a labelled queue; false: both views through one encoder", &momentum},
      {"moco_m", "model", "EMA momentum m of the key encoder; (1-m) x steps should be >> 1", &moco_m},
      {"moco_m_schedule", "model", "m over training: constant, or cosine (rises from moco_m to 1 at the last step, as in BYOL and MoCo v3)", &moco_m_schedule},
      {"symmetric", "model", "momentum encoder: also contrast the positive view's query with the anchor's key (both views train the encoder)", &symmetric},
      {"key_gradient", "model", "without the momentum encoder: the positive view's keys carry gradient (false: detached, as momentum keys are)", &key_gradient},
      {"query_positives", "model", "momentum encoder: the positive views through the query encoder, with gradient, join the contrast set beside the momentum keys", &query_positives},
      {"key_batch_groups", "model", "momentum encoder: the key batch runs as this many shuffled sub-batches, each with its own batch-norm statistics (shuffle-BN on one device; 1: no shuffle)", &key_batch_groups},
      {"queue_size", "model", "labelled queue length Q (<= training images)", &queue_size},
      {"loss", "model", "paco, ce (plain cross-entropy) or supcon", &loss},
      {"tau", "model", "contrastive temperature", &tau},
      {"alpha", "model", "PaCo weight of each same-class sample (positive_weighting = per_sample)", &alpha},
      {"paco_beta", "model", "PaCo weight of the class-centre positive", &paco_beta},
      {"paco_gamma", "model", "PaCo weight of the samples in the denominator", &paco_gamma},
      {"positive_weighting", "model", "per_sample (alpha each) or fixed_total (alpha_total shared per anchor)", &positive_weighting},
      {"alpha_total", "model", "PaCo: total weight of an anchor's sample positives (fixed_total)", &alpha_total},
      {"contrastive_schedule", "model", "weight of the contrastive part over training: constant, or parabolic (times 1 - (step/steps)^2, none at the end)", &contrastive_schedule},
      {"label_smoothing", "model", "label smoothing of the class targets (cross-entropy, and PaCo's class centres)", &label_smoothing},
      {"predict_prior", "model", "paco: predict with the training class frequencies (train) or every class equally likely (uniform)", &predict_prior},
      {"lambda_q", "model", "weight of the hash quantisation loss", &lambda_q},
      {"hash_beta_rate", "model", "HashNet continuation: the code is tanh(beta x) with beta = sqrt(1 + rate x step), refreshed every 200 steps (0: beta stays 1)", &hash_beta_rate},
      {"bins", "model", "disposal bins by class, overriding the built-in table: trash=other,battery=hazardous", &bins},
      {"epochs", "train", "training epochs", &epochs},
      {"batch_size", "train", "images per step", &batch_size},
      {"lr", "train", "peak learning rate at batch 128 (scaled linearly with the batch size)", &lr},
      {"head_lr_scale", "train", "learning-rate multiplier of the class head (the linear classifier and/or the decoder)", &head_lr_scale},
      {"weight_decay", "train", "SGD weight decay", &weight_decay},
      {"sgd_momentum", "train", "SGD momentum", &sgd_momentum},
      {"warmup_epochs", "train", "linear warm-up length in epochs, then cosine decay", &warmup_epochs},
      {"self_supervised_epochs", "train", "the first this many epochs learn without labels: each photo its own class in the contrast (instance discrimination), the class head idle; then the method (0: off)", &self_supervised_epochs},
      {"grad_clip", "train", "clip the gradient norm to this (0: no clipping)", &grad_clip},
      {"model_ema", "train", "validate, keep best.ckpt and predict with a moving average of the weights of this decay per step (0: off; 0.998 averages about the last 500 steps)", &model_ema},
      {"max_steps", "train", "stop after this many steps in all (0: run every epoch); the schedule still spans all epochs", &max_steps},
      {"eval_every", "train", "validate every this many epochs (and after the last)", &eval_every},
      {"precision", "train", "fp32, bf16 (autocast; on the CPU it needs AMX or AVX-512 BF16 to pay) or auto (bf16 on CUDA and on those CPUs, else fp32)", &precision},
      {"channels_last", "train", "keep convolution weights and images channels-last (NHWC): the faster oneDNN/cuDNN kernels, same results up to rounding", &channels_last},
      {"flip_test", "train", "average the logits of the image and its mirror image at evaluation", &flip_test},
      {"threads", "runtime", "intra-op threads for tensor math (0: one per core)", &threads},
      {"device", "runtime", "cpu or cuda", &device},
  };
}

void apply_config_file(const std::string& path, Config& config, const std::vector<std::string>& skip) {
  std::ifstream in(path);
  if (!in) throw UserError(fmt::format("{}: cannot open the config file", path));
  std::stringstream text;
  text << in.rdbuf();
  apply_config_text(text.str(), path, config, skip);
}

void apply_config_text(const std::string& text, const std::string& path, Config& config, const std::vector<std::string>& skip) {
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& error) {
    throw UserError(fmt::format("{}:{}: not valid TOML: {}", path, error.source().begin.line, error.description()));
  }
  auto fields = config.fields();
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    auto field = std::find_if(fields.begin(), fields.end(), [&](const Config::Field& f) { return f.name == name; });
    if (field == fields.end()) {
      std::vector<std::string> known;
      for (const auto& f : fields) known.push_back(f.name);
      const auto meant = nearest_name(name, known);
      throw UserError(fmt::format("{}: unknown key '{}' ({}see `trashcl train --help` for the keys)", path, name,
                                  meant ? "did you mean '" + *meant + "'? " : ""));
    }
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
    set_from_toml(*field, node, path);
  }
}

std::string value_to_toml(const Config::Field& field) {
  return std::visit(
      [](auto* value) -> std::string {
        using T = std::remove_pointer_t<decltype(value)>;
        if constexpr (std::is_same_v<T, bool>) {
          return *value ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string>) {
          std::ostringstream quoted;
          quoted << toml::value<std::string>(*value);
          return quoted.str();
        } else if constexpr (std::is_same_v<T, double>) {
          std::string text = fmt::format("{}", *value);
          if (text.find_first_of(".eEn") == std::string::npos) text += ".0";  // keep it a TOML float
          return text;
        } else {
          return std::to_string(*value);
        }
      },
      field.value);
}

std::string config_to_toml(Config config) {
  std::string text = "# trashcl effective config\n";
  std::string section;
  for (const auto& field : config.fields()) {
    if (field.section != section) {
      section = field.section;
      text += fmt::format("\n# ---- {}\n", section);
    }
    text += fmt::format("{} = {}  # {}\n", field.name, value_to_toml(field), field.help);
  }
  return text;
}

}  // namespace trashcl
