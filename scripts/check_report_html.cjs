// Opens a report.html in headless Chromium (playwright-core, Debian's /usr/bin/chromium) and
// fails on any console error, page error or network request, or when the plots or traces
// drawn differ from the page's embedded JSON or from --plots (the exact plot ids expected).
// Usage: node check_report_html.cjs REPORT.html --plots lr,val,train [--screenshot OUT.png]
// playwright-core is found through NODE_PATH (scripts/ci-report-html.sh installs it).
"use strict";
const { chromium } = require("playwright-core");
const { mkdtempSync, rmSync } = require("node:fs");
const { tmpdir } = require("node:os");
const { join, resolve } = require("node:path");
const { pathToFileURL } = require("node:url");

const args = process.argv.slice(2);
const file = args[0];
const opt = (name) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};
if (!file || !opt("--plots")) {
  console.error("usage: node check_report_html.cjs REPORT.html --plots id,id,... [--screenshot OUT.png]");
  process.exit(2);
}
const wantPlots = opt("--plots").split(",").filter(Boolean);
const shot = opt("--screenshot");

async function main() {
const profile = mkdtempSync(join(tmpdir(), "normlab-chromium-"));
const problems = [];
// A fresh profile directory each run (playwright passes it as --user-data-dir).
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
try {
  const page = browser.pages()[0] || (await browser.newPage());
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console error: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => {
    const u = r.url();
    if (!/^(file|data|blob|about):/.test(u)) problems.push(`network request (the page must be self-contained): ${u}`);
  });
  await page.goto(pathToFileURL(resolve(file)).href, { waitUntil: "load" });
  await page.waitForFunction(() => document.body.dataset.rendered !== undefined, null, { timeout: 60000 })
    .catch(() => problems.push("the page never finished rendering (no body[data-rendered])"));
  const got = await page.evaluate(() => {
    const data = JSON.parse(document.getElementById("normlab-data").textContent);
    const divs = [...document.querySelectorAll(".js-plotly-plot")];
    return {
      expected: data.plots.map((p) => ({ id: p.id, traces: p.traces.length })),
      rendered: divs.map((d) => ({
        id: d.id.replace(/^plot-/, ""),
        data: d.data ? d.data.length : -1,
        // One <g class="trace"> per scatter trace that plotly actually drew.
        drawn: d.querySelectorAll(".scatterlayer .trace").length,
        legend: d.querySelectorAll(".legend .traces").length,
      })),
      tableRows: document.querySelectorAll("#runs tr").length - 1,
      runs: data.runs.length,
    };
  });
  const ids = got.rendered.map((r) => r.id);
  if (ids.join(",") !== wantPlots.join(",")) problems.push(`plots rendered [${ids}] but expected [${wantPlots}]`);
  if (got.expected.length !== got.rendered.length) problems.push(`${got.rendered.length} plots rendered, the page has ${got.expected.length}`);
  for (const e of got.expected) {
    const r = got.rendered.find((x) => x.id === e.id);
    if (!r) { problems.push(`plot ${e.id} did not render`); continue; }
    if (r.data !== e.traces || r.drawn !== e.traces) problems.push(`plot ${e.id}: ${e.traces} traces in the data, ${r.data} bound, ${r.drawn} drawn`);
    if (e.traces > 0 && r.legend === 0) problems.push(`plot ${e.id}: no legend entries`);
    console.log(`plot ${e.id}: ${r.drawn}/${e.traces} traces drawn, ${r.legend} legend entries`);
  }
  if (got.tableRows !== got.runs) problems.push(`run table has ${got.tableRows} rows for ${got.runs} runs`);
  if (shot) await page.screenshot({ path: shot, fullPage: false });
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
if (problems.length) {
  for (const p of problems) console.error(`FAIL ${file}: ${p}`);
  process.exit(1);
}
console.log(`ok ${file}: ${wantPlots.length} plots, no console error, no network request`);
}

main().catch((e) => {
  console.error(`FAIL ${file}: ${e.stack || e}`);
  process.exit(1);
});
