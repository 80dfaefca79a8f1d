// Opens a report.html in headless Chromium (playwright-core, Debian's /usr/bin/chromium) and
// fails on any console error, page error or network request, or when the plots or traces
// drawn differ from the page's embedded JSON or from --plots (the exact plot ids expected);
// when the verdict block is missing or holds another number of verdicts than --verdicts; when
// the transfer panels drawn are not --panels (one per family); when the mixed-build warning
// is there without --mixed-builds or missing with it; when two tick labels of a plot overlap
// on screen; when the curve filter or the run table's sorting does not work.
// Usage: node check_report_html.cjs REPORT.html --plots lr,val,train [--panels N]
//        [--verdicts N] [--mixed-builds] [--screenshot OUT.png] [--height PX]
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
  console.error("usage: node check_report_html.cjs REPORT.html --plots id,id,... [--panels N] [--verdicts N] [--mixed-builds] [--screenshot OUT.png] [--height PX]");
  process.exit(2);
}
const wantPlots = opt("--plots").split(",").filter(Boolean);
const wantPanels = Number(opt("--panels") || 0);
const wantVerdicts = Number(opt("--verdicts") || 0);
const wantMixed = args.includes("--mixed-builds");
const shot = opt("--screenshot");
const height = Number(opt("--height") || 900);

async function main() {
const profile = mkdtempSync(join(tmpdir(), "normlab-chromium-"));
const problems = [];
// A fresh profile directory each run (playwright passes it as --user-data-dir).
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1280, height },
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
    const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
    return {
      expected: data.plots.map((p) => ({ id: p.id, traces: p.traces.length, panels: p.panels })),
      rendered: divs.map((d) => {
        // Every tick label of every axis of the plot (subplots included), as laid out on screen.
        const ticks = [...d.querySelectorAll(".xaxislayer-above text, .yaxislayer-above text")]
          .filter((t) => t.textContent.trim() !== "")
          .map((t) => ({ text: t.textContent, r: t.getBoundingClientRect() }))
          .filter((t) => t.r.width > 0 && t.r.height > 0);
        const clashes = [];
        for (let i = 0; i < ticks.length; i++)
          for (let j = i + 1; j < ticks.length; j++) if (overlap(ticks[i].r, ticks[j].r)) clashes.push(`"${ticks[i].text}" and "${ticks[j].text}"`);
        return {
          id: d.id.replace(/^plot-/, ""),
          data: d.data ? d.data.length : -1,
          // One <g class="trace"> per scatter trace that plotly actually drew.
          drawn: d.querySelectorAll(".scatterlayer .trace").length,
          legend: d.querySelectorAll(".legend .traces").length,
          subplots: d._fullLayout && d._fullLayout._subplots ? d._fullLayout._subplots.cartesian.length : -1,
          ticks: ticks.length,
          clashes,
        };
      }),
      tableRows: document.querySelectorAll("#runs tr").length - 1,
      runs: data.runs.length,
      verdictBlock: !!document.querySelector("#verdicts"),
      verdictsFirst: (() => {
        const v = document.querySelector("#verdicts"), p = document.querySelector("#plots");
        return !!(v && p && v.compareDocumentPosition(p) & Node.DOCUMENT_POSITION_FOLLOWING);
      })(),
      verdictItems: document.querySelectorAll("#verdicts .verdict").length,
      noVerdict: !!document.querySelector("#verdicts .no-verdict"),
      dataVerdicts: data.verdicts.length,
      mixed: !!document.querySelector("#mixed-builds"),
      dataMixed: data.build_warning !== null,
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
    if (e.panels > 0 && r.subplots !== e.panels) problems.push(`plot ${e.id}: ${r.subplots} panels drawn, the page has ${e.panels}`);
    if (r.ticks === 0) problems.push(`plot ${e.id}: no tick labels found to check`);
    if (r.clashes.length) problems.push(`plot ${e.id}: overlapping tick labels: ${r.clashes.slice(0, 5).join("; ")}`);
    console.log(`plot ${e.id}: ${r.drawn}/${e.traces} traces drawn, ${r.legend} legend entries, ${r.ticks} tick labels apart` + (e.panels ? `, ${r.subplots} panels` : ""));
  }
  const panels = got.expected.reduce((n, e) => n + e.panels, 0);
  if (panels !== wantPanels) problems.push(`${panels} transfer panels, expected ${wantPanels} (one per family)`);
  if (!got.verdictBlock || !got.verdictsFirst) problems.push("no verdict block above the plots");
  if (got.verdictItems !== wantVerdicts || got.dataVerdicts !== wantVerdicts) problems.push(`${got.verdictItems} verdicts shown (${got.dataVerdicts} in the data), expected ${wantVerdicts}`);
  if (wantVerdicts === 0 && !got.noVerdict) problems.push("an empty verdict list must say that no verdict rule applies");
  if (got.mixed !== wantMixed || got.dataMixed !== wantMixed) problems.push(`mixed-build warning shown: ${got.mixed} (data: ${got.dataMixed}), expected ${wantMixed}`);
  if (got.tableRows !== got.runs) problems.push(`run table has ${got.tableRows} rows for ${got.runs} runs`);

  // The curve filter: picking one family leaves exactly that family's curves visible.
  const filter = await page.evaluate(() => {
    const sel = document.querySelector("#curve-filter select[name=family]");
    if (!sel || sel.options.length < 3) return null;
    const value = sel.options[1].value;
    sel.value = value;
    sel.dispatchEvent(new Event("change"));
    const out = [...document.querySelectorAll(".js-plotly-plot")]
      .filter((d) => d.data.some((t) => t.meta && t.meta.family !== undefined))
      .map((d) => ({
        id: d.id,
        visible: d.data.filter((t) => t.visible !== false).length,
        want: d.data.filter((t) => t.meta && t.meta.family === value).length,
        drawn: d.querySelectorAll(".scatterlayer .trace").length,
      }));
    sel.value = "all";
    sel.dispatchEvent(new Event("change"));
    return { value, out };
  });
  if (filter) {
    for (const f of filter.out)
      if (f.visible !== f.want || f.want === 0) problems.push(`filter family=${filter.value}: ${f.visible} curves visible in ${f.id}, expected ${f.want}`);
    console.log(`filter family=${filter.value}: ${filter.out.map((f) => `${f.id} ${f.visible} curves`).join(", ")}`);
  }
  // Sorting: a click on "final val loss" orders the table by it, blanks last.
  const sortedOk = await page.evaluate(() => {
    const th = [...document.querySelectorAll("#runs th")].find((h) => h.textContent.startsWith("final val loss"));
    if (!th) return false;
    th.click();
    const i = [...document.querySelectorAll("#runs th")].findIndex((h) => h.textContent.startsWith("final val loss"));
    const v = [...document.querySelectorAll("#runs tr")].slice(1).map((tr) => tr.children[i].textContent).map((t) => (t === "" ? Infinity : Number(t)));
    return v.every((x, k) => k === 0 || v[k - 1] <= x);
  });
  if (!sortedOk) problems.push("clicking the final val loss header does not sort the run table");
  if (shot) await page.screenshot({ path: shot, fullPage: false });
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
if (problems.length) {
  for (const p of problems) console.error(`FAIL ${file}: ${p}`);
  process.exit(1);
}
console.log(`ok ${file}: ${wantPlots.length} plots, ${wantPanels} panels, ${wantVerdicts} verdicts, tick labels apart, no console error, no network request`);
}

main().catch((e) => {
  console.error(`FAIL ${file}: ${e.stack || e}`);
  process.exit(1);
});
