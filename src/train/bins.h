// Disposal bins: which bin (recyclable, kitchen, hazardous, other) each class goes to. The map travels in
// the checkpoint, so prediction needs no flags.
#pragma once
#include <string>
#include <vector>

namespace trashcl {

extern const std::vector<std::string> kDisposalBins;  // recyclable, kitchen, hazardous, other

// The bin of each class: `overrides` ("battery=hazardous,peel=kitchen") first, then a built-in table of
// common names (TrashNet: trash -> other, cardboard/glass/metal/paper/plastic -> recyclable), else "other".
// Throws UserError for a malformed override, an unknown bin, or a class the overrides name but the data lacks.
std::vector<std::string> class_bins(const std::vector<std::string>& class_names, const std::string& overrides);

}  // namespace trashcl
