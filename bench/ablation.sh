#!/usr/bin/env bash
# The ablation table of docs/benchmarks.md: the full method and each component switched off in turn, plus the
# plain cross-entropy baseline, all with the same backbone, input size, epochs and seed, on TrashNet's seed0
# split. Each run selects its checkpoint on validation (best.ckpt) and reads the test split once.
# Usage: bash bench/ablation.sh CONFIG.toml OUT_DIR [variant...]   (default: every variant; extra flags: $TRAIN_FLAGS)
# Prints one markdown row per variant (also written to OUT_DIR/table.md).
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:?usage: bench/ablation.sh CONFIG.toml OUT_DIR [variant...]}
out=${2:?usage: bench/ablation.sh CONFIG.toml OUT_DIR [variant...]}
shift 2
trashcl=${TRASHCL_BUILD_DIR:-build}/trashcl
data=${TRASHCL_DATA:-../shared/data/trashnet}
split=$data/splits/seed0.csv
export OMP_WAIT_POLICY=PASSIVE

declare -A flags=(
  [ce-baseline]="--loss ce --head linear --features pool --momentum=false"
  [full]=""
  [no-hash]="--features pool"
  [linear-head]="--head linear"
  [ce-instead-of-paco]="--loss ce --momentum=false"
  [no-momentum]="--momentum=false"
)
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(ce-baseline full no-hash linear-head ce-instead-of-paco no-momentum)

mkdir -p "$out"
for variant in "${variants[@]}"; do
  [ -n "${flags[$variant]+set}" ] || { echo "unknown variant '$variant'; use one of: ${!flags[*]}" >&2; exit 1; }
  run="$out/$variant"
  command="$trashcl train --data $data --split $split --config $config ${flags[$variant]} ${TRAIN_FLAGS:-} --out $run"
  rm -rf "$run"
  start=$(date +%s)
  $command > "$out/$variant.log" 2>&1
  minutes=$(( ($(date +%s) - start + 30) / 60 ))
  "$trashcl" eval --model "$run/best.ckpt" --data "$data" --split "$split" --subset test --json > "$run/test.json"
  row=$(/usr/bin/python3 - "$run/test.json" "$run/metrics.csv" <<'PY'
import csv, json, sys
test = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
best = max(rows, key=lambda r: float(r["val_top1"]))
print(f'{100 * test["top1"]:.1f} | {100 * test["macro_f1"]:.1f} | {100 * float(best["val_top1"]):.1f} (epoch {best["epoch"]})')
PY
)
  echo "| $variant | $row | $minutes min | \`$command\` |" | tee -a "$out/table.md"
done
