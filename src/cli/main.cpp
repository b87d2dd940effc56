// trashcl: train, evaluate and serve household-garbage image classifiers (see README.md).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/error.h"
#include "common/spelling.h"

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

// The top-level command and the subcommands chosen under it, outermost first: {trashcl, index, build}.
std::vector<const CLI::App*> chosen_commands(const CLI::App& app) {
  std::vector<const CLI::App*> chain{&app};
  while (!chain.back()->get_subcommands().empty()) chain.push_back(chain.back()->get_subcommands().front());
  return chain;
}

// CLI11 checks for missing required flags before it looks at unknown ones, so a misspelt required flag
// (`predict --modle M x.jpg`) would be answered "--model is required". Whatever the first complaint, arguments
// the command does not know come first, each with the flag or command it most likely meant.
std::optional<CLI::ExtrasError> unknown_arguments_error(const CLI::App& app) {
  const std::vector<std::string> unknown = app.remaining(true);
  if (unknown.empty()) return std::nullopt;
  const auto chain = chosen_commands(app);
  std::vector<std::string> flags;  // the long flags of the chosen command and the commands above it
  for (const CLI::App* command : chain) {
    for (const CLI::Option* option : command->get_options()) {
      for (const auto& name : option->get_lnames()) flags.push_back("--" + name);
    }
  }
  std::vector<std::string> commands;  // the subcommands one could have chosen next
  for (const CLI::App* next : chain.back()->get_subcommands([](const CLI::App*) { return true; })) {
    commands.push_back(next->get_name());
  }
  std::string message = unknown.size() > 1 ? "unknown arguments:" : "unknown argument:";
  for (const auto& argument : unknown) {
    message += " " + argument;
    const bool is_flag = argument.rfind("--", 0) == 0;
    const std::string name = is_flag ? argument.substr(0, argument.find('=')) : argument;  // --epoch=3 -> --epoch
    const auto meant = trashcl::nearest_name(name, is_flag ? flags : commands);
    if (meant) message += " (did you mean " + *meant + "?)";
  }
  return CLI::ExtrasError(message, CLI::ExitCodes::ExtrasError);
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
    if (const auto unknown = unknown_arguments_error(app)) {
      app.exit(*unknown);
    } else if (chosen_commands(app).back()->get_require_subcommand_min() > 0) {
      // `trashcl` or `trashcl index` alone: the chosen command's help, which lists the subcommands to pick from
      std::cerr << app.help();
    } else {
      app.exit(error);
    }
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
