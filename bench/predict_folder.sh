#!/usr/bin/env bash
# `trashcl predict` over many photos: one image per forward pass against batches, in one run, alternating.
# Usage: bash bench/predict_folder.sh CHECKPOINT [build folder] [threads] [batch size] [rounds]
#        (defaults: build, 2, 32, 2). The photos are the test split of TrashNet's seed0 manifest (430 files),
#        given as paths; the time includes loading the model, decoding and the output, as a user sees it.
set -euo pipefail
cd "$(dirname "$0")/.."
checkpoint=$1
trashcl=${2:-build}/trashcl
threads=${3:-2}
batch=${4:-32}
rounds=${5:-2}
data=../shared/data/trashnet
mapfile -t photos < <(awk -F, -v root="$data" '{ sub(/\r$/, "") } $3 == "test" { print root "/" $1 }' \
  "$data/splits/seed0.csv")
[ "${#photos[@]}" -gt 0 ] || { echo "no test photos in $data/splits/seed0.csv" >&2; exit 1; }

echo "# $(date -u +'%Y-%m-%d %H:%M UTC') $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$threads threads, ${#photos[@]} photos, $checkpoint, load average $(cut -d' ' -f1-3 /proc/loadavg)"
seconds() {  # wall seconds of one predict run over every photo with batch size $1
  local start
  start=$(date +%s.%N)
  "$trashcl" predict --model "$checkpoint" --threads "$threads" --batch-size "$1" "${photos[@]}" > /dev/null ||
    return 1
  awk -v start="$start" -v end="$(date +%s.%N)" 'BEGIN { print end - start }'
}
for round in $(seq "$rounds"); do
  one=$(seconds 1) || exit 1
  many=$(seconds "$batch") || exit 1
  awk -v round="$round" -v n="${#photos[@]}" -v one="$one" -v many="$many" -v batch="$batch" 'BEGIN {
    printf "round %d: batch 1 %.1f s (%.1f img/s), batch %d %.1f s (%.1f img/s): %.2fx\n", round, one, n / one,
      batch, many, n / many, one / many }'
done
