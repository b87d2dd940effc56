// The subcommands of the trashcl binary; each file cmd_*.cpp adds one to the app.
#pragma once
#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <type_traits>

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

// Which values a number option accepts beyond its type.
enum class NumberBound { any, non_negative, positive };

// A value that is not a T is answered "--epochs: 'ten' is not a whole number" instead of CLI11's "Could not convert:
// --epochs = ten", and a minus sign for an unsigned T is refused (CLI11 reads "-1" as 2^64 - 1). A value outside the
// bound names it: "--k: must be greater than 0, not 0" (CLI11 2.1's PositiveNumber prints a range up to DBL_MAX).
// Help shows the type (INT, UINT, FLOAT), and POSITIVE or NONNEGATIVE for a bound.
template <typename T>
CLI::Validator number_of_type(NumberBound bound = NumberBound::any) {
  static_assert(std::is_arithmetic_v<T>);
  const char* bound_name = bound == NumberBound::positive       ? "POSITIVE"
                           : bound == NumberBound::non_negative ? "NONNEGATIVE"
                                                                : "";
  return CLI::Validator(
      [bound](std::string& input) -> std::string {
        T value{};
        const bool negative_unsigned = std::is_unsigned_v<T> && input.find('-') != std::string::npos;
        if (negative_unsigned || !CLI::detail::lexical_cast(input, value)) {
          const char* kind = std::is_floating_point_v<T> ? "number"
                             : std::is_signed_v<T>       ? "whole number"
                                                         : "whole number >= 0";
          return "'" + input + "' is not a " + kind;
        }
        if (bound == NumberBound::positive && !(value > T{0})) return "must be greater than 0, not " + input;
        if (bound == NumberBound::non_negative && !(value >= T{0})) return "must be 0 or more, not " + input;
        return "";
      },
      bound_name, "NUMBER");
}

// An option holding a number, its default shown in help and its value checked by number_of_type<T>(bound).
template <typename T>
CLI::Option* add_number_option(CLI::App& command, const std::string& name, T& value, const std::string& help,
                               NumberBound bound = NumberBound::any) {
  return command.add_option(name, value, help)->capture_default_str()->check(number_of_type<T>(bound));
}

// Intra-op threads for tensor math: `requested`, or one per core when 0.
void set_compute_threads(int requested);

// --threads N for the commands that run a trained model (train has the config key `threads`): 0 or more.
void add_compute_threads_option(CLI::App& command, int& threads);

// --predict-prior for the commands that use a trained model: sets `predict_prior` when given.
void add_predict_prior_option(CLI::App& command, std::optional<std::string>& predict_prior);

// --int8-calibration FOLDER and --int8-calibration-images N for the commands that predict.
void add_int8_options(CLI::App& command, Int8Calibration& calibration);

}  // namespace trashcl
