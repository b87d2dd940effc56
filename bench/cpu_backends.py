#!/usr/bin/python3
# Batch-1 latency of torchvision's ResNet-18 at 224 px through the CPU back ends Debian's PyTorch has: eager,
# TorchScript frozen + optimize_for_inference (fp32 oneDNN, what trashcl's fused backbone matches), XNNPACK
# (optimize_for_mobile) and int8 post-training quantisation on the oneDNN quantized engine (FX, 4 random
# calibration batches, so the timing is real and the accuracy is not measured here).
# Usage: /usr/bin/python3 bench/cpu_backends.py [threads] [samples]
import copy
import sys
import time

import torch
import torchvision
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
from torch.utils.mobile_optimizer import optimize_for_mobile

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
samples = int(sys.argv[2]) if len(sys.argv) > 2 else 30
torch.set_num_threads(threads)
torch.backends.quantized.engine = "onednn"
model = torchvision.models.resnet18(num_classes=6).eval()
image = torch.randn(1, 3, 224, 224)


def p50_ms(forward):
    for _ in range(3):
        forward(image)
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        forward(image)
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[len(times) // 2]


with torch.no_grad():
    calibrated = prepare_fx(copy.deepcopy(model), get_default_qconfig_mapping("onednn"), example_inputs=(image,))
    for _ in range(4):
        calibrated(torch.randn(2, 3, 224, 224))
    paths = {
        "eager fp32": model,
        "optimize_for_inference fp32": torch.jit.optimize_for_inference(torch.jit.script(model)),
        "xnnpack fp32": optimize_for_mobile(torch.jit.script(model)),
        "int8 onednn": convert_fx(calibrated),
    }
    print(f"# torch {torch.__version__}, {threads} threads, {samples} samples, engines "
          f"{torch.backends.quantized.supported_engines}")
    for name, forward in paths.items():
        print(f"{name:30} p50 {p50_ms(forward):7.1f} ms")
