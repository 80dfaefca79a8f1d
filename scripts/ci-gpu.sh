#!/usr/bin/env bash
# CI: the GPU path run on software Vulkan (Mesa's lavapipe), since CI has no GPU. Installs the
# Vulkan loader and lavapipe (and Mesa's EGL/GL, for the test that GL is refused), builds the
# release binary with `--features wgpu` in the default target directory (the deps whose
# features do not change are reused), then:
#   1. verify-reference --backend wgpu on every golden folder, with the flex tolerances;
#   2. scripts/device-check.sh --small: backend parity flex vs wgpu (GPT and nGPT, 20 steps,
#      step by step) and one throughput row per small cell;
#   3. tests/gpu.rs: the same initial weights on flex and wgpu, the adapter recorded, the
#      one-line refusals (no Vulkan driver, GL), a 2-run sweep on wgpu resuming after SIGKILL.
# Nothing here skips: without root/apt-get or without an adapter it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { echo "== ci-gpu: $1 done after $(( $(date +%s) - start )) s"; }
if ! ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 || ! ldconfig -p | grep -q 'libvulkan.so.1 ' \
   || ! ls /usr/share/glvnd/egl_vendor.d/50_mesa.json >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "ci-gpu: FAIL: needs Debian's mesa-vulkan-drivers and libvulkan1 (root and apt-get to install them)"; exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    mesa-vulkan-drivers libvulkan1 libegl1 libegl-mesa0 libgl1-mesa-dri >/dev/null
fi
step "packages (lavapipe)"
cargo build --release --features wgpu
step "cargo build --release --features wgpu"
BIN=${CARGO_TARGET_DIR:-target}/release/normlab
$BIN verify-reference --backend wgpu tests/data/reference/*/ tests/data/reference-extra/*/ | grep -E '^(==|verify-reference|FAIL)'
step "verify-reference --backend wgpu (8 golden folders)"
bash scripts/device-check.sh --small --bin "$BIN"
step "device-check.sh --small (parity)"
cargo test --release --features wgpu --test gpu
step "tests/gpu.rs"
