#!/usr/bin/env bash
# normlab vs PyTorch-CPU training throughput: torch eager, torch.compile and normlab side by side.
#
# Same GPT / nGPT on every side (standard RoPE, SwiGLU d->8d->d, untied lm_head, AdamW
# (0.9, 0.95) eps 1e-8, wd 0.1 on >=2-D tensors for GPT / 0 for nGPT, global clip 1.0,
# nGPT normalisation inside the step), random tokens. PyTorch side: scripts/bench_torch.py
# (peer model scripts/torch_peer.py); normlab side: `normlab bench --arch A --set ...`.
#
# Sections:
#   default   the headline table: d in {128, 256}, L=4, H=4, T=128, batch 16, vocab 256,
#             2 threads.
#   --small   the sweeps' path (sweeps/lr-transfer.toml): d in {32, 64, 128}, heads d/16,
#             L=2, T=64, batch 16, 1 thread (RAYON_NUM_THREADS=1 as `sweep` gives each run,
#             torch.set_num_threads(1)), vocab 73 = the char vocabulary of data/kjv.txt
#             (tokens are random, so only the lm_head's size depends on it).
#
# Per (d, rep, arch) the runs go torch eager, torch.compile, normlab one after the other, so
# each triple shares the machine's noise; a ratio is normlab tok/s / torch tok/s within one
# triple, and the table shows min/median/max over the reps.
#
# torch.compile peer (--no-compile skips it; needs a C++ compiler): the same model under
# torch.compile (inductor, default mode; nGPT's normalisation compiled too) with
# AdamW(fused=True), or foreach where the CPU build lacks the fused kernel (printed). At
# least 3 warm-up steps absorb the compilation; each run reports the first step's time and
# whether dynamo compiled a graph during the timed steps (it must not; it did not in any run
# so far). Compilation (torch 2.15, 2-core AMD EPYC, shared): the first process per model
# took 14-22 s at load ≈ 1 (small section) and 20-115 s at load 2-9 (d=128/256, 2 threads);
# later processes reuse inductor's on-disk cache (/tmp/torchinductor_$USER) and take 2-7 s.
#
# FLOP count per trained token: 6*N_mm + 12*L*T*d, with N_mm = 16*L*d^2 + V*d the parameters
# in matmuls (q,k,v,o = 4d^2, c_fc 8d^2, mlp_c_proj 4d^2 per block, lm_head V*d; the wte lookup
# is not a matmul) and 12*L*T*d the attention scores + weighted sum (fwd+bwd, no causal
# discount). nGPT's extra normalisations are not counted. Peak: best f32 1024^3 torch.mm at
# the same thread count, measured at the start (printed in the header with the CPU model and its
# vector/AMX flags) and at the end; the table uses the better of the two.
#
# The LAST line is machine-readable:
#   bench: gpt_vs_torch=R ngpt_vs_torch=R ngpt_vs_gpt=R angpt_vs_gptplus=R gpt_vs_compile=R ngpt_vs_compile=R
#   bench-small: gpt_vs_torch=R ngpt_vs_torch=R gpt_vs_compile=R ngpt_vs_compile=R worst_vs_compile=R   (--small)
# *_vs_torch / *_vs_compile: median of all per-triple normlab/eager and normlab/compile tok/s
# ratios (all d); worst_vs_compile: the smallest per-cell median of normlab/compile.
# ngpt_vs_gpt, angpt_vs_gptplus: normlab step-time ratios from one
# `normlab bench --arch gpt,ngpt,gpt_plus,angpt` at d=128 (angpt_vs_gptplus =
# angpt_vs_gpt / gpt_plus_vs_gpt); > 1 means the first is slower. nan = not measured.
#
# OpenMP: the headline numbers use torch's own default (OMP_WAIT_POLICY unset, libgomp's
# spin-then-sleep). --omp-wait passive sets OMP_WAIT_POLICY=PASSIVE for a machine busy with
# other work, where the spinning barrier once made torch up to 9x slower at 2 threads (load
# average 7 on 2 cores); it also slowed torch on an idle Xeon (GPT ratio 1.221 passive vs
# 1.107 default), so it is off by default. The header says which policy ran.
#
# Usage: scripts/bench-vs-torch.sh [--small] [--reps N] [--steps N] [--warmup N] [--threads N]
#                                  [--dims "128 256"] [--ratio-steps N] [--no-compile]
#                                  [--no-build] [--normlab PATH] [--omp-wait default|passive|active]
#   --normlab PATH  time this binary (implies --no-build), e.g. an older build kept aside.
set -euo pipefail

