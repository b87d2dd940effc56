// The one flat, typed configuration of trashcl: every key with its default and a one-line meaning.
// The same keys are TOML keys (`image_size = 224`) and command-line flags (`--image-size 224`); flags
// override the file given with --config, and the effective config is written to every run folder.
#pragma once
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace trashcl {

struct Config {
  // Defaults here; the meaning of every key is in fields() (config.cpp), the one list that flags, TOML and
  // --print-config are made from.
  // ---- data ----------------------------------------------------------------------------------------
  std::string data;
  std::string split;
  uint64_t seed = 0;
  int image_size = 224;
  int decode_short_side = 0;
  int cache_mb = 4096;
  int loader_threads = 1;
  bool class_balanced = false;
  // ---- augmentation (method.md, "Views") -----------------------------------------------------------
  double anchor_scale_min = 0.08;
  double anchor_jitter = 0.4;
  int randaugment_ops = 2;
  double randaugment_magnitude = 10;
  double positive_scale_min = 0.2;
  double positive_jitter_p = 0.8;
  double grayscale_p = 0.2;
  double blur_p = 0.5;
  double cutmix_p = 0.0;
  double mixup_alpha = 0.0;
  // ---- model (method.md; see ModelOptions for the pieces) ------------------------------------------
  std::string backbone = "resnet18";
  std::string features = "hash";
  int hash_bits = 64;
  std::string head = "decoder";
  std::string decoder_memory = "spatial";
  int decoder_width = 256;
  bool learnable_queries = false;
  double decoder_query_std = 0.0625;
  bool momentum = true;
  double moco_m = 0.99;
  std::string moco_m_schedule = "constant";
  bool symmetric = false;
  bool key_gradient = true;
  bool query_positives = false;
  int key_batch_groups = 4;
  int queue_size = 1024;
  std::string loss = "paco";
  double tau = 0.07;
  double alpha = 0.05;
  double paco_beta = 1.0;
  double paco_gamma = 1.0;
  std::string positive_weighting = "fixed_total";
  double alpha_total = 1.0;
  std::string contrastive_schedule = "constant";
  double label_smoothing = 0.0;
  std::string predict_prior = "train";
  double lambda_q = 0.05;
  double hash_beta_rate = 0.005;
  std::string bins;
  // ---- training ------------------------------------------------------------------------------------
  int epochs = 100;
  int batch_size = 128;
  double lr = 0.05;
  double head_lr_scale = 1.0;
  double weight_decay = 5e-4;
  double sgd_momentum = 0.9;
  double warmup_epochs = 5;
  int self_supervised_epochs = 0;
  double grad_clip = 0;
  double model_ema = 0;
  int64_t max_steps = 0;
  int eval_every = 1;
  std::string precision = "fp32";
  bool channels_last = true;
  bool flip_test = true;
  // ---- runtime -------------------------------------------------------------------------------------
  int threads = 0;
  std::string device = "cpu";

  // Names, meanings and addresses of the keys above, for TOML, flags and printing (one list, here).
  struct Field {
    std::string name;     // TOML key; the flag is --name with '-' for '_'
    std::string section;  // data, augment, model, train or runtime: which subcommands show the flag
    std::string help;
    std::variant<int*, int64_t*, uint64_t*, double*, bool*, std::string*> value;
  };
  std::vector<Field> fields();

  // The short side images are decoded and cached at (decode_short_side, or 2 x image_size).
  int effective_decode_short_side() const { return decode_short_side > 0 ? decode_short_side : 2 * image_size; }
};

// One key's value as TOML: 0.05, 1.0, true, 'resnet18'.
std::string value_to_toml(const Config::Field& field);

// The config as TOML, each key followed by its meaning: what --print-config shows and run folders keep.
std::string config_to_toml(Config config);

// Reads TOML into `config`, key by key, except the keys in `skip` (given as flags, which win). Throws
// UserError naming the file, the line and the key for invalid TOML, an unknown key or a wrong type.
void apply_config_file(const std::string& path, Config& config, const std::vector<std::string>& skip = {});
void apply_config_text(const std::string& text, const std::string& path, Config& config,
                       const std::vector<std::string>& skip = {});

}  // namespace trashcl
