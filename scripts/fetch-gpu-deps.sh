#!/usr/bin/env bash
# Unpacks, into deps/ (git-ignored), the Debian 12 packages that scripts/gpu-check.sh needs and a GPU machine
# with PyTorch 2.x, nvcc, CMake and ninja usually lacks: CLI11, nlohmann-json, spdlog, fmt, toml++, libexif,
# cpp-httplib (with the OpenSSL, zlib and brotli headers its pkg-config file asks for), GoogleTest and
# pkg-config. Run it on a Debian 12 machine with network access (apt-get download needs no
# root and installs nothing); then carry deps/ to the GPU machine beside the working tree.
# Usage: bash scripts/fetch-gpu-deps.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# -dev packages (headers, CMake/pkg-config files, link-time .so symlinks) and the runtime libraries they point
# to. OpenSSL's and zlib's runtime libraries are left out: every machine with Python has them.
packages=(
  libcli11-dev nlohmann-json3-dev
  libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
  libtomlplusplus-dev libtomlplusplus3
  libexif-dev libexif12
  libcpp-httplib-dev libcpp-httplib0.11 libssl-dev zlib1g-dev libbrotli-dev libbrotli1
  libgtest-dev libgmock-dev
  pkgconf pkgconf-bin libpkgconf3
)

downloads=$(mktemp -d)
trap 'rm -rf "$downloads"' EXIT
chmod 777 "$downloads"  # apt's unprivileged download user writes here
(cd "$downloads" && apt-get download -q "${packages[@]}")

rm -rf deps
mkdir -p deps
for deb in "$downloads"/*.deb; do
  dpkg -x "$deb" deps
done
ls "$downloads" >deps/PACKAGES
# deps/ travels with the working tree: drop what no build step reads (documentation, static libraries other
# than GoogleTest's, which Debian ships only static).
rm -rf deps/usr/share/doc deps/usr/share/man
find deps -name '*.a' ! -name 'libgtest*' ! -name 'libgmock*' -delete

# What gpu-check.sh relies on: CMake package files, pkg-config files and the libraries behind them.
arch_lib=deps/usr/lib/x86_64-linux-gnu
missing=0
for file in \
  deps/usr/share/cmake/CLI11/CLI11Config.cmake \
  deps/usr/share/cmake/nlohmann_json/nlohmann_jsonConfig.cmake \
  "$arch_lib"/cmake/spdlog/spdlogConfig.cmake \
  "$arch_lib"/cmake/fmt/fmt-config.cmake \
  "$arch_lib"/cmake/GTest/GTestConfig.cmake \
  "$arch_lib"/pkgconfig/libexif.pc \
  "$arch_lib"/pkgconfig/tomlplusplus.pc \
  "$arch_lib"/pkgconfig/cpp-httplib.pc "$arch_lib"/pkgconfig/openssl.pc "$arch_lib"/pkgconfig/libbrotlidec.pc \
  deps/usr/include/httplib.h deps/usr/include/openssl/ssl.h deps/usr/include/zlib.h \
  "$arch_lib"/libexif.so "$arch_lib"/libfmt.so "$arch_lib"/libspdlog.so "$arch_lib"/libtomlplusplus.so \
  "$arch_lib"/libcpp-httplib.so "$arch_lib"/libbrotlidec.so.1 \
  "$arch_lib"/libgtest.a "$arch_lib"/libgmock.a \
  deps/usr/bin/pkgconf; do
  if [ ! -e "$file" ]; then
    echo "fetch-gpu-deps: missing $file after unpacking (package names or layout changed?)" >&2
    missing=1
  fi
done
[ "$missing" -eq 0 ] || exit 1
echo "deps/: $(wc -l <deps/PACKAGES) packages, $(du -sh deps | cut -f1)"
