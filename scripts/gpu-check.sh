#!/usr/bin/env bash
# The GPU check: builds trashcl against the machine's CUDA PyTorch, runs the test suites with a CUDA device
# (CPU-vs-CUDA agreement of every custom module, the CUDA inference path) and the CUDA benchmarks (training
# step, two-view loader, predict latency), and writes logs and JSON results to $OUT (default ./out).
#
# For a machine with one NVIDIA GPU, PyTorch 2.x with CUDA, nvcc, CMake and ninja. The Debian packages such a
# machine lacks (CLI11, nlohmann-json, spdlog, fmt, toml++, libexif, cpp-httplib, GoogleTest, pkg-config) come
# from deps/: run `bash scripts/fetch-gpu-deps.sh` on a Debian 12 machine and carry deps/ along. TrashNet is
# read from ../shared/data/trashnet, else shared/data/trashnet inside the checkout, else the benchmarks use
# synthetic images.
#
# Sized for a 15-minute slot: every step has a time limit and the whole run a budget (BUDGET_S, default 600 s);
# the build (about 4 minutes on 16 cores) comes first, then the CUDA tests, the benchmarks and the full suites.
# Exit status 0 only when everything built, every test ran and passed (a skipped test fails the check: here
# CUDA is there, so nothing may skip for want of it) and every benchmark ran.
#
# Usage: bash scripts/gpu-check.sh [--configure-only]
#   env: OUT (./out), BUILD_DIR (build-cuda), JOBS (16), BUDGET_S (600), PYTHON (python3), TRASHNET (see above)
#   --configure-only: check the environment and configure the build, nothing else (also works without a GPU).
set -uo pipefail  # no -e: a failed step is recorded and the run goes on, so one slot answers everything it can
cd "$(dirname "$0")/.." || exit 1
root=$PWD
OUT=${OUT:-$root/out}
BUILD_DIR=${BUILD_DIR:-build-cuda}
JOBS=${JOBS:-16}
BUDGET_S=${BUDGET_S:-600}
PYTHON=${PYTHON:-python3}
configure_only=0
[ "${1:-}" = "--configure-only" ] && configure_only=1
export OMP_WAIT_POLICY=PASSIVE

mkdir -p "$OUT"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
summary=$OUT/summary.txt
: >"$summary"
: >"$OUT/bench.jsonl"
failures=0
note() { echo "$*" | tee -a "$summary"; }
fail() { note "FAIL: $*"; failures=$((failures + 1)); }
seconds_left() { echo $((BUDGET_S - SECONDS)); }
# Runs "$@" with at most $1 seconds, never past the budget (keeping 20 s for the summary).
limited() {
  local limit=$1 left
  shift
  left=$(($(seconds_left) - 20))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -le 5 ]; then
    echo "out of time budget: not run: $*" >&2
    return 124
  fi
  timeout --kill-after=10 "$limit" "$@"
}

deps=$root/deps/usr
arch_lib=$deps/lib/x86_64-linux-gnu
# The libraries from deps/ and what they load in turn (cpp-httplib -> brotli) for the programs built here.
with_deps() { LD_LIBRARY_PATH="$arch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }

# ---- environment -----------------------------------------------------------------------------------------
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "host: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 || echo "nvidia-smi: not there"
  "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), "cxx11_abi", torch.compiled_with_cxx11_abi())' 2>&1
  nvcc --version 2>&1 | tail -1
  cmake --version | head -1
  ninja --version
  "${CXX:-c++}" --version | head -1
  echo "deps: $(tr '\n' ' ' <deps/PACKAGES 2>/dev/null || echo 'deps/ missing')"
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

if [ ! -x "$deps/bin/pkgconf" ]; then
  fail "deps/ is missing: run 'bash scripts/fetch-gpu-deps.sh' on a Debian 12 machine and carry deps/ along"
  exit 1
fi
if ! torch_prefix=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null); then
  fail "$PYTHON cannot import torch (set PYTHON to the interpreter that has PyTorch)"
  exit 1
fi
if [ "$("$PYTHON" -c 'import torch; print(int(torch.compiled_with_cxx11_abi()))')" != 1 ]; then
  fail "this PyTorch uses the pre-C++11 std::string ABI; the Debian libraries in deps/ use the C++11 one"
  exit 1
fi

trashnet=${TRASHNET:-}
if [ -z "$trashnet" ]; then
  for candidate in ../shared/data/trashnet shared/data/trashnet; do
    [ -f "$candidate/splits/seed0.csv" ] && trashnet=$candidate && break
  done
fi
if [ -n "$trashnet" ]; then
  note "TrashNet: $trashnet"
else
  note "TrashNet: not found; benchmarks use synthetic images"
fi

