// trashcl synth: write a small synthetic ImageFolder dataset to try trashcl without data.
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "data/synth.h"

namespace trashcl {

void add_synth_command(CLI::App& app) {
  auto options = std::make_shared<SynthOptions>();
  auto out = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand("synth", "write a small synthetic image set (<class>/<image> folders)");
  command->add_option("--out", *out, "folder to write; created if missing")->required();
  add_number_option(*command, "--classes", options->classes, "number of classes (2-6)");
  add_number_option(*command, "--per-class", options->per_class, "images per class");
  add_number_option(*command, "--size", options->size, "image width in pixels (height is 3/4 of it)");
  add_number_option(*command, "--seed", options->seed, "random seed");
  command->callback([options, out] {
    write_synth_dataset(*out, *options);
    spdlog::info("wrote {} classes x {} images to {}", options->classes, options->per_class, *out);
  });
}

}  // namespace trashcl
