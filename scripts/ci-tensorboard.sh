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
  apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q tensorboard pyarrow pandas polars
work=$(mktemp -d)
t0=$(date +%s)
$BIN train experiments/gpt-tiny.toml --out "$work/run" --set model.d_model=32 --set model.n_layer=2 \
  --set model.n_head=2 --set data.seq_len=32 --set data.batch_size=8 --set train.steps=60 --set train.eval_every=20 \
  2>"$work/train.err"
$BIN sweep smoke.toml --out "$work/sweep" --quiet 2>"$work/sweep.err" >/dev/null
# A run killed (-9) after its first checkpoint and resumed: TensorBoard must show each step once,
# equal to the resumed metrics.parquet (the restart's SessionLog START drops the orphaned tail).
resume=(train experiments/gpt-tiny.toml --out "$work/resumed" --quiet --set model.d_model=32 --set model.n_layer=2
  --set model.n_head=2 --set data.seq_len=32 --set data.batch_size=8 --set train.steps=400 --set train.eval_every=50
  --set train.checkpoint_every=50)
$BIN "${resume[@]}" 2>/dev/null & pid=$!
for _ in $(seq 600); do [ -f "$work/resumed/checkpoint/state.json" ] && break; sleep 0.05; done
sleep 0.3; kill -9 $pid; wait $pid 2>/dev/null || true
[ "$(ls "$work"/resumed/tb | wc -l)" = 1 ] && [ ! -f "$work/resumed/summary.json" ] || { echo "ci-tensorboard: the kill came too late"; exit 1; }
$BIN "${resume[@]}" 2>/dev/null
"$VENV/bin/python" scripts/ci_tensorboard.py "$work/resumed"
"$VENV/bin/python" scripts/ci_tensorboard.py "$work/run" "$work/sweep"
# The HParams tab's own API on a live server: one session group per run, with its metrics.
port=$(( 16000 + $$ % 1000 ))
"$VENV/bin/tensorboard" --logdir "$work/sweep" --host 127.0.0.1 --port $port >"$work/tb.log" 2>&1 &
tb=$!
trap 'kill $tb 2>/dev/null || true' EXIT
"$VENV/bin/python" - "$port" <<'PY'
import json, sys, time, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}/data"
for _ in range(60):
    try:
        urllib.request.urlopen(f"{base}/plugins_listing", timeout=5)
        break
    except OSError:
        time.sleep(1)
query = {"experimentName": "", "allowedStatuses": ["STATUS_SUCCESS"], "colParams": [], "startIndex": 0, "sliceSize": 100}
req = urllib.request.Request(f"{base}/plugin/hparams/session_groups", json.dumps(query).encode(), {"Content-Type": "application/json"})
groups = json.load(urllib.request.urlopen(req, timeout=30))["sessionGroups"]
assert len(groups) == 6, f"{len(groups)} session groups"
for g in groups:
    assert set(g["hparams"]) == {"arch", "optim.lr", "seed"}, g["hparams"]
    assert {m["name"]["tag"] for m in g["metricValues"]} == {"hparams/final_val_loss", "hparams/best_val_loss"}, g
    assert [s["status"] for s in g["sessions"]] == ["STATUS_SUCCESS"], g
print("ci-tensorboard: HParams API lists 6 sessions with hparams and metrics")
PY
kill $tb
cp -r "$work/run" "$work/bad"
f=$(ls "$work"/bad/tb/events.out.tfevents.*)
printf '\x7f' | dd of="$f" bs=1 seek=$(( $(stat -c %s "$f") / 2 )) conv=notrunc status=none
if "$VENV/bin/python" scripts/ci_tensorboard.py "$work/bad" >/dev/null 2>&1; then
  echo "ci-tensorboard: a corrupted event file passed the check"; exit 1
fi
echo "ci-tensorboard: PASS in $(( $(date +%s) - t0 )) s (corrupted copy rejected)"
