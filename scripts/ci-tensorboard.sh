#!/usr/bin/env bash
# CI check of the TensorBoard event files and the typed Parquet tables: trains a tiny run and
# sweeps/smoke.toml, then reads them back with tensorboard's own EventAccumulator and HParams
# protos, pandas, pyarrow and polars (scripts/ci_tensorboard.py: exact values, counts, dtypes).
# A copy of the run with one corrupted byte must fail the check (TensorBoard's reader drops
# bad-CRC records silently, so passing must mean the values were compared).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CARGO_TARGET_DIR:-target}/release/normlab
VENV=${NORMLAB_TB_VENV:-$HOME/.cache/normlab-tb-venv}
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
  apt-get install -y -qq python3-venv >/dev/null
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q tensorboard pyarrow pandas polars
work=$(mktemp -d)
t0=$(date +%s)
$BIN train experiments/gpt-tiny.toml --out "$work/run" --set model.d_model=32 --set model.n_layer=2 \
  --set model.n_head=2 --set data.seq_len=32 --set data.batch_size=8 --set train.steps=60 --set train.eval_every=20 \
  2>"$work/train.err"
$BIN sweep smoke.toml --out "$work/sweep" --quiet 2>"$work/sweep.err" >/dev/null
"$VENV/bin/python" scripts/ci_tensorboard.py "$work/run" "$work/sweep"
cp -r "$work/run" "$work/bad"
f=$(ls "$work"/bad/tb/events.out.tfevents.*)
printf '\x7f' | dd of="$f" bs=1 seek=$(( $(stat -c %s "$f") / 2 )) conv=notrunc status=none
if "$VENV/bin/python" scripts/ci_tensorboard.py "$work/bad" >/dev/null 2>&1; then
  echo "ci-tensorboard: a corrupted event file passed the check"; exit 1
fi
echo "ci-tensorboard: PASS in $(( $(date +%s) - t0 )) s (corrupted copy rejected)"
