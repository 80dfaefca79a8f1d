#!/usr/bin/env bash
# CI: report.html renders in headless Chromium (Debian's package) with no console error and
# no network request, and draws exactly the plots and traces it should — for the smoke sweep
# (run here, ≈ 10 s) and for the synthetic fixtures of tests/report_html.rs (an LR sweep with
# diverged/failed/pending runs, a speedup sweep). Needs the release build of `cargo test
# --release`. Usage: bash scripts/ci-report-html.sh [--screenshot OUT.png]
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
shot=""
if [[ "${1:-}" == "--screenshot" ]]; then shot="$(realpath -m "$2")"; fi

export DEBIAN_FRONTEND=noninteractive
need=()
[[ -x /usr/bin/chromium ]] || need+=(chromium)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if ((${#need[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
work=$(mktemp -d /tmp/normlab-report-html.XXXXXX)
trap 'rm -rf "$work"' EXIT
# playwright-core drives the system Chromium over CDP; it downloads no browser of its own.
npm install --silent --no-audit --no-fund --prefix "$work/npm" playwright-core@1.65.1 >/dev/null
export NODE_PATH="$work/npm/node_modules"
check() { node scripts/check_report_html.cjs "$@"; }

./target/release/normlab sweep sweeps/smoke.toml --out "$work/smoke" >"$work/smoke.log" 2>&1 || { cat "$work/smoke.log"; exit 1; }
check "$work/smoke/report.html" --plots lr,val,train

NORMLAB_HTML_FIXTURES="$work/fixtures" cargo test --release --quiet --test report_html >"$work/fixtures.log" 2>&1 \
  || { cat "$work/fixtures.log"; exit 1; }
check "$work/fixtures/lr/report.html" --plots lr,eta-d_model,val,train ${shot:+--screenshot "$shot"}
check "$work/fixtures/speedup/report.html" --plots speedup,val,train
echo "== report.html checks passed in $(( $(date +%s) - start )) s"
