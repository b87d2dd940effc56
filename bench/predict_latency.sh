#!/usr/bin/env bash
# Single-image predict latency of trashcl against the Python peer's plain PyTorch eval loop, ResNet-18 at 224 px,
# on the first test image of TrashNet's seed0 split, with the same number of intra-op threads, in one run.
# Target (issue): trashcl's p50 at most half the peer's.
# Usage: bash bench/predict_latency.sh [build folder] [threads] [samples]
#        (defaults: build, 2, 200; needs python3-torch, -torchvision, -pil for /usr/bin/python3)
#
# Like with like. peer.py --predict-latency times, per sample: PIL decode of the file, Resize + CenterCrop +
# ToTensor + Normalize, one forward of its paco model (ResNet-18, hash fusion, group decoder over the 4 code
# tokens, projection head) under no_grad, softmax and argmax. trashcl's predict_ms times the same steps of
# `trashcl predict` on the same file: decode, eval transform, one forward (--flip-test=false: the peer does not
# average a mirror image), top-k, with the same model shape (--decoder-memory codes). The second trashcl line
# is the model's own forward with its BatchNorms (no folding, no fused backbone): what folding and the fused
# oneDNN path give. The third is the int8 backbone (--int8-calibration, 64 TrashNet images set the activation
# ranges; the model is random, so this line is about time only - docs/benchmarks.md measures int8 accuracy).
set -euo pipefail
cd "$(dirname "$0")/.."
trashcl=${1:-build}/trashcl
threads=${2:-2}
samples=${3:-200}
data=../shared/data/trashnet
split=$data/splits/seed0.csv
peer=../shared/bench/peer.py
# Both run with the OpenMP wait policy they choose themselves (trashcl predict and PyTorch: libgomp's default,
# spin briefly then sleep), so no OMP_WAIT_POLICY here.
unset OMP_WAIT_POLICY

echo "# $(date -u +%Y-%m-%d) $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$threads threads, $samples samples, load average $(cut -d' ' -f1-3 /proc/loadavg)"

common=(bench predict --data "$data" --split "$split" --backbone resnet18 --image-size 224 --decoder-memory codes
  --flip-test=false --threads "$threads" --steps "$samples" --warmup 3 --batch-size 32 --batch-steps 3 --json)
fused=$("$trashcl" "${common[@]}")
module=$("$trashcl" "${common[@]}" --fold-batch-norm=false --fuse-backbone=false)
int8=$("$trashcl" "${common[@]}" --int8-calibration "$data")
peer_result=$(/usr/bin/python3 "$peer" --data "$data" --split "$split" --mode paco --arch resnet18 --size 224 \
  --threads "$threads" --workers 0 --device cpu --predict-latency "$samples" | sed -n 's/^RESULT //p')

/usr/bin/python3 - "$fused" "$module" "$int8" "$peer_result" <<'EOF'
import json, sys
fused, module, int8, peer = (json.loads(text) for text in sys.argv[1:5])
print(f"{'':34} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'model p50':>10} {'batch img/s':>12} {'RSS MiB':>8}")
for name, r in ((f"trashcl ({fused['backbone_path']}, BN folded)", fused), ("trashcl (module forward, BN)", module),
                (f"trashcl ({int8['backbone_path']} backbone)", int8)):
    print(f"{name:34} {r['predict_ms_p50']:8.1f} {r['predict_ms_p90']:8.1f} {r['predict_ms_p99']:8.1f} "
          f"{r['model_ms_p50']:10.1f} {r['predict_img_per_s']:12.1f} {r['peak_rss_mib']:8.0f}")
print(f"{'peer (PyTorch eval loop)':34} {peer['predict_ms_p50']:8.1f} {'':>8} {peer['predict_ms_p99']:8.1f}")
for name, r in (("float", fused), ("int8", int8)):
    ratio = peer['predict_ms_p50'] / r['predict_ms_p50']
    print(f"p50 peer / trashcl {name}: {ratio:.2f}x (target >= 2: {'met' if ratio >= 2 else 'not met'})")
print(f"module forward: {peer['predict_ms_p50'] / module['predict_ms_p50']:.2f}x")
print("trashcl " + json.dumps(fused))
print("int8    " + json.dumps(int8))
print("peer    " + json.dumps(peer))
EOF
