#!/usr/bin/env bash
# The device check, for a machine with a real GPU and no network: given a normlab release
# binary built elsewhere with `--features wgpu`, stripped and xz-compressed to fit a 64 MiB
# transfer (145 MiB stripped, 24 MiB as .xz on 2026-12-06):
#
#   cargo build --release --features wgpu
#   strip -o normlab target/release/normlab && xz -T0 normlab        # → normlab.xz
#
# run from a checkout of this repository (it needs data/kjv.txt), without network:
#
#   bash scripts/device-check.sh --bin normlab.xz       # or --bin PATH of an uncompressed one
#
# 1. parity: `normlab verify-backend --backend wgpu` (GPT and nGPT with its constraint step, 20
#    steps on flex and on the GPU from the same weights, compared step by step);
# 2. throughput: `normlab bench --backend wgpu` for GPT and nGPT at d = 128, 512, 1024 and
#    T = 256, 1024 (L=4, head size 64, vocab 256), the batch chosen to fill device memory
#    (`--fill-gib`: nvidia-smi's total, or --mem-gib); tokens/s (median step) and peak memory
#    (what burn's allocator held after a step);
# 3. one summary line, `device-check: ...`, to paste into an issue.
# Cells run cheapest first; no new cell starts after --budget-s (default 210 s) and a running
# one is stopped 75 s later, so the check ends within 5 minutes; cells not run say `skipped`,
# a cell stopped `timeout`, one that ran out of device memory `oom`.
# `--small` (d = 32, 64, T = 64, batch 4, 3 timed steps) is how CI runs it on lavapipe.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${CARGO_TARGET_DIR:-target}/release/normlab
SMALL=0
API=vulkan
MEM_GIB=
BUDGET=210
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --small) SMALL=1; shift ;;
    --graphics-api) API=$2; shift 2 ;;
    --mem-gib) MEM_GIB=$2; shift 2 ;;
    --budget-s) BUDGET=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "device-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
log=$(mktemp -d)
case "$BIN" in
  *.xz) [ -f "$BIN" ] || { echo "device-check: no file $BIN" >&2; exit 2; }
        xz -dc "$BIN" > "$log/normlab" && chmod +x "$log/normlab" && BIN=$log/normlab ;;
esac
[ -x "$BIN" ] || { echo "device-check: no normlab binary at $BIN (pass --bin PATH)" >&2; exit 2; }
[ -f data/kjv.txt ] || { echo "device-check: run it from a normlab checkout (data/kjv.txt is missing)" >&2; exit 2; }
DEADLINE=$(( BUDGET + 75 ))
start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start )); }
DEV=(--backend wgpu --graphics-api "$API")

echo "== device-check: $($BIN --version) on $(hostname), CPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
if timeout "$BUDGET" "$BIN" verify-backend "${DEV[@]}" > "$log/parity.txt" 2>&1; then parity=PASS; else parity=FAIL; fi
cat "$log/parity.txt"
adapter=$(sed -n 's/^verify-backend: flex vs wgpu: //p' "$log/parity.txt" | head -1)
[ -n "$adapter" ] || { echo "device-check: no wgpu adapter (see above)"; exit 1; }
echo "== parity $parity after $(elapsed) s"

if [ "$SMALL" = 1 ]; then
  dims="32 64"; seqs="64"; steps=3; warmup=1; fill=(--set data.batch_size=4)
else
  dims="128 512 1024"; seqs="256 1024"; steps=10; warmup=2
  if [ -z "$MEM_GIB" ] && command -v nvidia-smi >/dev/null; then
    MEM_GIB=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits | head -1 | awk '{printf "%.1f", $1 / 1024}')
  fi
  [ -n "$MEM_GIB" ] || { MEM_GIB=8; echo "device-check: device memory unknown (no nvidia-smi); filling 8 GiB (--mem-gib N to say)"; }
  fill=(--fill-gib "$MEM_GIB")
fi
cells=()
for t in $seqs; do for d in $dims; do cells+=("$d:$t"); done; done
rows=()
for cell in "${cells[@]}"; do
  d=${cell%:*}; t=${cell#*:}
  if [ "$(elapsed)" -ge "$BUDGET" ]; then rows+=("d${d}_T${t}=skipped"); continue; fi
  n0=${#rows[@]}
  heads=$(( d / 64 > 2 ? d / 64 : 2 ))
  out="$log/bench-$d-$t.txt"
  if timeout $(( DEADLINE - $(elapsed) )) "$BIN" bench "${DEV[@]}" --arch gpt,ngpt --steps "$steps" --warmup "$warmup" \
      --set model.d_model="$d" --set model.n_head="$heads" --set data.seq_len="$t" "${fill[@]}" > "$out" 2>&1; then
    while read -r line; do
      a=$(sed -n 's/.*arch=\([^ ]*\).*/\1/p' <<<"$line"); b=$(sed -n 's/.*batch=\([^ ]*\).*/\1/p' <<<"$line")
      tok=$(sed -n 's/.*tok_s=\([^ ]*\).*/\1/p' <<<"$line"); mib=$(sed -n 's/.*peak_mib=\([^ ]*\).*/\1/p' <<<"$line")
      rows+=("${a}_d${d}_T${t}_b${b}=${tok}tok/s,${mib}MiB")
    done < <(grep '^bench-row:' "$out")
  else
    code=$?
    why=$( { [ $code = 124 ] && echo timeout; } || { grep -iq 'out of memory\|OutOfMemory' "$out" && echo oom; } || echo failed)
    rows+=("d${d}_T${t}=$why"); tail -3 "$out"
  fi
  echo "== d=$d T=$t after $(elapsed) s: ${rows[*]:n0}"
done
echo "device-check: adapter=\"$adapter\" parity=$parity ${rows[*]} wall=$(elapsed)s"
[ "$parity" = PASS ]
