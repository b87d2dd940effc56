#!/usr/bin/env bash
# The data-pipeline benchmark of docs/benchmarks.md: trashcl's decode, augmentation and two-view loader
# against the Python peer's torchvision two-view DataLoader, on TrashNet, in one run on this machine.
# Usage: bash bench/data_pipeline.sh [build folder]   (default build/; needs python3-torch, -torchvision, -pil)
set -euo pipefail
cd "$(dirname "$0")/.."
trashcl=${1:-build}/trashcl
data=../shared/data/trashnet
split=$data/splits/seed0.csv
peer=../shared/bench/peer.py
echo "# $(date -u +%Y-%m-%d) $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for size in 128 224; do
  echo "## ${size} px"
  "$trashcl" bench decode --data "$data" --split "$split" --image-size "$size" --json
  "$trashcl" bench augment --data "$data" --split "$split" --image-size "$size" --batch-size 64 --steps 10 --json
  "$trashcl" bench loader --data "$data" --split "$split" --image-size "$size" --batch-size 32 --steps 40 --threads 2 --json
  /usr/bin/python3 "$peer" --data "$data" --split "$split" --mode paco --loader-only --size "$size" --bs 32 \
    --workers 2 --threads 2 --max-steps 40 --device cpu | grep RESULT
done
