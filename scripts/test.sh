#!/usr/bin/env bash
# The test command: first the data tests (loader, cache, decoder, dataset) under AddressSanitizer in a
# separate build folder, build-asan/ - that is where threads, untrusted bytes and memory meet - then the
# whole suite in the Release build with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRASHCL_SANITIZE=address \
  -DTRASHCL_BENCHMARKS=OFF >/dev/null
cmake --build build-asan --parallel "$(nproc)" --target trashcl_data_tests
(cd build-asan && ASAN_OPTIONS=detect_leaks=0 ctest --output-on-failure -R '^(Loader|ImageCache|Decode|Dataset)')

bash scripts/build.sh
(cd build && ctest --output-on-failure --timeout 900)
