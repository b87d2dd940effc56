#!/usr/bin/python3
"""Writes the torchvision ResNet fixtures that tests/model/test_backbone.cpp checks the C++ backbones against.

Run with Debian's interpreter, which has torch and torchvision:  /usr/bin/python3 tools/resnet_param_names.py
One file per architecture, tests/model/fixtures/<arch>_param_names.txt:
  # comment lines, then
  # parameter_count <sum of numel over parameters, fc excluded>
  # reference <stage> <shape> <sum> <sum of squares> <value at flat index 0> <at numel/3> <at 2*numel/3> <at numel-1>
  <state_dict key> <parameter|buffer> <shape, comma-separated; "scalar" for 0-d>
Keys are the state_dict order of torchvision.models.<arch>() without fc.*. The reference lines are the stage
outputs (C3 = layer2, C4 = layer3, C5 = layer4) in float64 eval mode for the deterministic weights and input
below, so the test checks the computation (e.g. where a Bottleneck puts its stride), not only the names.
"""
import math
import pathlib

import torch
import torchvision

ARCHITECTURES = ["resnet18", "resnet34", "resnet50"]
REFERENCE_INPUT_SHAPE = (1, 3, 64, 64)
FIXTURE_DIR = pathlib.Path(__file__).resolve().parent.parent / "tests" / "model" / "fixtures"


def deterministic_values(numel, offset):
    # sin(1.7 k + offset): aperiodic enough to tell a wrong stride or channel order apart, and reproducible in C++.
    k = torch.arange(numel, dtype=torch.float64)
    return torch.sin(1.7 * k + offset)


def fill_deterministic(model):
    """Same formula as fill_deterministic() in test_backbone.cpp; index = position in the state_dict order."""
    with torch.no_grad():
        for index, (name, tensor) in enumerate(model.state_dict().items()):
            if name.endswith("num_batches_tracked"):
                continue
            values = deterministic_values(tensor.numel(), 0.3 * index).reshape(tensor.shape)
            if tensor.dim() == 4:  # conv weight: variance 2/fan_in keeps activations O(1) through the depth
                fan_in = tensor[0].numel()
                tensor.copy_(values * 2.0 / math.sqrt(fan_in))
            elif name.endswith("running_var"):
                tensor.copy_(1.0 + 0.5 * values * values)
            elif name.endswith("weight"):  # BN gamma
                tensor.copy_(1.0 + 0.1 * values)
            else:  # BN beta, running_mean
                tensor.copy_(0.1 * values)


def stage_outputs(model, images):
    x = model.maxpool(model.relu(model.bn1(model.conv1(images))))
    c2 = model.layer1(x)
    c3 = model.layer2(c2)
    c4 = model.layer3(c3)
    c5 = model.layer4(c4)
    return {"c3": c3, "c4": c4, "c5": c5}


def shape_text(shape):
    return ",".join(str(size) for size in shape) if len(shape) > 0 else "scalar"


def write_fixture(arch):
    model = getattr(torchvision.models, arch)()  # random init; only names and shapes are read from it
    parameter_names = {name for name, _ in model.named_parameters()}
    lines = [
        f"# torchvision {torchvision.__version__} (torch {torch.__version__}) {arch}() state_dict without fc.*",
        "# written by tools/resnet_param_names.py; rerun it rather than editing this file",
    ]
    parameter_count = sum(p.numel() for name, p in model.named_parameters() if not name.startswith("fc."))
    lines.append(f"# parameter_count {parameter_count}")

    model = model.double().eval()
    fill_deterministic(model)
    images = deterministic_values(math.prod(REFERENCE_INPUT_SHAPE), 0.0).reshape(REFERENCE_INPUT_SHAPE)
    with torch.no_grad():
        outputs = stage_outputs(model, images)
    for stage, output in outputs.items():
        flat = output.flatten()
        samples = [flat[i].item() for i in (0, flat.numel() // 3, 2 * flat.numel() // 3, flat.numel() - 1)]
        numbers = [output.sum().item(), output.square().sum().item()] + samples
        lines.append(f"# reference {stage} {shape_text(output.shape)} " + " ".join(f"{v:.17g}" for v in numbers))

    for name, tensor in model.state_dict().items():
        if name.startswith("fc."):
            continue
        kind = "parameter" if name in parameter_names else "buffer"
        lines.append(f"{name} {kind} {shape_text(tensor.shape)}")

    path = FIXTURE_DIR / f"{arch}_param_names.txt"
    path.write_text("\n".join(lines) + "\n")
    print(f"{path}: {parameter_count} parameters")


def main():
    FIXTURE_DIR.mkdir(parents=True, exist_ok=True)
    for arch in ARCHITECTURES:
        write_fixture(arch)


if __name__ == "__main__":
    main()
