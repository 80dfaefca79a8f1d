#!/usr/bin/env bash
# CI: report.html renders in headless Chromium (Debian's package) with no console error and
# no network request, and draws exactly the plots, transfer panels (one per family), traces
# and verdicts it should, with no two tick labels overlapping — for the smoke sweep (run
# here, ≈ 10 s) and for the synthetic fixtures of tests/report_html.rs (an LR sweep with
# diverged/failed/pending runs, a seeded sweep from two builds, the same page with two
# verdicts, a speedup sweep). Needs the release build of `cargo test --release`.
# Usage: bash scripts/ci-report-html.sh [--screenshot OUT.png [--from SWEEP_DIR --panels N --verdicts V]]
#   --from: also check the report of a finished sweep (a copy of it is re-reported under a
#   temporary directory; SWEEP_DIR is not written) and take the screenshot of that page;
#   N families' panels and V verdicts expected on it.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
shot="" from="" from_panels="" from_verdicts=""
while (($#)); do
  case "$1" in
    --screenshot) shot="$(realpath -m "$2")"; shift 2 ;;
    --from) from="$(realpath "$2")"; shift 2 ;;
    --panels) from_panels="$2"; shift 2 ;;
    --verdicts) from_verdicts="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

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
# One LR grid per architecture at one width: a panel each, no verdict rule, one build.
check "$work/smoke/report.html" --plots lr,val,train --panels 2

NORMLAB_HTML_FIXTURES="$work/fixtures" cargo test --release --quiet --test report_html >"$work/fixtures.log" 2>&1 \
  || { cat "$work/fixtures.log"; exit 1; }
lr_shot=""
[[ -n "$shot" && -z "$from" ]] && lr_shot="$shot"
check "$work/fixtures/lr/report.html" --plots lr,eta-d_model,val,train --panels 2 --verdicts 3 ${lr_shot:+--screenshot "$lr_shot"}
check "$work/fixtures/seeds/report.html" --plots lr,eta-d_model,val,train --panels 2 --mixed-builds --verdicts 3
check "$work/fixtures/seeds-verdicts/report.html" --plots lr,eta-d_model,val,train --panels 2 --mixed-builds --verdicts 2
check "$work/fixtures/speedup/report.html" --plots speedup,val,train --verdicts 1
if [[ -n "$from" ]]; then
  real="$work/real/$(basename "$from")"
  mkdir -p "$work/real" && cp -a "$from" "$real"
  ./target/release/normlab report "$real" >"$work/real.log" 2>&1 || { cat "$work/real.log"; exit 1; }
  plots=$(node -e 'const h=require("fs").readFileSync(process.argv[1],"utf8");const m=h.match(/<script id="normlab-data" type="application\/json">([\s\S]*?)<\/script>/);console.log(JSON.parse(m[1]).plots.map(p=>p.id).join(","))' "$real/report.html")
  mixed=$(grep -q 'id="mixed-builds"' "$real/report.html" && echo --mixed-builds || true)
  check "$real/report.html" --plots "$plots" --panels "${from_panels:?--from needs --panels N}" --verdicts "${from_verdicts:?--from needs --verdicts V}" $mixed ${shot:+--screenshot "$shot"} --height 2100
fi
echo "== report.html checks passed in $(( $(date +%s) - start )) s"
