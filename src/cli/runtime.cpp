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

void add_compute_threads_option(CLI::App& command, int& threads) {
  add_number_option(command, "--threads", threads, "intra-op threads for tensor math (0: one per core)",
                    NumberBound::non_negative);
}

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
  add_number_option(command, "--int8-calibration-images", calibration.images,
                    "how many images of that folder set the ranges, spread over its classes", NumberBound::positive);
}

}  // namespace trashcl
