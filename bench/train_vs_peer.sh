#!/usr/bin/env bash
# CPU training throughput of the full method: trashcl's `bench train` on real TrashNet JPEGs through its own
# loader against the Python peer (`peer.py --mode paco`, torchvision DataLoader with 2 workers), same model
# (ResNet-18, hash fusion, group decoder over the 4 code tokens, PaCo with a labelled queue), image size, batch
# and threads, in one run. Target (issue): trashcl >= 1.3x the peer's img/s.
# Precision bf16 runs both under bf16 autocast (trashcl `--precision bf16`, the peer `--bf16`); it pays on CPUs with
# AMX / AVX-512 BF16 and is many times slower than fp32 without them. trashcl trains channels-last (its default).
# Usage: bash bench/train_vs_peer.sh [build folder] [image size] [batch] [steps] [precision]
#        (defaults: build 128 32 20 fp32)
set -euo pipefail
cd "$(dirname "$0")/.."
trashcl=${1:-build}/trashcl
size=${2:-128}
batch=${3:-32}
steps=${4:-20}
precision=${5:-fp32}
peer_precision=()
if [[ $precision == bf16 ]]; then peer_precision=(--bf16); fi
data=../shared/data/trashnet
split=$data/splits/seed0.csv
export OMP_WAIT_POLICY=PASSIVE

echo "# $(date -u +%Y-%m-%d) $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "${size} px, batch $batch, $precision, 2 threads, load average $(cut -d' ' -f1-3 /proc/loadavg)"
ours=$("$trashcl" bench train --data "$data" --split "$split" --backbone resnet18 --image-size "$size" \
  --batch-size "$batch" --loss paco --decoder-memory codes --queue-size 1024 --threads 2 --loader-threads 1 \
  --precision "$precision" --steps "$steps" --warmup 5 --json)
peer=$(/usr/bin/python3 ../shared/bench/peer.py --data "$data" --split "$split" --mode paco --arch resnet18 \
  --size "$size" --bs "$batch" --queue 1024 --workers 2 --threads 2 --device cpu --max-steps $((steps + 5)) "${peer_precision[@]}" \
  | sed -n 's/^RESULT //p')
/usr/bin/python3 - "$ours" "$peer" <<'PY'
import json, sys
ours, peer = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ratio = ours["train_img_per_s"] / peer["train_img_per_s"]
print(f"trashcl {ours['train_img_per_s']:.1f} img/s (data wait {100 * ours['data_share']:.1f}%, "
      f"peak RSS {ours['peak_rss_mib']:.0f} MiB)  peer {peer['train_img_per_s']:.1f} img/s  ratio {ratio:.2f}x "
      f"(target >= 1.3: {'met' if ratio >= 1.3 else 'not met'})")
print("trashcl " + json.dumps(ours))
print("peer    " + json.dumps(peer))
PY