SMALL=0
REPS=3
STEPS=
WARMUP=2
THREADS=
RATIO_STEPS=20
DIMS=
BUILD=1
COMPILE=1
BIN=
OMP_WAIT=default
while [ $# -gt 0 ]; do
  case "$1" in
    --small) SMALL=1; shift ;;
    --reps) REPS=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --ratio-steps) RATIO_STEPS=$2; shift 2 ;;
    --dims) DIMS=$2; shift 2 ;;
    --no-compile) COMPILE=0; shift ;;
    --no-build) BUILD=0; shift ;;
    --normlab) BIN=$(realpath -m "$2"); BUILD=0; shift 2 ;;
    --omp-wait) OMP_WAIT=$2; shift 2 ;;
    -h|--help) sed -n '2,55p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
case "$OMP_WAIT" in default|passive|active) ;; *) echo "--omp-wait: expected default, passive or active, got '$OMP_WAIT'" >&2; exit 2 ;; esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$ROOT/.venv-bench
PY=$VENV/bin/python
if [ "$SMALL" = 1 ]; then
  SECTION=small; L=2; T=64; B=16; V=73
  : "${THREADS:=1}" "${DIMS:=32 64 128}" "${STEPS:=30}"
else
  SECTION=main; L=4; T=128; B=16; V=256
  : "${THREADS:=2}" "${DIMS:=128 256}" "${STEPS:=10}"
fi
heads() { if [ "$SECTION" = small ]; then echo $(($1 / 16)); else echo 4; fi; }

# ---- environment -------------------------------------------------------------------------
if [ ! -x "$PY" ]; then
  echo "creating $VENV" >&2
  python3 -m venv "$VENV"
fi
if ! "$PY" -c "import torch, numpy, safetensors" 2>/dev/null; then
  echo "installing torch numpy safetensors into $VENV" >&2
  "$PY" -m pip install torch numpy safetensors
fi
if [ -z "$BIN" ]; then
  BIN=$ROOT/target/release/normlab
  if [ "$BUILD" = 1 ]; then
    if [ ! -x "$BIN" ] || [ -n "$(find "$ROOT/src" "$ROOT/Cargo.toml" "$ROOT/Cargo.lock" -newer "$BIN" -print -quit 2>/dev/null)" ]; then
      echo "building normlab (release)" >&2
      if ! (cd "$ROOT" && cargo build --release >&2); then
        if [ -x "$BIN" ]; then echo "warning: build failed, using the existing $BIN" >&2; else exit 1; fi
      fi
    fi
  fi
fi
[ -x "$BIN" ] || { echo "no normlab binary at $BIN" >&2; exit 1; }

export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS RAYON_NUM_THREADS=$THREADS
case "$OMP_WAIT" in
  default) unset OMP_WAIT_POLICY; POLICY="unset (torch's default)" ;;
  passive) export OMP_WAIT_POLICY=PASSIVE; POLICY="PASSIVE (--omp-wait passive)" ;;
  active) export OMP_WAIT_POLICY=ACTIVE; POLICY="ACTIVE (--omp-wait active)" ;;
esac
# Raw results stay on disk (path printed at the end): `scripts/bench_summary.py RAW ...` redoes
# the table from them.
RES=$(mktemp "${TMPDIR:-/tmp}/bench-vs-torch.XXXXXX.raw")
START=$(date +%s)

# ---- header: machine, versions, peak -----------------------------------------------------
jget() { "$PY" -c 'import json,sys;j=json.loads(sys.stdin.read().strip().splitlines()[-1]);print(" ".join(str(j[k]) for k in sys.argv[1:]))' "$@"; }
cpu_model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
cpu_vendor=$(lscpu | sed -n 's/^Vendor ID: *//p' | head -1)
cpu_flags=$(for f in avx2 fma avx512f avx512_bf16 avx512_fp16 avx512_vnni amx_tile amx_bf16 amx_int8 hypervisor; do
  grep -qw "$f" /proc/cpuinfo && printf '%s ' "$f"; done | sed 's/ $//')
