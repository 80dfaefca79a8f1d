// report.html's page script (embedded by src/report/html.rs): draws each plot of the embedded
// JSON with plotly and fills the run table. All user text goes in through textContent.
// When every plot has rendered, <body data-rendered="N"> holds the number of plots, so a
// headless check knows when to count (scripts/ci-report-html.sh).
(function () {
  "use strict";
  const page = JSON.parse(document.getElementById("normlab-data").textContent);
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  };
  const num = (x) => (x === null || x === undefined ? "" : Number(x).toPrecision(5).replace(/\.?0+$/, ""));

  const counts = Object.entries(page.status_counts).map(([s, n]) => n + " " + s);
  document.getElementById("summary").textContent =
    page.runs.length + " runs: " + counts.join(", ") + ". Hover a point for its run and config; click a legend entry to hide or show it.";
  const notes = document.getElementById("notes");
  for (const n of page.notes) notes.appendChild(el("p", n, "note"));

  const main = document.getElementById("plots");
  const drawn = [];
  for (const p of page.plots) {
    const section = el("section");
    section.appendChild(el("h2", p.title));
    const div = el("div", undefined, "plot");
    div.id = "plot-" + p.id;
    section.appendChild(div);
    main.appendChild(section);
    drawn.push(Plotly.newPlot(div, p.traces, p.layout, { responsive: true, displaylogo: false }));
  }
  if (page.plots.length === 0) main.appendChild(el("p", "No plottable data in this sweep yet (see the run table).", "note"));

  const table = document.getElementById("runs");
  const head = el("tr");
  for (const h of ["run", "status", "config", "lr", "seed", "final val loss", "note"]) head.appendChild(el("th", h));
  table.appendChild(head);
  for (const r of page.runs) {
    const tr = el("tr", undefined, r.status);
    let note = "";
    if (r.status === "diverged") note = r.diverged_at === null ? "diverged" : "diverged at step " + r.diverged_at;
    else if (r.error) note = r.error;
    for (const c of [r.id, r.status, r.config, num(r.lr), num(r.seed), num(r.final_val_loss), note]) tr.appendChild(el("td", String(c)));
    table.appendChild(tr);
  }

  Promise.all(drawn).then(
    () => {
      document.body.dataset.rendered = String(drawn.length);
    },
    (e) => console.error("normlab report: a plot failed to render: " + e)
  );
})();
