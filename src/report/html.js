// report.html's page script (embedded by src/report/html.rs): draws each plot of the embedded
// JSON with plotly, adds the family / size / LR filter of the loss curves and fills the run
// table (sortable by any column). All user text goes in through textContent.
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
    page.runs.length + " runs: " + counts.join(", ") + ". Hover a point for its runs and config; click a legend entry to hide or show it.";
  const notes = document.getElementById("notes");
  for (const n of page.notes) notes.appendChild(el("p", n, "note"));

  // The filter: one select per field of the curves' trace meta (family, size, lr), "all" first.
  const filterable = page.plots.filter((p) => p.filterable);
  const fields = ["family", "size", "lr"];
  const choice = {};
  const applyFilter = () => {
    for (const p of filterable) {
      const div = document.getElementById("plot-" + p.id);
      const visible = p.traces.map((t) => fields.every((f) => !choice[f] || (t.meta && t.meta[f] === choice[f])));
      Plotly.restyle(div, { visible: visible.map((v) => (v ? true : false)) });
    }
  };
  const filterBar = () => {
    const bar = el("div", undefined, "filter");
    bar.id = "curve-filter";
    bar.appendChild(el("span", "Show curves of: "));
    for (const f of fields) {
      const values = [...new Set(filterable.flatMap((p) => p.traces.map((t) => (t.meta ? t.meta[f] : ""))))].filter((v) => v);
      if (values.length < 2) continue;
      const label = el("label", f + " ");
      const sel = el("select");
      sel.name = f;
      sel.appendChild(el("option", "all"));
      for (const v of values) sel.appendChild(el("option", v));
      sel.addEventListener("change", () => {
        choice[f] = sel.value === "all" ? "" : sel.value;
        applyFilter();
      });
      label.appendChild(sel);
      bar.appendChild(label);
    }
    return bar;
  };

  const main = document.getElementById("plots");
  const drawn = [];
  let filterPlaced = false;
  for (const p of page.plots) {
    const section = el("section");
    section.appendChild(el("h2", p.title));
    if (p.filterable && !filterPlaced) {
      section.appendChild(filterBar());
      filterPlaced = true;
    }
    const div = el("div", undefined, "plot");
    div.id = "plot-" + p.id;
    section.appendChild(div);
    main.appendChild(section);
    drawn.push(Plotly.newPlot(div, p.traces, p.layout, { responsive: true, displaylogo: false }));
  }
  if (page.plots.length === 0) main.appendChild(el("p", "No plottable data in this sweep yet (see the run table).", "note"));

  // The run table: click a header to sort by that column (again: reverse).
  const columns = [
    ["run", (r) => r.id],
    ["status", (r) => r.status],
    ["config", (r) => r.config],
    ["lr", (r) => r.lr],
    ["seed", (r) => r.seed],
    ["final val loss", (r) => r.final_val_loss],
    ["build", (r) => r.build],
    ["note", (r) => (r.status === "diverged" ? (r.diverged_at === null ? "diverged" : "diverged at step " + r.diverged_at) : r.error || "")],
  ];
  const table = document.getElementById("runs");
  const rows = page.runs.slice();
  let sorted = { col: -1, dir: 1 };
  const fill = () => {
    table.textContent = "";
    const head = el("tr");
    columns.forEach(([h], i) => {
      const th = el("th", h + (sorted.col === i ? (sorted.dir > 0 ? " ▲" : " ▼") : ""));
      th.addEventListener("click", () => {
        sorted = { col: i, dir: sorted.col === i ? -sorted.dir : 1 };
        const key = columns[i][1];
        rows.sort((a, b) => {
          const [x, y] = [key(a), key(b)];
          if (x === y) return 0;
          if (x === null || x === undefined || x === "") return 1;
          if (y === null || y === undefined || y === "") return -1;
          return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true })) * sorted.dir;
        });
        fill();
      });
      head.appendChild(th);
    });
    table.appendChild(head);
    for (const r of rows) {
      const tr = el("tr", undefined, r.status);
      for (const [h, key] of columns) {
        const v = key(r);
        tr.appendChild(el("td", typeof v === "number" && h !== "seed" ? num(v) : v === null || v === undefined ? "" : String(v)));
      }
      table.appendChild(tr);
    }
  };
  fill();

  Promise.all(drawn).then(
    () => {
      document.body.dataset.rendered = String(drawn.length);
    },
    (e) => console.error("normlab report: a plot failed to render: " + e)
  );
})();