cpu_count=$(getconf _NPROCESSORS_ONLN)  # not nproc: it reports OMP_NUM_THREADS
"$PY" "$ROOT/scripts/bench_torch.py" --peak --threads "$THREADS" | sed 's/^/peak /' >> "$RES"
peak=$(tail -1 "$RES" | cut -d' ' -f2- | jget gflops_best gflops_median | awk '{print $1 " GF/s best, " $2 " median"}')
echo "# $(date -u '+%F %T UTC'), section $SECTION"
echo "# cpu: $cpu_model ($cpu_vendor, $cpu_count CPUs online; flags: ${cpu_flags:-none of avx2/avx512/amx})"
echo "# f32 matmul peak (1024^3 torch.mm, $THREADS threads) at start: $peak"
echo "# normlab $BIN ($("$BIN" --version 2>/dev/null | head -1), built $(date -r "$BIN" '+%F %T'), git $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "# $("$PY" -c 'import torch;print("torch", torch.__version__, "cpu capability", torch.backends.cpu.get_cpu_capability())'), threads $THREADS, OMP_WAIT_POLICY $POLICY, torch.compile $([ "$COMPILE" = 1 ] && echo on || echo off)"
echo "# config: L=$L heads $([ "$SECTION" = small ] && echo d/16 || echo 4) T=$T batch=$B vocab=$V d in {$DIMS}; steps $STEPS (+$WARMUP warmup, >= 3 compiled) per run, $REPS reps"
echo "# load average at start $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- eager / compile / normlab triples ---------------------------------------------------
torch_run() { # arch d extra-args... -> prints the JSON line
  "$PY" "$ROOT/scripts/bench_torch.py" --arch "$1" --d-model "$2" --n-layer $L --n-head "$(heads "$2")" \
    --seq-len $T --batch $B --vocab $V --steps "$STEPS" --warmup "$WARMUP" --threads "$THREADS" "${@:3}"
}
for D in $DIMS; do
  for r in $(seq 1 "$REPS"); do
    for A in gpt ngpt; do
      ttok=$(torch_run "$A" "$D" | jget tokens_per_s)
      echo "torch $A $D $r $ttok" >> "$RES"
      ctok=nan; cinfo=""
      if [ "$COMPILE" = 1 ]; then
        read -r ctok csec recomp copt < <(torch_run "$A" "$D" --compile | jget tokens_per_s compile_s recompiled_during_timing optimizer)
        echo "compile $A $D $r $ctok $csec $recomp $copt" >> "$RES"
        cinfo=$(printf 'compile %8.1f tok/s (compile %s s, %s AdamW%s)' "$ctok" "$csec" "$copt" "$([ "$recomp" = True ] && echo ', RECOMPILED while timed')")
      fi
      nout=$("$BIN" bench --arch "$A" --vocab $V --steps "$STEPS" --warmup "$WARMUP" \
              --set model.d_model="$D" --set model.n_layer=$L --set model.n_head="$(heads "$D")" \
              --set data.seq_len=$T --set data.batch_size=$B)
      ntok=$(echo "$nout" | awk -v a="$A" '$1==a {print $2}')
      [ -n "$ntok" ] || { echo "could not parse normlab bench output:"$'\n'"$nout" >&2; exit 1; }
      echo "normlab $A $D $r $ntok" >> "$RES"
      printf '# d=%-4s rep %s %-5s eager %8.1f tok/s   %s   normlab %8.1f tok/s   load %s\n' \
        "$D" "$r" "$A" "$ttok" "$cinfo" "$ntok" "$(cut -d' ' -f1 /proc/loadavg)"
    done
  done
done

# ---- normlab architecture ratios -----------------------------------------------------------
if [ "$SECTION" = main ]; then
  rout=$("$BIN" bench --arch gpt,ngpt,gpt_plus,angpt --vocab $V --steps "$RATIO_STEPS" --warmup "$WARMUP")
  echo "$rout" | sed 's/^/# normlab> /'
  echo "$rout" | grep '^step-time ratios:' | sed 's/^step-time ratios:/ratios/' >> "$RES"
fi
echo "# load average at end $(cut -d' ' -f1-3 /proc/loadavg)"
# A second peak at the end: under contention one 3-s measurement can read far below the
# machine's peak; the summary uses the better of the two.
"$PY" "$ROOT/scripts/bench_torch.py" --peak --threads "$THREADS" | sed 's/^/peak /' >> "$RES"

# ---- summary -------------------------------------------------------------------------------
echo "# raw results: $RES (scripts/bench_summary.py $RES $SECTION $L $T $V 0 redoes the table)"
"$PY" "$ROOT/scripts/bench_summary.py" "$RES" "$SECTION" "$L" "$T" "$V" "$(( $(date +%s) - START ))"
