#!/usr/bin/env bash
# normlab vs PyTorch-CPU training throughput (issue "normlab / PyTorch-CPU tokens/s").
#
# Same GPT / nGPT on both sides (standard RoPE, SwiGLU d->8d->d, untied lm_head, AdamW
# (0.9, 0.95) eps 1e-8, wd 0.1 on >=2-D tensors for GPT / 0 for nGPT, global clip 1.0,
# nGPT normalisation inside the step), random tokens, T=128, batch 16, vocab 256, L=4, H=4,
# d in {128, 256}. PyTorch side: scripts/bench_torch.py (peer model scripts/torch_peer.py).
# normlab side: `normlab bench --arch A --set model.d_model=D ...` (tok/s column).
#
# Runs alternate A B A B (PyTorch, normlab) per (d, arch) and repetition, so each pair shares
# the machine's noise; ratio = normlab tok/s / PyTorch tok/s of one pair.
#
# FLOP count per trained token: 6*N_mm + 12*L*T*d, with N_mm = 16*L*d^2 + V*d the parameters
# in matmuls (q,k,v,o = 4d^2, c_fc 8d^2, mlp_c_proj 4d^2 per block, lm_head V*d; the wte lookup
# is not a matmul) and 12*L*T*d the attention scores + weighted sum (fwd+bwd, no causal
# discount). nGPT's extra normalisations are not counted. Peak: best f32 1024^3 torch.mm at
# the same thread count.
#
# The LAST line is machine-readable:
#   bench: gpt_vs_torch=R ngpt_vs_torch=R ngpt_vs_gpt=R angpt_vs_gptplus=R
# gpt_vs_torch / ngpt_vs_torch: median of all pairwise normlab/PyTorch tok/s ratios (both d);
# ngpt_vs_gpt, angpt_vs_gptplus: normlab step-time ratios from one
# `normlab bench --arch gpt,ngpt,gpt_plus,angpt` at d=128 (angpt_vs_gptplus =
# angpt_vs_gpt / gpt_plus_vs_gpt); > 1 means the first is slower.
#
# PyTorch runs get OMP_WAIT_POLICY=PASSIVE by default (--omp-wait active for libgomp's
# default spinning): on a machine that is also busy with other work (compiles, sweeps), the
# spinning OpenMP barrier made PyTorch up to 9x slower at 2 threads (751 vs 6946 tok/s, GPT d=128,
# load average 7 on 2 cores), which measures the contention, not the library.
#
# Usage: scripts/bench-vs-torch.sh [--reps N] [--steps N] [--warmup N] [--threads N]
#                                  [--ratio-steps N] [--dims "128 256"] [--no-build]
#                                  [--omp-wait passive|active]
set -euo pipefail

REPS=3
STEPS=10
WARMUP=2
THREADS=2
RATIO_STEPS=20
DIMS="128 256"
BUILD=1
OMP_WAIT=passive
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --ratio-steps) RATIO_STEPS=$2; shift 2 ;;
    --dims) DIMS=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --omp-wait) OMP_WAIT=$2; shift 2 ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$ROOT/.venv-bench
PY=$VENV/bin/python
BIN=$ROOT/target/release/normlab
L=4; H=4; T=128; B=16; V=256

# ---- environment -------------------------------------------------------------------------
if [ ! -x "$PY" ]; then
  echo "creating $VENV" >&2
  python3 -m venv "$VENV"
fi
if ! "$PY" -c "import torch, numpy, safetensors" 2>/dev/null; then
  echo "installing torch numpy safetensors into $VENV" >&2
  "$PY" -m pip install torch numpy safetensors
fi
if [ "$BUILD" = 1 ]; then
  if [ ! -x "$BIN" ] || [ -n "$(find "$ROOT/src" "$ROOT/Cargo.toml" "$ROOT/Cargo.lock" -newer "$BIN" -print -quit 2>/dev/null)" ]; then
    echo "building normlab (release)" >&2
    if ! (cd "$ROOT" && cargo build --release >&2); then
      if [ -x "$BIN" ]; then echo "warning: build failed, using the existing $BIN" >&2; else exit 1; fi
    fi
  fi
fi
[ -x "$BIN" ] || { echo "no $BIN" >&2; exit 1; }

export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS RAYON_NUM_THREADS=$THREADS
if [ "$OMP_WAIT" = passive ]; then export OMP_WAIT_POLICY=PASSIVE; fi
RES=$(mktemp)
trap 'rm -f "$RES"' EXIT
START=$(date +%s)

echo "# normlab $($BIN --version 2>/dev/null | head -1), binary $(date -r "$BIN" '+%F %T'), git $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "# $("$PY" -c 'import torch;print("torch", torch.__version__, "cpu:", torch.backends.cpu.get_cpu_capability())'), threads $THREADS, OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-default}, load avg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# config: L=$L H=$H T=$T batch=$B vocab=$V d in {$DIMS}; steps $STEPS (+$WARMUP warmup) per run, $REPS reps"

