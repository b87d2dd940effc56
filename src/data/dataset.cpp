#include "data/dataset.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/csv.h"
#include "common/random.h"
#include "data/decode.h"
#include "data/encode.h"

namespace trashcl {
namespace fs = std::filesystem;

std::vector<int64_t> Dataset::class_counts() const {
  std::vector<int64_t> counts(class_names.size(), 0);
  for (const Sample& sample : samples) ++counts[sample.label];
  return counts;
}

std::vector<double> Dataset::class_prior() const {
  std::vector<double> prior(class_names.size(), 0.0);
  if (samples.empty()) return prior;
  const auto counts = class_counts();
  for (size_t c = 0; c < counts.size(); ++c) prior[c] = static_cast<double>(counts[c]) / samples.size();
  return prior;
}

namespace {

bool is_hidden(const fs::path& path) { return path.filename().string().rfind('.', 0) == 0; }

// Sorted names of the entries of `folder` that satisfy `keep` (byte-wise order, independent of locale).
template <typename Keep>
std::vector<std::string> sorted_entries(const fs::path& folder, Keep keep) {
  std::vector<std::string> names;
  std::error_code error;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    if (!is_hidden(it->path()) && keep(*it)) names.push_back(it->path().filename().string());
  }
  if (error) throw UserError(fmt::format("{}: cannot list the folder: {}", folder.string(), error.message()));
  std::sort(names.begin(), names.end());
  return names;
}

bool has_image_extension(const std::string& name) {
  std::string extension = fs::path(name).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return std::tolower(c); });
  return extension == ".jpg" || extension == ".jpeg" || extension == ".jpe" || extension == ".jfif" || extension == ".png";
}

bool starts_like_an_image(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  uint8_t head[16] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  return sniff_format(head, static_cast<size_t>(in.gcount())) != ImageFormat::unknown;
}

// A folder is a class when some file in it is meant to be an image (by its bytes or its name); a folder of
// notes or manifests (TrashNet's splits/) is not, while a class whose images are all broken still is, so
// that it is reported as empty rather than silently dropped.
bool holds_images(const fs::path& folder, const std::vector<std::string>& files) {
  return std::any_of(files.begin(), files.end(), [&](const std::string& name) {
    return has_image_extension(name) || starts_like_an_image(folder / name);
  });
}

}  // namespace

Dataset list_image_folder(const fs::path& root, const std::string& option) {
  if (!fs::exists(root)) {
    throw UserError(fmt::format("{}: no such folder; {} wants root/<class>/<image> folders", root.string(), option));
  }
  if (!fs::is_directory(root)) {
    throw UserError(fmt::format("{}: not a folder; {} wants root/<class>/<image> folders", root.string(), option));
  }
  Dataset dataset;
  dataset.root = root;
  const auto class_folders = sorted_entries(root, [](const fs::directory_entry& e) { return e.is_directory(); });
  for (const std::string& class_name : class_folders) {
    // Any non-folder entry counts, dangling links included: decoding reports what is wrong with it.
    const auto files = sorted_entries(root / class_name, [](const fs::directory_entry& e) {
      std::error_code ignored;
      return !e.is_directory(ignored);
    });
    if (!holds_images(root / class_name, files)) {
      if (!files.empty()) spdlog::info("{}: no images in it, not a class folder", (root / class_name).string());
      continue;
    }
    const int label = static_cast<int>(dataset.class_names.size());
    dataset.class_names.push_back(class_name);
    for (const std::string& file : files) dataset.samples.push_back({class_name + "/" + file, label});
  }
  if (dataset.class_names.empty()) {
    throw UserError(fmt::format("{}: no class folder with images in it; expected root/<class>/<image>, "
                                "for example {}/glass/glass1.jpg",
                                root.string(), root.string()));
  }
  return dataset;
}

std::vector<fs::path> list_image_files(const fs::path& folder) {
  std::vector<fs::path> files;
  std::error_code error;
  fs::recursive_directory_iterator it(folder, error), end;
  for (; !error && it != end; it.increment(error)) {
    std::error_code ignored;  // a dangling link named like an image is listed: decoding says what is wrong with it
    const bool is_folder = it->is_directory(ignored);
    if (is_hidden(it->path())) {
      if (is_folder) it.disable_recursion_pending();
    } else if (!is_folder &&
               (has_image_extension(it->path().filename().string()) || starts_like_an_image(it->path()))) {
      files.push_back(it->path());
    }
  }
  if (error) throw UserError(fmt::format("{}: cannot list the folder: {}", folder.string(), error.message()));
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) { return a.string() < b.string(); });
  return files;
}

SplitRatios parse_split_ratios(const std::string& text) {
  std::vector<double> values;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, ',')) {
    try {
      size_t used = 0;
      values.push_back(std::stod(part, &used));
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw UserError(fmt::format("--ratios '{}': '{}' is not a number; write e.g. 0.7,0.13,0.17", text, part));
    }
  }
  const bool valid = values.size() == 3 && std::all_of(values.begin(), values.end(), [](double v) { return v >= 0; }) &&
                     std::abs(values[0] + values[1] + values[2] - 1.0) < 1e-6;
  if (!valid) throw UserError(fmt::format("--ratios '{}': want three non-negative numbers summing to 1, e.g. 0.7,0.13,0.17", text));
  return {values[0], values[1], values[2]};
}

