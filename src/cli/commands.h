// The subcommands of the trashcl binary; each file cmd_*.cpp adds one to the app.
#pragma once
#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "infer/int8_calibration.h"

namespace trashcl {

void add_split_command(CLI::App& app);
void add_data_stats_command(CLI::App& app);
void add_augment_preview_command(CLI::App& app);
void add_synth_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_index_command(CLI::App& app);
void add_search_command(CLI::App& app);

// Number checks whose message names the bound (CLI11 2.1's PositiveNumber prints a range up to DBL_MAX):
// "--k: must be greater than 0, not 0", "--k: 'x' is not a number".
extern const CLI::Validator positive_number;      // > 0
extern const CLI::Validator non_negative_number;  // >= 0

// Intra-op threads for tensor math: `requested`, or one per core when 0.
void set_compute_threads(int requested);

// --predict-prior for the commands that use a trained model: sets `predict_prior` when given.
void add_predict_prior_option(CLI::App& command, std::optional<std::string>& predict_prior);

// --int8-calibration FOLDER and --int8-calibration-images N for the commands that predict.
void add_int8_options(CLI::App& command, Int8Calibration& calibration);

}  // namespace trashcl
