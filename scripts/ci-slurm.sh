#!/usr/bin/env bash
# CI check of the multi-machine path on a live one-node Slurm: submit sweeps/smoke.toml as a
# 2-task job array with `normlab sweep submit`, wait for it and its merge job, then check the
# merged table equals a local `--jobs 1` run of the same sweep (same run ids, same final losses).
# Then sweeps/compute-ladder.toml at a tiny size (2-task array, merged table equal to a local
# run's, the ladder in the report), and sweeps/smoke-refine.toml (a [refine] table, 2 rounds):
# each round must run as its own job array chained by the `sweep refine-step` driver jobs, and
# end equal to the local runner.
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
echo "ci-slurm: grid sweep PASS"

# The compute ladder (sweeps/compute-ladder.toml) at a tiny size: the same file with 48-step
# runs (branches at 12 and 24) and 2 seeds, 32 runs as a 2-task array; the merged table must
# equal a local run's, every row must carry its FLOPs, and the report must derive the ladder.
t0=$(date +%s)
TINY=(--set sweep.seeds=[1,2] --set base.train.steps=48 --set "base.train.branches=[12,24]" --set base.train.eval_every=12
      --set base.train.checkpoint_every=24 --set base.optim.warmup_steps=4)
L=$work/ladder
$BIN sweep submit sweeps/compute-ladder.toml --slurm --array-size 2 --cpus-per-task 1 --out "$L" "${TINY[@]}" | tee "$work/lsubmit.txt"
array=$(sed -n 's/^submitted array job \([0-9]*\).*merge job \([0-9]*\)$/\1/p' "$work/lsubmit.txt")
merge=$(sed -n 's/^submitted array job \([0-9]*\).*merge job \([0-9]*\)$/\2/p' "$work/lsubmit.txt")
[ -n "$array" ] && [ -n "$merge" ] || { echo "ci-slurm: could not parse the ladder's job ids"; exit 1; }
bash "$LC" wait "$array" 900 || { tail -n +1 "$L"/slurm/*.log; exit 1; }
bash "$LC" wait "$merge" 120 || { tail -n +1 "$L"/slurm/*.log; exit 1; }
echo "ci-slurm: ladder array + merge finished in $(( $(date +%s) - t0 )) s"
$BIN sweep compute-ladder.toml --out "$work/llocal" --jobs 1 --quiet "${TINY[@]}" >/dev/null 2>&1
$BIN sweep merge "$work/llocal"
$BIN sweep diff "$L" "$work/llocal"
$BIN report "$L" >/dev/null
grep -q "^## Compute ladder: frontiers, fitted laws, compute multipliers" "$L/report.md" || { echo "ci-slurm: no compute ladder in $L/report.md"; exit 1; }
nof=$(grep -L '"flops_per_step": [0-9]' "$L"/runs/*/summary.json || true)
[ -z "$nof" ] || { echo "ci-slurm: summaries without flops_per_step: $nof"; exit 1; }
echo "ci-slurm: compute ladder PASS"

# [refine] on Slurm: follow the chain round by round through <out>/slurm/rounds.tsv (round,
# array job, driver job, runs, tasks; appended by each submission).
t0=$(date +%s)
R=$work/rslurm
$BIN sweep submit sweeps/smoke-refine.toml --slurm --array-size 2 --cpus-per-task 1 --out "$R"
logs() { tail -n +1 "$R"/slurm/*.log; cat "$R/slurm/rounds.tsv"; }
n=1
while :; do
  line=$(sed -n "${n}p" "$R/slurm/rounds.tsv")
  [ -n "$line" ] || { echo "ci-slurm: the driver after round $((n - 2)) submitted nothing and wrote no refine.txt"; logs; exit 1; }
  read -r round array driver runs tasks <<<"$line"
  [ "$round" = $((n - 1)) ] || { echo "ci-slurm: line $n of rounds.tsv is round $round, expected $((n - 1))"; exit 1; }
  bash "$LC" wait "$array" 300 || { logs; exit 1; }
  bash "$LC" wait "$driver" 120 || { logs; exit 1; }
  # The round ran as a job array: squeue still lists each of its tasks as <array>_<k> COMPLETED.
  got=$(squeue -h -j "$array" -t all -o '%i %T' | grep -c "^${array}_[0-9]* COMPLETED$" || true)
  [ "$got" = "$tasks" ] || { echo "ci-slurm: round $round array $array has $got completed tasks, expected $tasks"; squeue -j "$array" -t all; exit 1; }
  echo "ci-slurm: round $round ran as array $array ($tasks tasks, $runs runs), then driver $driver"
  [ -e "$R/refine.txt" ] && break
  n=$((n + 1))
done
[ "$n" -ge 3 ] || { echo "ci-slurm: expected the grid + 2 refine rounds as 3 arrays, got $n"; exit 1; }
grep -q "2 round(s), 4 run(s) added" "$R/refine.txt" || { cat "$R/refine.txt"; exit 1; }
# Every refine run listed for a round is a finished run of the merged table.
for f in "$R"/slurm/round-[12].ids; do
  cut -f1 "$f" | while read -r id; do grep -q '"status": "done"' "$R/runs/$id/summary.json" || { echo "ci-slurm: $id of $f is not done"; exit 1; }; done
done
echo "ci-slurm: refine chain of $n arrays finished in $(( $(date +%s) - t0 )) s"
$BIN sweep smoke-refine.toml --out "$work/rlocal" --jobs 1 --quiet >/dev/null 2>&1
$BIN sweep diff "$R" "$work/rlocal"
diff "$R/refine.txt" "$work/rlocal/refine.txt" || { echo "ci-slurm: refine summary or η* differs from the local runner"; exit 1; }
echo "ci-slurm: PASS"