# ---- configure and build ---------------------------------------------------------------------------------
# deps/ is a sysroot for pkg-config (libexif, toml++, cpp-httplib) and a CMake prefix for the rest.
export PKG_CONFIG_LIBDIR=$arch_lib/pkgconfig:$deps/share/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$root/deps
# trashcl has no CUDA code of its own: the architecture (Hopper by default) only satisfies Torch's CMake files,
# which enable the CUDA language.
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
command -v nvcc >/dev/null || [ ! -x /usr/local/cuda/bin/nvcc ] || export PATH=/usr/local/cuda/bin:$PATH
cuda_flags=()
if command -v nvcc >/dev/null; then
  cuda_flags=(-DCMAKE_CUDA_COMPILER="$(command -v nvcc)" -DCMAKE_CUDA_ARCHITECTURES="${TORCH_CUDA_ARCH_LIST//./}")
  # CUDA 12.9+ has only the header-only NVTX 3; Torch's CMake files look for it in their own source tree and
  # otherwise link the removed CUDA::nvToolsExt, which fails. Point them at the toolkit's copy.
  cuda_include=$(dirname "$(dirname "$(command -v nvcc)")")/include
  [ -d "$cuda_include/nvtx3" ] && cuda_flags+=(-DUSE_SYSTEM_NVTX=ON -Dnvtx3_dir:PATH="$cuda_include")
fi
pkg_config=$(command -v pkg-config || echo "$deps/bin/pkgconf")
build_start=$SECONDS
# --no-as-needed: nothing in trashcl calls into libtorch_cuda.so directly, and a linker that drops unreferenced
# libraries would leave the programs without CUDA (torch::cuda::is_available() false).
if ! with_deps limited 240 cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$deps" -DPKG_CONFIG_EXECUTABLE="$pkg_config" "${cuda_flags[@]}" \
  -DCMAKE_EXE_LINKER_FLAGS=-Wl,--no-as-needed -DTRASHCL_BENCHMARKS=OFF -DTRASHCL_TESTS=ON >"$OUT/build.log" 2>&1; then
  tail -40 "$OUT/build.log"
  fail "cmake configure (log: build.log)"
  exit 1
fi
note "configured $BUILD_DIR in $((SECONDS - build_start)) s"
[ "$configure_only" = 1 ] && exit "$failures"

test_targets=$(ninja -C "$BUILD_DIR" -t targets all | sed -n 's/^\(trashcl_[a-z]*_tests\): .*/\1/p' | sort -u)
# shellcheck disable=SC2086  # one word per target
if ! limited 480 ninja -C "$BUILD_DIR" -j "$JOBS" trashcl $test_targets >>"$OUT/build.log" 2>&1; then
  grep -E 'error|FAILED' "$OUT/build.log" | head -40
  fail "build (log: build.log)"
  exit 1
fi
note "built trashcl and $(echo "$test_targets" | wc -w) test executables in $((SECONDS - build_start)) s"
trashcl=$BUILD_DIR/trashcl

# ---- tests -----------------------------------------------------------------------------------------------
xml_dir=$scratch/xml
mkdir -p "$xml_dir"
# run_tests NAME EXECUTABLE FILTER LIMIT_S: gtest output to tests.log, XML report to $xml_dir/NAME.xml.
run_tests() {
  local name=$1 executable=$BUILD_DIR/tests/$2 filter=$3 limit=$4 rc
  echo "==== $name: $2 --gtest_filter=$filter" >>"$OUT/tests.log"
  with_deps limited "$limit" "$executable" --gtest_filter="$filter" --gtest_output="xml:$xml_dir/$name.xml" \
    >>"$OUT/tests.log" 2>&1
  rc=$?
  [ "$rc" -eq 0 ] || fail "tests $name exited with $rc (log: tests.log)"
}
# The CUDA tests first, so that a short slot still answers them.
run_tests cuda-modules trashcl_model_tests 'CudaAgreement.*' 120
run_tests cuda-inference trashcl_train_tests 'Predictor.*:Predictor/*' 180

# ---- benchmarks ------------------------------------------------------------------------------------------
# bench NAME LIMIT_S ARGS...: one JSON line per run in bench.jsonl (with "run": NAME), stderr in bench.log.
bench() {
  local name=$1 limit=$2 result
  shift 2
  echo "==== $name: trashcl $*" >>"$OUT/bench.log"
  if result=$(with_deps limited "$limit" "$trashcl" bench "$@" --json 2>>"$OUT/bench.log"); then
    echo "$result" | "$PYTHON" -c 'import json, sys; r = json.load(sys.stdin); r["run"] = sys.argv[1]; print(json.dumps(r))' \
      "$name" >>"$OUT/bench.jsonl"
    echo "$name: $result"
  else
    fail "bench $name (log: bench.log)"
  fi
}
if [ -n "$trashnet" ]; then
  images=(--data "$trashnet" --split "$trashnet/splits/seed0.csv")
  synthetic=()
