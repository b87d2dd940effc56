#!/usr/bin/env bash
# Configures and builds trashcl in Release (folder: $TRASHCL_BUILD_DIR, default build/). Extra arguments go to
# CMake, e.g. -DTRASHCL_SANITIZE=address or -DCMAKE_PREFIX_PATH=<a CUDA LibTorch>.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${TRASHCL_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build_dir" --parallel "$(nproc)"
