#!/usr/bin/env bash
# Denormal benchmark (not a test): step time of a near-unstable high-LR run over a low-LR run
# of the same model (νGPT d=128 of sweeps/lr-transfer.toml: L=2 T=64 B=16, 1 thread), with
# flush-to-zero on and off. Subnormal floats appear as training nears instability and cost
# microcode assists on x86 (up to 8x on Sapphire Rapids); with FTZ the ratio should be ≈ 1.
# The step time is the run's median (summary.json step_time_s), so with STEPS ≥ 2×warm-up it
# reflects the steps after the first few hundred.   Usage: scripts/bench-denormals.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${1:-500}"
cargo build --release --quiet
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
lscpu | grep -m1 'Model name' || true
step_time() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["step_time_s"])' "$1/summary.json"; }
for ftz in true false; do
  for lr in 6.4e-2 1e-3; do
    RAYON_NUM_THREADS=1 target/release/normlab train experiments/gpt-tiny.toml --quiet --out "$out/$ftz-$lr" \
      --set arch='"ngpt"' --set param.name='"nugpt"' --set param.base_width=32 --set param.base_depth=2 \
      --set param.base_steps=500 --set model.d_model=128 --set model.n_head=8 --set model.n_layer=2 \
      --set data.seq_len=64 --set data.batch_size=16 --set optim.warmup_steps=0 --set optim.weight_decay=0.0 \
      --set optim.lr="$lr" --set train.steps="$steps" --set train.eval_every="$steps" \
      --set train.checkpoint_every=0 --set train.flush_denormals="$ftz" >/dev/null 2>&1
  done
  hi="$(step_time "$out/$ftz-6.4e-2")"; lo="$(step_time "$out/$ftz-1e-3")"
  python3 -c "import sys; h,l=map(float,sys.argv[2:]); print(f'flush_denormals={sys.argv[1]}: step lr 6.4e-2 {h*1e3:.1f} ms, lr 1e-3 {l*1e3:.1f} ms, ratio {h/l:.3f}')" "$ftz" "$hi" "$lo"
done
