// Backbone registry: shapes and gradients for every name, and the ResNets against torchvision's fixtures
// (tests/model/fixtures/<arch>_param_names.txt, written by tools/resnet_param_names.py).
#include "model/backbone.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "common/error.h"
#include "model/resnet.h"

namespace trashcl {
namespace {

// ---- torchvision fixture ------------------------------------------------------------------------------

struct StateEntry {
  std::string name;
  bool is_parameter = false;
  std::vector<int64_t> shape;
};

// Stage output of torchvision in float64 eval mode with the deterministic weights and input below.
struct ReferenceOutput {
  std::vector<int64_t> shape;
  double sum = 0, sum_of_squares = 0;
  std::array<double, 4> samples{};  // at flat indices 0, numel/3, 2*numel/3, numel-1
};

struct TorchvisionFixture {
  int64_t parameter_count = -1;
  std::vector<StateEntry> entries;  // torchvision's state_dict order, fc.* left out
  std::map<std::string, ReferenceOutput> references;  // by stage: "c3", "c4", "c5"
};

std::vector<int64_t> parse_shape(const std::string& text) {
  std::vector<int64_t> shape;
  if (text == "scalar") return shape;
  std::istringstream sizes(text);
  std::string size;
  while (std::getline(sizes, size, ',')) shape.push_back(std::stoll(size));
  return shape;
}

TorchvisionFixture read_fixture(const std::string& architecture) {
  const std::string path =
      std::string(TRASHCL_SOURCE_DIR) + "/tests/model/fixtures/" + architecture + "_param_names.txt";
  std::ifstream file(path);
  if (!file) {
    ADD_FAILURE() << path << ": cannot open; write it with /usr/bin/python3 tools/resnet_param_names.py";
    return {};
  }
  TorchvisionFixture fixture;
  std::string line;
  while (std::getline(file, line)) {
    std::istringstream fields(line);
    std::string first, second, third;
    fields >> first >> second >> third;
    if (first == "#" && second == "parameter_count") {
      fixture.parameter_count = std::stoll(third);
    } else if (first == "#" && second == "reference") {
      ReferenceOutput reference;
      std::string shape;
      fields >> shape >> reference.sum >> reference.sum_of_squares;
      for (double& sample : reference.samples) fields >> sample;
      reference.shape = parse_shape(shape);
      fixture.references[third] = reference;
    } else if (first != "#" && !first.empty()) {
      fixture.entries.push_back({first, second == "parameter", parse_shape(third)});
    }
  }
  return fixture;
}

// ---- the C++ module seen as a torchvision state_dict ----------------------------------------------------

struct ModuleTensor {
  std::string name;
  bool is_parameter;
  torch::Tensor tensor;
};

// PyTorch's state_dict order: each module's own parameters, then its own buffers, then its children in turn.
std::vector<ModuleTensor> state_dict_order(const torch::nn::Module& model) {
  std::vector<ModuleTensor> tensors;
  for (const auto& module : model.named_modules(/*name_prefix=*/"", /*include_self=*/true)) {
    const std::string prefix = module.key().empty() ? "" : module.key() + ".";
    for (const auto& parameter : module.value()->named_parameters(/*recurse=*/false)) {
      tensors.push_back({prefix + parameter.key(), true, parameter.value()});
    }
    for (const auto& buffer : module.value()->named_buffers(/*recurse=*/false)) {
      tensors.push_back({prefix + buffer.key(), false, buffer.value()});
    }
  }
  return tensors;
}

std::string describe(const std::string& name, bool is_parameter, at::IntArrayRef shape) {
  return name + (is_parameter ? " parameter " : " buffer ") + c10::str(shape);
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// sin(1.7 k + offset), k = 0..numel-1: the same formula as tools/resnet_param_names.py.
torch::Tensor deterministic_values(int64_t numel, double offset) {
  return torch::sin(1.7 * torch::arange(numel, torch::kFloat64) + offset);  // [numel]
}

// Mirrors fill_deterministic() in tools/resnet_param_names.py; the offset is the state_dict index.
void fill_deterministic(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  const auto tensors = state_dict_order(model);
  for (size_t index = 0; index < tensors.size(); ++index) {
    const auto& [name, is_parameter, tensor] = tensors[index];
    if (ends_with(name, "num_batches_tracked")) continue;
    auto values = deterministic_values(tensor.numel(), 0.3 * static_cast<double>(index)).reshape(tensor.sizes());
    if (tensor.dim() == 4) {  // conv weight
      tensor.copy_(values * 2.0 / std::sqrt(static_cast<double>(tensor[0].numel())));
    } else if (ends_with(name, "running_var")) {
      tensor.copy_(1.0 + 0.5 * values * values);
    } else if (ends_with(name, "weight")) {
      tensor.copy_(1.0 + 0.1 * values);
    } else {
      tensor.copy_(0.1 * values);
    }
  }
}

const ResNetArchitecture& architecture_named(const std::string& name) {
  for (const auto& architecture : resnet_architectures()) {
    if (architecture.name == name) return architecture;
  }
  throw std::invalid_argument("no ResNet architecture " + name);
}

// ---- every registered backbone ----------------------------------------------------------------------

// The channel counts the header documents; a new backbone must add its own here.
const std::map<std::string, std::array<int64_t, 3>> kDocumentedChannels = {
    {"resnet18", {128, 256, 512}},
    {"resnet34", {128, 256, 512}},
    {"resnet50", {512, 1024, 2048}},
    {"tiny", {16, 32, 64}},
};

int64_t test_image_size(const std::string& name) { return name == "tiny" ? 32 : 64; }

void expect_stage(const torch::Tensor& stage, std::vector<int64_t> expected_shape, const std::string& what) {
  ASSERT_TRUE(stage.defined()) << what;
  EXPECT_EQ(stage.sizes().vec(), expected_shape) << what;
  EXPECT_TRUE(torch::isfinite(stage).all().item<bool>()) << what;
}

class BackboneEveryName : public ::testing::TestWithParam<std::string> {};

TEST_P(BackboneEveryName, ForwardGivesDocumentedShapesAndFiniteValues) {
  torch::manual_seed(0);
  const auto backbone = make_backbone(GetParam());
  ASSERT_EQ(kDocumentedChannels.count(GetParam()), 1u) << "document the channels of " << GetParam();
  const auto channels = kDocumentedChannels.at(GetParam());
  EXPECT_EQ(backbone->channels(), channels);

  const int64_t size = test_image_size(GetParam());
  const auto images = torch::randn({2, 3, size, size});  // [B,3,H,W]
  const auto features = backbone->forward(images);
  expect_stage(features.c3, {2, channels[0], size / 8, size / 8}, "c3");
  expect_stage(features.c4, {2, channels[1], size / 16, size / 16}, "c4");
  expect_stage(features.c5, {2, channels[2], size / 32, size / 32}, "c5");
}

TEST_P(BackboneEveryName, BackwardReachesTheFirstConv) {
  torch::manual_seed(0);
  const auto backbone = make_backbone(GetParam());
  const int64_t size = test_image_size(GetParam());
  const auto features = backbone->forward(torch::randn({2, 3, size, size}));
  (features.c3.sum() + features.c4.sum() + features.c5.sum()).backward();

  // Every backbone registers its first conv first, so its weight is the first parameter.
  const auto first = backbone->named_parameters()[0];
  ASSERT_EQ(first.value().dim(), 4) << first.key() << " is not a conv weight";
  const auto gradient = first.value().grad();
  ASSERT_TRUE(gradient.defined()) << first.key();
  EXPECT_TRUE(torch::isfinite(gradient).all().item<bool>()) << first.key();
  EXPECT_GT(gradient.abs().sum().item<double>(), 0.0) << first.key();
}

TEST_P(BackboneEveryName, ChannelsLastInputGivesTheSameFeatures) {
  torch::manual_seed(0);
  const auto backbone = make_backbone(GetParam());
  backbone->eval();
  torch::NoGradGuard no_grad;
  const int64_t size = test_image_size(GetParam());
  const auto images = torch::randn({2, 3, size, size});  // [B,3,H,W]
  const auto contiguous = backbone->forward(images);
  const auto channels_last = backbone->forward(images.contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(torch::allclose(contiguous.c3, channels_last.c3, 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(contiguous.c4, channels_last.c4, 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(contiguous.c5, channels_last.c5, 1e-4, 1e-5));
}

INSTANTIATE_TEST_SUITE_P(Backbone, BackboneEveryName, ::testing::ValuesIn(backbone_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(BackboneRegistry, UnknownNameThrowsUserErrorListingTheKnownNames) {
  try {
    make_backbone("resnet101x");
    FAIL() << "expected UserError";
  } catch (const UserError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("resnet101x"), std::string::npos) << message;
    for (const auto& name : backbone_names()) EXPECT_NE(message.find(name), std::string::npos) << message;
  }
}

TEST(BackboneRegistry, ListsEveryDocumentedName) {
  const auto names = backbone_names();
  for (const auto& [name, channels] : kDocumentedChannels) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
}

// ---- ResNets against torchvision --------------------------------------------------------------------

class BackboneTorchvision : public ::testing::TestWithParam<std::string> {};

TEST_P(BackboneTorchvision, StateDictNamesKindsAndShapesMatch) {
  const auto fixture = read_fixture(GetParam());
  ASSERT_FALSE(fixture.entries.empty());
  const auto backbone = make_backbone(GetParam());
  const auto tensors = state_dict_order(*backbone);
  ASSERT_EQ(tensors.size(), fixture.entries.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& expected = fixture.entries[i];
    ASSERT_EQ(describe(tensors[i].name, tensors[i].is_parameter, tensors[i].tensor.sizes()),
              describe(expected.name, expected.is_parameter, expected.shape))
        << "entry " << i;
  }

  // named_parameters() and named_buffers() walk the same order, each keeping its own kind.
  std::vector<std::string> expected_parameters, expected_buffers, parameters, buffers;
  for (const auto& entry : fixture.entries) {
    (entry.is_parameter ? expected_parameters : expected_buffers).push_back(entry.name);
  }
  for (const auto& parameter : backbone->named_parameters()) parameters.push_back(parameter.key());
  for (const auto& buffer : backbone->named_buffers()) buffers.push_back(buffer.key());
  EXPECT_EQ(parameters, expected_parameters);
  EXPECT_EQ(buffers, expected_buffers);
}

TEST_P(BackboneTorchvision, StageOutputsMatchTorchvisionForTheSameWeights) {
  const auto fixture = read_fixture(GetParam());
  ASSERT_EQ(fixture.references.size(), 3u);
  ResNet backbone(architecture_named(GetParam()));
  backbone->to(torch::kFloat64);
  backbone->eval();
  fill_deterministic(*backbone);
  torch::NoGradGuard no_grad;

  const auto images = deterministic_values(3 * 64 * 64, 0.0).reshape({1, 3, 64, 64});  // [1,3,64,64]
  const auto features = backbone->forward(images);
  const std::map<std::string, torch::Tensor> stages = {
      {"c3", features.c3}, {"c4", features.c4}, {"c5", features.c5}};
  for (const auto& [stage, output] : stages) {
    const auto& reference = fixture.references.at(stage);
    ASSERT_EQ(output.sizes().vec(), reference.shape) << stage;
    const auto tolerance = [](double expected) { return 1e-9 * std::max(1.0, std::abs(expected)); };
    EXPECT_NEAR(output.sum().item<double>(), reference.sum, tolerance(reference.sum)) << stage;
    EXPECT_NEAR(output.square().sum().item<double>(), reference.sum_of_squares,
                tolerance(reference.sum_of_squares))
        << stage;
    const auto flat = output.flatten();
    const int64_t numel = flat.numel();
    const std::array<int64_t, 4> indices = {0, numel / 3, 2 * numel / 3, numel - 1};
    for (size_t i = 0; i < indices.size(); ++i) {
      EXPECT_NEAR(flat[indices[i]].item<double>(), reference.samples[i], tolerance(reference.samples[i]))
          << stage << " at flat index " << indices[i];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backbone, BackboneTorchvision, ::testing::Values("resnet18", "resnet34", "resnet50"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(BackboneTorchvision, Resnet18ParameterCountMatches) {
  const auto fixture = read_fixture("resnet18");
  int64_t fixture_rows = 0;
  for (const auto& entry : fixture.entries) {
    if (entry.is_parameter) fixture_rows += c10::multiply_integers(entry.shape);
  }
  ASSERT_GT(fixture.parameter_count, 0) << "the fixture has no '# parameter_count' line";
  EXPECT_EQ(fixture_rows, fixture.parameter_count);

  int64_t count = 0;
  for (const auto& parameter : make_backbone("resnet18")->parameters()) count += parameter.numel();
  EXPECT_EQ(count, fixture.parameter_count);
}

// ---- initialisation ---------------------------------------------------------------------------------

// BN gamma 1 and beta 0 everywhere, except that zero_init_residual zeroes the gamma of each block's last norm
// (bn2 in a BasicBlock, bn3 in a Bottleneck).
double expected_norm_value(const std::string& name, bool bottleneck, bool zero_init_residual) {
  const bool is_gamma = ends_with(name, ".weight");
  if (!is_gamma) return 0.0;
  const bool is_last_norm_of_block =
      name.rfind("layer", 0) == 0 && ends_with(name, bottleneck ? ".bn3.weight" : ".bn2.weight");
  return zero_init_residual && is_last_norm_of_block ? 0.0 : 1.0;
}

TEST(BackboneInitialisation, ZeroInitResidualZeroesOnlyEachBlocksLastGamma) {
  for (const std::string name : {"resnet18", "resnet50"}) {  // one BasicBlock and one Bottleneck architecture
    const auto& architecture = architecture_named(name);
    for (const bool zero_init_residual : {true, false}) {
      ResNet backbone(architecture, zero_init_residual);
      int64_t zeroed_gammas = 0;
      for (const auto& parameter : backbone->named_parameters()) {
        const auto& key = parameter.key();
        const bool is_norm = key.find("bn") != std::string::npos || key.find("downsample.1") != std::string::npos;
        if (!is_norm) continue;
        const double expected = expected_norm_value(key, architecture.bottleneck, zero_init_residual);
        EXPECT_TRUE(torch::all(parameter.value() == expected).item<bool>()) << name << " " << key;
        zeroed_gammas += ends_with(key, ".weight") && expected == 0.0;
      }
      const auto& blocks = architecture.blocks_per_stage;
      EXPECT_EQ(zeroed_gammas, zero_init_residual ? blocks[0] + blocks[1] + blocks[2] + blocks[3] : 0) << name;
    }
  }
}

TEST(BackboneInitialisation, ConvWeightsUseKaimingFanOut) {
  torch::manual_seed(0);
  const auto backbone = make_backbone("resnet18");
  for (const auto& parameter : backbone->named_parameters()) {
    if (parameter.key() != "conv1.weight") continue;
    // [64,3,7,7]: fan_out = 64*7*7 gives std sqrt(2/3136) = 0.025; fan_in = 3*7*7 would give 0.117.
    const double expected_std = std::sqrt(2.0 / (64 * 7 * 7));
    EXPECT_NEAR(parameter.value().std().item<double>(), expected_std, 0.05 * expected_std);
    return;
  }
  FAIL() << "resnet18 has no conv1.weight";
}

}  // namespace
}  // namespace trashcl
