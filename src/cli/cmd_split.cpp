// trashcl split: a stratified, seeded split manifest (path,label,split) of an ImageFolder dataset.
#include <fmt/format.h>

#include <iostream>
#include <map>

#include "cli/commands.h"
#include "data/dataset.h"

namespace trashcl {

void add_split_command(CLI::App& app) {
  struct Options {
    std::string data, out, ratios = "0.7,0.13,0.17";
    uint64_t seed = 0;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("split", "write a stratified split manifest path,label,split");
  command->add_option("--data", options->data, "dataset root: <class>/<image> folders")->required();
  command->add_option("--out", options->out, "manifest CSV to write")->required();
  command->add_option("--seed", options->seed, "shuffling seed")->capture_default_str();
  command->add_option("--ratios", options->ratios, "train,val,test fractions")->capture_default_str();
  command->callback([options] {
    const Dataset dataset = list_image_folder(options->data);
    const auto entries = make_stratified_split(dataset, parse_split_ratios(options->ratios), options->seed);
    write_split_csv(options->out, entries);
    std::map<std::string, int> per_split;
    for (const auto& entry : entries) ++per_split[entry.split];
    std::cout << fmt::format("wrote {}: {} train, {} val, {} test images in {} classes\n", options->out,
                             per_split["train"], per_split["val"], per_split["test"], dataset.class_names.size());
  });
}

}  // namespace trashcl