else
  synthetic_data=$scratch/synthetic
  with_deps "$trashcl" synth --out "$synthetic_data" --classes 6 --per-class 120 --size 512 >>"$OUT/bench.log" 2>&1
  images=(--data "$synthetic_data")
  synthetic=(--synthetic)
fi
cuda=(--device cuda --image-size 224 --threads 8)
bench train-resnet50-bf16-b256 240 train "${cuda[@]}" --backbone resnet50 --batch-size 256 --precision bf16 \
  --loader-threads 8 --steps 20 --warmup 5 "${images[@]}"
bench loader-b256 120 loader "${cuda[@]}" --batch-size 256 --loader-threads 8 --steps 20 --warmup 3 "${images[@]}"
for backbone in resnet18 resnet50; do
  bench "predict-$backbone" 120 predict "${cuda[@]}" --backbone "$backbone" --batch-size 256 --steps 300 --warmup 10 \
    --batch-steps 10 --flip-test=false "${images[@]}" "${synthetic[@]}"
done
bench predict-resnet18-module-forward 120 predict "${cuda[@]}" --backbone resnet18 --batch-size 256 --steps 300 \
  --warmup 10 --batch-steps 10 --flip-test=false --fold-batch-norm=false --fuse-backbone=false "${images[@]}" "${synthetic[@]}"
peer=$(dirname "$trashnet")/../bench/peer.py
if [ -n "$trashnet" ] && [ -f "$peer" ]; then
  echo "==== peer predict latency (resnet18, cuda)" >>"$OUT/bench.log"
  if peer_result=$(limited 120 "$PYTHON" "$peer" --data "$trashnet" --split "$trashnet/splits/seed0.csv" --mode paco \
    --arch resnet18 --size 224 --threads 8 --workers 0 --device cuda --predict-latency 300 2>>"$OUT/bench.log" |
    sed -n 's/^RESULT //p'); then
    echo "{\"run\": \"peer-predict-resnet18\", \"peer\": $peer_result}" >>"$OUT/bench.jsonl"
    echo "peer-predict-resnet18: $peer_result"
  else
    note "peer predict latency did not run (log: bench.log); not counted as a failure"
  fi
fi

# ---- the full suites -------------------------------------------------------------------------------------
# The model and inference suites first: what a GPU changes most. The browser test drives Debian's chromium,
# which a GPU image does not have: it is left out there (and said so), not counted as a failure.
everything='*'
if [ ! -x /usr/bin/chromium ]; then
  everything='*-ServeBrowser.*'
  note "no /usr/bin/chromium: ServeBrowser.* not run"
fi
for target in trashcl_model_tests trashcl_train_tests $test_targets; do
  case " ${done_targets:-} " in *" $target "*) continue ;; esac
  done_targets="${done_targets:-} $target"
  run_tests "${target#trashcl_}" "$target" "$everything" 240
done

# ---- what ran, what failed, what was skipped ------------------------------------------------------------
# The tests read the data from ../shared (compiled in), whichever copy the benchmarks found.
shared_data_for_tests=$([ -d ../shared/data ] && echo yes)
"$PYTHON" - "$xml_dir" "$shared_data_for_tests" >>"$summary" <<'EOF'
import glob, os, sys
import xml.etree.ElementTree as ET
xml_dir, shared_data = sys.argv[1], sys.argv[2]
ran = failed = 0
skipped = []
for path in sorted(glob.glob(os.path.join(xml_dir, "*.xml"))):
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname')}.{case.get('name')}"
        if case.find("skipped") is not None or case.get("result") == "skipped":
            message = (case.find("skipped").get("message", "") if case.find("skipped") is not None else "").strip()
            skipped.append((name, message))
        elif case.get("status") == "run":
            ran += 1
            failed += case.find("failure") is not None
print(f"tests: {ran} ran, {failed} failed, {len(skipped)} skipped (suite runs overlap: the CUDA tests run twice)")
for name, message in skipped:
    # Only a test that wants ../shared/data may skip, and only when the data did not come along.
    allowed = not shared_data and "shared/data" in message
    print(f"{'skipped (no ../shared/data here)' if allowed else 'FAIL: skipped'}: {name}: {message.splitlines()[0] if message else ''}")
EOF
skip_failures=$(grep -c '^FAIL: skipped' "$summary")
failures=$((failures + skip_failures))
note "total $SECONDS s of a $BUDGET_S s budget; $failures failure(s)"
for log in "$OUT"/*.log; do  # files come back from a GPU slot only up to 16 MiB each
  if [ "$(stat -c %s "$log")" -gt 8000000 ]; then
    tail -c 8000000 "$log" >"$log.tail" && mv "$log.tail" "$log"
  fi
done
if [ "$failures" -eq 0 ]; then
  note "GPU CHECK PASSED"
  exit 0
fi
note "GPU CHECK FAILED"
exit 1
