// Process-wide runtime settings shared by the subcommands.
#include <thread>

#include "cli/commands.h"
#include "common/pch.h"

namespace trashcl {

void set_compute_threads(int requested) {
  // LibTorch defaults to one thread on some machines; ask for every core unless told otherwise.
  const int threads = requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
}

namespace {

// Accepts a number > 0, or >= 0 when zero_allowed.
CLI::Validator sign_check(bool zero_allowed, const std::string& name) {
  return CLI::Validator(
      [zero_allowed](std::string& input) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(input, value)) return "'" + input + "' is not a number";
        if (value > 0 || (zero_allowed && value == 0)) return "";
        return std::string(zero_allowed ? "must be 0 or more" : "must be greater than 0") + ", not " + input;
      },
      name, name);
}

}  // namespace

const CLI::Validator positive_number = sign_check(false, "POSITIVE");
const CLI::Validator non_negative_number = sign_check(true, "NONNEGATIVE");

void add_predict_prior_option(CLI::App& command, std::optional<std::string>& predict_prior) {
  command
      .add_option_function<std::string>(
          "--predict-prior", [&predict_prior](const std::string& prior) { predict_prior = prior; },
          "PaCo models: weigh classes by their training frequency (train) or equally (uniform); default: the "
          "model's predict_prior")
      ->check(CLI::IsMember({"train", "uniform"}));
}

void add_int8_options(CLI::App& command, Int8Calibration& calibration) {
  command.add_option("--int8-calibration", calibration.folder,
                     "run the backbone in int8 on the CPU, its activation ranges taken from images of this folder "
                     "(root/<class>/<image>, best the training data)");
  command.add_option("--int8-calibration-images", calibration.images,
                     "how many images of that folder set the ranges, spread over its classes")
      ->capture_default_str()
      ->check(positive_number);
}

}  // namespace trashcl
