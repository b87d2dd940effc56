// trashcl: train, evaluate and serve household-garbage image classifiers (see README.md).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/commands.h"
#include "common/error.h"

int main(int argc, char** argv) {
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