std::vector<SplitEntry> make_stratified_split(const Dataset& dataset, const SplitRatios& ratios, uint64_t seed) {
  std::vector<std::vector<const Sample*>> by_class(dataset.class_names.size());
  for (const Sample& sample : dataset.samples) by_class[sample.label].push_back(&sample);

  std::vector<SplitEntry> entries;
  for (size_t label = 0; label < by_class.size(); ++label) {
    auto& members = by_class[label];
    SplitMix64 rng(seed ^ (0x9E3779B97F4A7C15ull * (label + 1)));
    shuffle(members, rng);
    const int64_t n = static_cast<int64_t>(members.size());
    int64_t n_val = std::llround(ratios.val * n);
    int64_t n_test = n - std::llround(ratios.train * n) - n_val;
    if (n >= 3) {  // a class too small to split still gets one image in each evaluation split
      if (ratios.val > 0) n_val = std::max<int64_t>(n_val, 1);
      if (ratios.test > 0) n_test = std::max<int64_t>(n_test, 1);
    }
    n_test = std::max<int64_t>(n_test, 0);
    const int64_t n_train = n - n_val - n_test;
    for (int64_t i = 0; i < n; ++i) {
      const char* split = i < n_train ? "train" : (i < n_train + n_val ? "val" : "test");
      entries.push_back({members[i]->path, dataset.class_names[label], split});
    }
  }
  return entries;
}

std::vector<SplitEntry> read_split_csv(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw UserError(fmt::format("{}: cannot open the split manifest (make one with `trashcl split`)", file.string()));
  std::string line;
  if (!std::getline(in, line) || parse_csv_line(line) != std::vector<std::string>{"path", "label", "split"}) {
    throw UserError(fmt::format("{}:1: expected the header 'path,label,split'", file.string()));
  }
  std::vector<SplitEntry> entries;
  for (int line_number = 2; std::getline(in, line); ++line_number) {
    if (line.empty() || line == "\r") continue;
    const auto fields = parse_csv_line(line);
    if (fields.size() != 3) {
      throw UserError(fmt::format("{}:{}: expected 3 columns path,label,split, found {}", file.string(), line_number, fields.size()));
    }
    if (fields[2] != "train" && fields[2] != "val" && fields[2] != "test") {
      throw UserError(fmt::format("{}:{}: split '{}' is not one of train, val, test", file.string(), line_number, fields[2]));
    }
    entries.push_back({fields[0], fields[1], fields[2]});
  }
  if (entries.empty()) throw UserError(fmt::format("{}: the split manifest lists no images", file.string()));
  return entries;
}

void write_split_csv(const fs::path& file, const std::vector<SplitEntry>& entries) {
  std::ostringstream out;
  out << "path,label,split\n";
  for (const auto& entry : entries) {
    out << csv_field(entry.path) << ',' << csv_field(entry.label) << ',' << csv_field(entry.split) << '\n';
  }
  write_text_atomic(file, out.str());
}

Dataset dataset_from_split(const fs::path& root, const std::vector<SplitEntry>& entries, const std::string& split,
                           const std::string& source) {
  std::set<std::string> labels;
  for (const auto& entry : entries) labels.insert(entry.label);
  Dataset dataset;
  dataset.root = root;
  dataset.class_names.assign(labels.begin(), labels.end());
  std::map<std::string, int> label_index;
  for (size_t i = 0; i < dataset.class_names.size(); ++i) label_index[dataset.class_names[i]] = static_cast<int>(i);
  for (const auto& entry : entries) {
    if (split == "all" || entry.split == split) dataset.samples.push_back({entry.path, label_index[entry.label]});
  }
  if (dataset.samples.empty()) {
    throw UserError(fmt::format("{}: no '{}' images (the third column of a split manifest says train, val or test)",
                                source, split));
  }
  // A --data that is not the folder the manifest's paths are relative to: one error, not a warning per file.
  const bool any_on_disk = std::any_of(dataset.samples.begin(), dataset.samples.end(), [&](const Sample& sample) {
    std::error_code error;
    return fs::exists(dataset.file(sample), error);
  });
  if (!any_on_disk) {
    throw UserError(fmt::format("{}: none of its {} '{}' files is under {} (the first would be {}); give --data the "
                                "folder its paths are relative to",
                                source, dataset.samples.size(), split, root.string(),
                                dataset.file(dataset.samples.front()).string()));
  }
  return dataset;
}

Dataset select_dataset(const fs::path& root, const std::string& split_csv, const std::string& split) {
  if (split_csv.empty()) return list_image_folder(root);
  return dataset_from_split(root, read_split_csv(split_csv), split, split_csv);
}

}  // namespace trashcl
