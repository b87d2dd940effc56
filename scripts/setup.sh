#!/usr/bin/env bash
# Installs every Debian package trashcl needs to build, test and benchmark, on a fresh Debian 12 machine.
# Run as root (or with sudo). Safe to run again: apt-get skips what is already installed.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config
  # LibTorch (CPU) and the image codecs
  libtorch-dev libjpeg62-turbo-dev libpng-dev libexif-dev
  # an optimised BLAS for LibTorch's matrix products (Debian links the reference BLAS otherwise), OpenMP flavour
  # so that it shares LibTorch's thread pool instead of adding its own threads
  libopenblas0-openmp
  # command line, config, logging, JSON, HTTP
  libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libcpp-httplib-dev
  # tests and micro-benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # the browser test of the web page (headless Chromium driven through chromedriver)
  chromium chromium-driver
  # the Python peer used for side-by-side benchmarks and the reference-parity fixtures
  python3-torch python3-torchvision python3-pil
)

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

export DEBIAN_FRONTEND=noninteractive
sudo_if_needed apt-get update -qq
sudo_if_needed apt-get install -y -qq --no-install-recommends "${packages[@]}"
