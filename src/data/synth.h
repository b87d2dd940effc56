// A small synthetic image set in the ImageFolder layout, for trying trashcl without data and for tests:
// each class is a kind of object (disc, box, bar, ring, cross, triangle) in its material's colour family
// (overlapping: shape still matters), at random sizes and positions on a noisy, lit background.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/image.h"

namespace trashcl {

struct SynthOptions {
  int classes = 3;        // 2-6
  int per_class = 24;     // images per class
  int size = 96;          // width; height is 3/4 of it (like TrashNet's 4:3 photos)
  uint64_t seed = 0;
};

// The class names used for `classes` classes (a prefix of TrashNet-like names).
std::vector<std::string> synth_class_names(int classes);

// One image of class `label`; the same (label, seed) always gives the same pixels.
Image synth_image(int label, int width, int height, uint64_t seed);

// Writes root/<class>/<class>_NNN.jpg (every fourth image as .png). Throws UserError on a bad option or
// when the folder cannot be written.
void write_synth_dataset(const std::filesystem::path& root, const SynthOptions& options);

}  // namespace trashcl
