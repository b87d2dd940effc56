#!/usr/bin/env bash
# The main job on a default: synthetic images -> train the full method -> evaluate -> predict.
# Writes runs/demo-data and runs/demo (replaced on every run). Real users point --data at their photos.
set -euo pipefail
cd "$(dirname "$0")/.."
trashcl=${TRASHCL_BUILD_DIR:-build}/trashcl
rm -rf runs/demo-data runs/demo
"$trashcl" synth --out runs/demo-data --classes 4 --per-class 100 --size 96
"$trashcl" data-stats --data runs/demo-data
"$trashcl" augment-preview --data runs/demo-data --out runs/demo-views.png --n 6 --image-size 48
"$trashcl" split --data runs/demo-data --out runs/demo-split.csv
"$trashcl" train --data runs/demo-data --split runs/demo-split.csv --out runs/demo --config configs/demo.toml
"$trashcl" eval --model runs/demo/best.ckpt --data runs/demo-data --split runs/demo-split.csv
"$trashcl" predict --model runs/demo/best.ckpt runs/demo-data/can/can_000.jpg runs/demo-data/box/box_001.jpg