# ---- peak --------------------------------------------------------------------------------
"$PY" "$ROOT/scripts/bench_torch.py" --peak --threads "$THREADS" | sed 's/^/peak /' >> "$RES"
tail -1 "$RES" | sed 's/^peak /# matmul peak: /'

# ---- A B A B -----------------------------------------------------------------------------
for D in $DIMS; do
  for r in $(seq 1 "$REPS"); do
    for A in gpt ngpt; do
      tj=$("$PY" "$ROOT/scripts/bench_torch.py" --arch "$A" --d-model "$D" --n-layer $L --n-head $H \
            --seq-len $T --batch $B --vocab $V --steps "$STEPS" --warmup "$WARMUP" --threads "$THREADS")
      ttok=$(echo "$tj" | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["tokens_per_s"])')
      echo "torch $A $D $r $ttok" >> "$RES"
      nout=$("$BIN" bench --arch "$A" --vocab $V --steps "$STEPS" --warmup "$WARMUP" \
              --set model.d_model="$D" --set model.n_layer=$L --set model.n_head=$H \
              --set data.seq_len=$T --set data.batch_size=$B)
      ntok=$(echo "$nout" | awk -v a="$A" '$1==a {print $2}')
      [ -n "$ntok" ] || { echo "could not parse normlab bench output:"$'\n'"$nout" >&2; exit 1; }
      echo "normlab $A $D $r $ntok" >> "$RES"
      printf '# d=%-4s rep %s %-5s torch %8.1f tok/s   normlab %8.1f tok/s\n' "$D" "$r" "$A" "$ttok" "$ntok"
    done
  done
done

# ---- normlab architecture ratios -----------------------------------------------------------
rout=$("$BIN" bench --arch gpt,ngpt,gpt_plus,angpt --vocab $V --steps "$RATIO_STEPS" --warmup "$WARMUP")
echo "$rout" | sed 's/^/# normlab> /'
echo "$rout" | grep '^step-time ratios:' | sed 's/^step-time ratios:/ratios/' >> "$RES"

# ---- summary -------------------------------------------------------------------------------
"$PY" - "$RES" "$L" "$T" "$V" "$(( $(date +%s) - START ))" <<'EOF'
import json, statistics, sys
path, L, T, V, elapsed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
runs, peak, ratios = {}, None, {}
for line in open(path):
    kind, rest = line.split(" ", 1)
    if kind == "peak":
        peak = json.loads(rest)
    elif kind == "ratios":
        ratios = {k: float(v) for k, v in (kv.split("=") for kv in rest.split())}
    else:
        arch, d, rep, tok = rest.split()
        runs.setdefault((arch, int(d)), {}).setdefault(kind, {})[int(rep)] = float(tok)

def flops_per_token(d):
    return 6 * (16 * L * d * d + V * d) + 12 * L * T * d

pk = peak["gflops_best"]
print(f"matmul peak (f32 1024^3, {peak['threads']} threads): best {pk:.1f} GFLOP/s, median {peak['gflops_median']:.1f}")
print("FLOP/token = 6*(16*L*d^2 + V*d) + 12*L*T*d;  ratio = normlab/PyTorch tok/s per A-B pair")
hdr = f"{'arch':5} {'d':>4} {'torch tok/s':>12} {'normlab tok/s':>14} {'ratio min/med/max':>20} {'torch GF/s':>11} {'nl GF/s':>8} {'torch %pk':>9} {'nl %pk':>7}"
print(hdr)
print("-" * len(hdr))
allr = {"gpt": [], "ngpt": []}
for (arch, d) in sorted(runs, key=lambda k: (k[1], k[0] != "gpt")):
    r = runs[(arch, d)]
    reps = sorted(set(r["torch"]) & set(r["normlab"]))
    pr = [r["normlab"][i] / r["torch"][i] for i in reps]
    allr[arch] += pr
    tt = statistics.median(r["torch"].values())
    nt = statistics.median(r["normlab"].values())
    f = flops_per_token(d)
    print(f"{arch:5} {d:>4} {tt:>12.0f} {nt:>14.0f} {min(pr):>6.2f}/{statistics.median(pr):.2f}/{max(pr):.2f}"
          f"{tt * f / 1e9:>12.1f} {nt * f / 1e9:>8.1f} {100 * tt * f / 1e9 / pk:>8.1f}% {100 * nt * f / 1e9 / pk:>6.1f}%")
print(f"elapsed {elapsed} s")
g = statistics.median(allr["gpt"]) if allr["gpt"] else float("nan")
n = statistics.median(allr["ngpt"]) if allr["ngpt"] else float("nan")
ng = ratios.get("ngpt_vs_gpt", float("nan"))
ag = ratios.get("angpt_vs_gpt", float("nan")) / ratios.get("gpt_plus_vs_gpt", float("nan"))
print(f"bench: gpt_vs_torch={g:.3f} ngpt_vs_torch={n:.3f} ngpt_vs_gpt={ng:.3f} angpt_vs_gptplus={ag:.3f}")
EOF
