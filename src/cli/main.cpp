// trashcl: train, evaluate and serve household-garbage image classifiers (see README.md).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "common/error.h"

namespace {

// OpenMP threads that spin while they wait for work take the cores from the loader, decoder and HTTP threads
// that run beside them (training ran 2-4x slower on 2 cores). The runtime reads OMP_WAIT_POLICY once, when it
// is loaded, so when the user has not chosen a policy the process starts itself again with PASSIVE. Commands
// that decode and then run the model one batch after another, with nothing beside them, keep the runtime's
// default (spin briefly, then sleep): single-image predict answered ~15% sooner with it.
bool runs_the_model_alone(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "", stage = argc > 2 ? argv[2] : "";
  return command == "predict" || command == "search" || (command == "bench" && stage == "predict");
}

void use_passive_openmp_waits(int argc, char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || runs_the_model_alone(argc, argv)) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: carry on with the runtime's default policy
}

}  // namespace

int main(int argc, char** argv) {
  use_passive_openmp_waits(argc, argv);
  spdlog::set_default_logger(spdlog::stderr_color_mt("trashcl"));
  spdlog::set_pattern("%^%l%$: %v");

  CLI::App app{"trashcl " TRASHCL_VERSION ": household-garbage image classifiers trained with contrastive learning"};
  app.set_version_flag("--version", "trashcl " TRASHCL_VERSION);
  app.require_subcommand(1);
  trashcl::add_synth_command(app);
  trashcl::add_split_command(app);
  trashcl::add_data_stats_command(app);
  trashcl::add_augment_preview_command(app);
  trashcl::add_train_command(app);
  trashcl::add_eval_command(app);
  trashcl::add_predict_command(app);
  trashcl::add_bench_command(app);
  trashcl::add_serve_command(app);
  trashcl::add_index_command(app);
  trashcl::add_search_command(app);

  try {
    app.parse(argc, argv);  // runs the chosen subcommand's callback
  } catch (const CLI::Success& success) {
    return app.exit(success);  // --help, --version
  } catch (const CLI::ParseError& error) {
    app.exit(error);
    return 1;
  } catch (const trashcl::UserError& error) {
    std::cerr << "error: " << error.what() << '\n';
    return 1;
  } catch (const trashcl::BadImageError& error) {
    std::cerr << "error: " << error.what() << '\n';
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "internal error: " << error.what() << "\nplease report this with the command that caused it\n";
    return 2;
  }
  return 0;
}
