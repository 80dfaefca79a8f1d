#!/usr/bin/env bash
# CI: the GPU path keeps compiling. `cargo check` (no codegen) of the `wgpu` feature in the
# same target directory as the default build: burn's crates are re-checked with the wgpu
# features, wgpu/naga/cubecl-wgpu are new. It builds offline from crates.io alone. Measured
# after a default release build: 16 m 07 s wall on 2 cores shared with ≈ 4 other builds (load
# ≈ 9); 511 s of CPU (user + system) in a second run; see the README ("Performance and GPU backends"). The `cuda` feature is not checked:
# its build script downloads an LLVM bundle from outside the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
cargo check --release --features wgpu
echo "== cargo check --release --features wgpu: $(( $(date +%s) - start )) s"
