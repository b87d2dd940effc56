// Precompiled header: the heavy, stable headers most translation units need.
// Compiling <torch/torch.h> alone takes ~14 s; precompiling it once is the biggest build-time win.
#pragma once
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>
