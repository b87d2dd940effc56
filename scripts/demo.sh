#!/usr/bin/env bash
# The main job on a default: synthetic images -> train the full method -> evaluate -> predict.
# Writes DIR/demo-data and DIR/demo (replaced on every run), DIR = $TRASHCL_DEMO_DIR or runs.
# Real users point --data at their photos.
set -euo pipefail
cd "$(dirname "$0")/.."
trashcl=${TRASHCL_BUILD_DIR:-build}/trashcl
out=${TRASHCL_DEMO_DIR:-runs}
rm -rf "$out/demo-data" "$out/demo"
"$trashcl" synth --out "$out/demo-data" --classes 4 --per-class 100 --size 96
"$trashcl" data-stats --data "$out/demo-data"
"$trashcl" augment-preview --data "$out/demo-data" --out "$out/demo-views.png" --n 6 --image-size 48
"$trashcl" split --data "$out/demo-data" --out "$out/demo-split.csv"
"$trashcl" train --data "$out/demo-data" --split "$out/demo-split.csv" --out "$out/demo" --config configs/demo.toml
"$trashcl" eval --model "$out/demo/best.ckpt" --data "$out/demo-data" --split "$out/demo-split.csv"
"$trashcl" predict --model "$out/demo/best.ckpt" "$out/demo-data/can/can_000.jpg" "$out/demo-data/box/box_001.jpg"
