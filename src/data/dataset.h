// Datasets on disk: the ImageFolder layout (root/<class>/<image>) and split manifests (path,label,split).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace trashcl {

struct Sample {
  std::string path;  // relative to the dataset root, '/'-separated
  int label = 0;     // index into Dataset::class_names
};

struct Dataset {
  std::filesystem::path root;
  std::vector<std::string> class_names;  // sorted, so class indices are stable across machines and runs
  std::vector<Sample> samples;           // list_image_folder: by class, then file name; from a split: its order

  std::filesystem::path file(const Sample& sample) const { return root / sample.path; }
  std::vector<int64_t> class_counts() const;  // [N]
  std::vector<double> class_prior() const;    // [N], counts / total
};

// Lists root/<class>/<file> with class folders and files in byte-wise sorted order. Hidden entries (".x")
// are ignored; every other file is listed, and decoding later decides whether it is an image.
// Throws UserError when root is missing, not a folder, or has no class folder with a file in it; the message
// names `option`, the command-line flag the folder came from.
Dataset list_image_folder(const std::filesystem::path& root, const std::string& option = "--data");

// The image files under `folder` and its subfolders, in byte-wise sorted path order: every file named like an
// image (.jpg, .jpeg, .png, ...) or starting with a JPEG or PNG signature; hidden entries (".x") are skipped.
// Throws UserError naming the folder when it cannot be listed.
std::vector<std::filesystem::path> list_image_files(const std::filesystem::path& folder);

// ---- split manifests -------------------------------------------------------------------------------
struct SplitEntry {
  std::string path;   // relative to the dataset root
  std::string label;  // class name
  std::string split;  // "train", "val" or "test"
};

struct SplitRatios {
  double train = 0.7, val = 0.13, test = 0.17;
};
// Parses "0.7,0.13,0.17"; throws UserError unless three non-negative numbers summing to 1 (±1e-6).
SplitRatios parse_split_ratios(const std::string& text);

// Per class: shuffle with the seed, then take round(train*n) for train, round(val*n) for val, the rest test.
// Every split of a class with >= 3 images gets at least one. Same dataset + seed -> the same manifest.
std::vector<SplitEntry> make_stratified_split(const Dataset& dataset, const SplitRatios& ratios, uint64_t seed);

// CSV with the header path,label,split (RFC 4180 quoting for commas and quotes). read_split_csv throws
// UserError naming the file and line for a missing header, a wrong column count or an unknown split name.
std::vector<SplitEntry> read_split_csv(const std::filesystem::path& file);
void write_split_csv(const std::filesystem::path& file, const std::vector<SplitEntry>& entries);

// The samples of one split ("train", "val", "test", or "all"). Class names are the sorted labels of the
// whole manifest, so indices agree across splits. Throws UserError naming `source` (the manifest's path, or
// what made the entries) if the split is empty or none of its files exists under `root`.
Dataset dataset_from_split(const std::filesystem::path& root, const std::vector<SplitEntry>& entries,
                           const std::string& split, const std::string& source);

// What a command's --data and --split select: the whole folder root/<class>/<image> when split_csv is empty,
// else the samples of one split of that manifest, under root.
Dataset select_dataset(const std::filesystem::path& root, const std::string& split_csv, const std::string& split);

}  // namespace trashcl
