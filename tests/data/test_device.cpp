// The --device names every command accepts, and the error for a GPU that this build or machine lacks.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "common/device.h"
#include "common/error.h"
#include "common/pch.h"

namespace trashcl {
namespace {

TEST(Device, AcceptsCpuCudaAndNumberedGpus) {
  for (const char* name : {"cpu", "cuda", "cuda:0", "cuda:12"}) EXPECT_NO_THROW(require_device_name(name)) << name;
}

TEST(Device, OtherNamesGetAnErrorQuotingThem) {
  for (const std::string name : {"gpu", "CPU", "cuda:", "cuda:x", "cuda:1a", "", "mps"}) {
    try {
      require_device_name(name);
      ADD_FAILURE() << "'" << name << "' was accepted";
    } catch (const UserError& error) {
      EXPECT_NE(std::string(error.what()).find(fmt::format("--device '{}': use cpu, cuda or cuda:N", name)),
                std::string::npos)
          << error.what();
    }
  }
}

TEST(Device, ChosenDeviceIsAGpuOnlyWhereThereIsOne) {
  EXPECT_EQ(chosen_device("cpu"), c10::Device(c10::kCPU));
  if (torch::cuda::is_available()) {
    EXPECT_EQ(chosen_device("cuda:0"), c10::Device(c10::kCUDA, 0));
  } else {
    try {
      chosen_device("cuda");
      ADD_FAILURE() << "cuda was chosen without a CUDA device";
    } catch (const UserError& error) {
      EXPECT_NE(std::string(error.what()).find("--device cuda: no CUDA device is available"), std::string::npos)
          << error.what();
    }
  }
  EXPECT_THROW(chosen_device("gpu"), UserError);
}

}  // namespace
}  // namespace trashcl
