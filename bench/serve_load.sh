#!/usr/bin/env bash
# Load test of `trashcl serve`: starts it on MODEL with an ephemeral port, sends classify requests over
# CONNECTIONS keep-alive connections for SECONDS, prints req/s and latency percentiles, stops the server.
# Usage: bash bench/serve_load.sh MODEL.ckpt [SECONDS=20] [CONNECTIONS=4] [IMAGE] [-- trashcl_serve_load flags]
#   BUILD_DIR (default build) names the build folder; SERVE_ARGS adds flags to `trashcl serve`, e.g. "--max-batch 4".
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: bash bench/serve_load.sh MODEL.ckpt [SECONDS] [CONNECTIONS] [IMAGE]}
seconds=${2:-20}
connections=${3:-4}
image=${4:-}
shift $(( $# < 4 ? $# : 4 ))
[ "${1:-}" = "--" ] && shift
build=${BUILD_DIR:-build}

out=$(mktemp)
err=$(mktemp)
# shellcheck disable=SC2086  # SERVE_ARGS is a list of flags
"$build/trashcl" serve --model "$model" --port 0 ${SERVE_ARGS:-} >"$out" 2>"$err" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$out" "$err"' EXIT

# The server's first line on stdout is its address; loading the model takes a moment.
for _ in $(seq 1 600); do
  grep -q '^listening on ' "$out" && break
  if ! kill -0 "$server" 2>/dev/null; then cat "$err" >&2; exit 1; fi
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$out" | head -1)
[ -n "$url" ] || { echo "trashcl serve did not start in 60 s" >&2; cat "$err" >&2; exit 1; }

echo "# $(date -u +%Y-%m-%d) $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# trashcl serve --model $model ${SERVE_ARGS:-}; $connections connections for $seconds s"
status=0
"$build/bench/trashcl_serve_load" --url "$url" --seconds "$seconds" --connections "$connections" \
  ${image:+--image "$image"} "$@" || status=$?
curl -s "$url/metrics" 2>/dev/null | grep -E '^trashcl_batch_size_(sum|count)' || true
kill -TERM "$server"
wait "$server"
exit $status
