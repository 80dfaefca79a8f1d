#!/usr/bin/env bash
# CI check of the multi-machine path on a live one-node Slurm: submit sweeps/smoke.toml as a
# 2-task job array with `normlab sweep submit`, wait for it and its merge job, then check the
# merged table equals a local `--jobs 1` run of the same sweep (same run ids, same final losses).
set -euo pipefail
cd "$(dirname "$0")/.."
LC=scripts/slurm/local-cluster.sh
BIN=${CARGO_TARGET_DIR:-target}/release/normlab
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "ci-slurm: SKIPPED (needs root and apt-get to install Slurm)"; exit 0
fi
if ! bash "$LC" up; then
  echo "ci-slurm: SKIPPED (Slurm could not be brought up; see /run/local-slurm/*.log)"; exit 0
fi
trap 'bash "$LC" down >/dev/null 2>&1 || true' EXIT
work=$(mktemp -d)
t0=$(date +%s)
$BIN sweep submit sweeps/smoke.toml --slurm --array-size 2 --cpus-per-task 1 --out "$work/slurm" | tee "$work/submit.txt"
array=$(sed -n 's/^submitted array job \([0-9]*\).*merge job \([0-9]*\)$/\1/p' "$work/submit.txt")
merge=$(sed -n 's/^submitted array job \([0-9]*\).*merge job \([0-9]*\)$/\2/p' "$work/submit.txt")
[ -n "$array" ] && [ -n "$merge" ] || { echo "ci-slurm: could not parse job ids"; exit 1; }
bash "$LC" wait "$array" 600 || { tail -n +1 "$work"/slurm/slurm/*.log; exit 1; }
bash "$LC" wait "$merge" 120 || { tail -n +1 "$work"/slurm/slurm/*.log; exit 1; }
echo "ci-slurm: array + merge finished in $(( $(date +%s) - t0 )) s"
$BIN sweep smoke.toml --out "$work/local" --jobs 1 --quiet
$BIN sweep merge "$work/local"
$BIN sweep diff "$work/slurm" "$work/local"
echo "ci-slurm: PASS"
