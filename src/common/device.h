// The device a command runs on, from its --device option or its config's `device` key.
#pragma once
#include <c10/core/Device.h>

#include <string>

namespace trashcl {

// Throws a UserError that quotes the name unless it is one trashcl runs on: cpu, cuda, or cuda:N for GPU number N.
void require_device_name(const std::string& name);

// The device a name stands for; a UserError that quotes the name when it is not a device name or names a GPU
// that this build or machine does not have.
c10::Device chosen_device(const std::string& name);

}  // namespace trashcl
