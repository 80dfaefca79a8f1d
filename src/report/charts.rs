//! Every chart of the report (plotters, PNG + SVG).

use super::derive::*;
use super::tables::*;
use super::*;

/// Any chart of the report.
pub enum Chart {
    Line(LineChart),
    Bar(BarChart),
    Grid(Grid),
}

impl Chart {
    pub fn save(&self, stem: &Path) -> Result<Vec<PathBuf>> {
        match self {
            Chart::Line(c) => c.save(stem),
            Chart::Bar(c) => c.save(stem),
            Chart::Grid(c) => c.save(stem),
        }
    }

    /// The pixel box of every text of the saved image (tests check that none overlap).
    pub fn text_boxes(&self) -> Result<Vec<crate::plot::TextBox>> {
        match self {
            Chart::Line(c) => c.text_boxes(),
            Chart::Bar(c) => c.text_boxes(),
            Chart::Grid(c) => c.text_boxes(),
        }
    }
}

/// Save charts under `dir` (names made unique); returns the PNG paths.
pub fn save_charts(charts: &[(String, Chart)], dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut used = BTreeSet::new();
    let mut pngs = Vec::new();
    for (name, c) in charts {
        if let Chart::Line(l) = c
            && !l.has_data()
        {
            continue; // nothing finished yet: no empty frame
        }
        let mut n = name.clone();
        let mut i = 2;
        while !used.insert(n.clone()) {
            n = format!("{name}-{i}");
            i += 1;
        }
        let files = c.save(&dir.join(&n)).with_context(|| format!("drawing {n}"))?;
        pngs.push(files[0].clone());
    }
    Ok(pngs)
}

impl Analysis {
    /// The canonical transfer figure (`panels`): one panel per family, final loss vs LR, one
    /// colour per size, the seeds' min–max as whiskers, η* as a star with its 95% interval,
    /// one y range for all panels.
    pub fn lr_charts(&self, keep: &dyn Fn(&str) -> bool) -> Vec<(String, Chart)> {
        let ps = self.transfer_panels(keep);
        if ps.panels.is_empty() {
            return Vec::new();
        }
        let mut charts = Vec::new();
        let mut notes = Vec::new();
        for p in &ps.panels {
            let title = match &p.drift {
                Some(d) => format!("{}: {d}", p.family),
                None => p.family.clone(),
            };
            let mut c = LineChart::new(title, "peak learning rate", "final val loss").log_x();
            if let Some((lo, hi)) = ps.y_range {
                c = c.y_range(lo, hi);
            }
            for l in &p.lines {
                c = c.series(l.name.clone(), l.points.iter().map(|q| (q.lr, q.mean)).collect());
                c = c.whiskers(l.points.iter().filter_map(|q| q.spread.map(|(lo, hi)| (q.lr, lo, hi))).collect());
                if let Some(o) = &l.optimum {
                    c = c.mark(o.eta, o.loss, o.interval, o.bound);
                }
            }
            notes.extend(p.missing.iter().map(|m| format!("{}: {m}", p.family)));
            charts.push(c);
        }
        let n = charts.len();
        let cols = if n == 4 { 2 } else { n.min(3) };
        let mut grid = Grid::new("final val loss vs learning rate, one panel per family", charts, cols)
            .note("★ η* with its 95% seed-bootstrap interval (hollow: at the grid edge, a bound); points: seed means, whiskers: the seeds' min–max.");
        for m in notes {
            grid = grid.note(m);
        }
        vec![("lr_panels".into(), Chart::Grid(grid))]
    }

    /// η* against each swept axis, one line per family (log-log).
    pub fn eta_charts(&self, axis: Option<&str>, keep: &dyn Fn(&str) -> bool) -> Vec<(String, Chart)> {
        let mut out = Vec::new();
        for ax in AXES {
            if axis.is_some_and(|a| a != ax) {
                continue;
            }
            let ds: Vec<&Drift> = self.drifts.iter().filter(|d| d.axis == ax && keep(&d.arch)).collect();
            if ds.is_empty() {
                continue;
            }
            let mut chart = LineChart::new(format!("optimal learning rate η* vs {}", axis_name(ax)), axis_title(ax), "η* (quadratic fit)")
                .log_x()
                .log_y()
                .data_ticks_x();
            for d in &ds {
                let ci = d.drift_ci.show(|v| format!("{v:.2}"));
                chart = chart
                    .series(
                        format!("{}: {:.2}× ({ci}), slope {}", d.label, d.drift, fmt_signed(d.slope, 2)),
                        d.points.iter().map(|p| (p.0, p.1)).collect(),
                    )
                    .whiskers(d.points.iter().zip(&d.eta_ci).filter_map(|(p, c)| Some((p.0, c.lo()?, c.hi()?))).collect());
            }
            chart = chart
                .note("legend: drift max η* / min η* (its 95% interval) and the slope d ln η* / d ln x; whiskers: η*'s 95% seed-bootstrap interval");
            let edges: usize = ds.iter().map(|d| d.points.iter().filter(|p| p.2).count()).sum();
            if edges > 0 {
                chart = chart.note(format!("{edges} η* at the edge of the LR grid (bounds, not fits); see report.md"));
            }
            if ax == STEPS {
                // The paper's slope −1/3 through the first family's geometric centre.
                let p = &ds[0].points;
                let (mx, my) = (p.iter().map(|q| q.0.ln()).sum::<f64>() / p.len() as f64, p.iter().map(|q| q.1.ln()).sum::<f64>() / p.len() as f64);
                let (x0, x1) = (p.first().unwrap().0, p.last().unwrap().0);
                let f = |x: f64| (my - (x.ln() - mx) / 3.0).exp();
                chart = chart.push(Series {
                    name: "paper: η* ∝ steps^(−1/3)".into(),
                    points: vec![(x0, f(x0)), (x1, f(x1))],
                    markers: false,
                    dashed: true,
                    color: Some(7),
                });
            }
            out.push((format!("eta_star_vs_{}", short_key(ax)), Chart::Line(chart)));
        }
        out
    }

    /// Mean validation curve of some runs (averaged over seeds at equal steps).
    pub(super) fn mean_val_curve(&self, ids: &[&str]) -> Vec<(f64, f64)> {
        let mut by: BTreeMap<u64, (f64, f64, usize)> = BTreeMap::new();
        for id in ids {
            for &(s, v) in self.curves.get(*id).map(|v| v.as_slice()).unwrap_or(&[]) {
                let e = by.entry(bits(s)).or_insert((s, 0.0, 0));
                e.1 += v;
                e.2 += 1;
            }
        }
        let mut c: Vec<(f64, f64)> = by.into_values().map(|e| (e.0, e.1 / e.2 as f64)).collect();
        c.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        c
    }

    /// Validation loss vs step per group (one line per budget × LR, seed-averaged).
    pub fn curve_charts(&self) -> (Vec<(String, Chart)>, usize) {
        if self.curves.is_empty() {
            return (Vec::new(), 0);
        }
        let si = self.keys.iter().position(|k| k == STEPS);
        // chart key → (budget, lr) → run ids
        type Lines<'r> = BTreeMap<(u64, u64), Vec<&'r str>>;
        let mut charts: BTreeMap<Vec<String>, Lines> = BTreeMap::new();
        for r in self.runs.iter().filter(|r| r.is_data()) {
            let mut k = r.key.clone();
            if let Some(i) = si {
                k[i] = String::new();
            }
            charts.entry(k).or_default().entry((bits(r.steps), bits(r.lr))).or_default().push(&r.id);
        }
        let total = charts.len();
        let mut out = Vec::new();
        for (k, lines) in charts.into_iter().take(MAX_CURVE_CHARTS) {
            let budgets: BTreeSet<u64> = lines.keys().map(|x| x.0).collect();
            let lrs: BTreeSet<u64> = lines.keys().map(|x| x.1).collect();
            let mut lines: Vec<((u64, u64), Vec<&str>)> = lines.into_iter().collect();
            // Too many lines: keep each budget's best LR.
            if lines.len() > 12 && budgets.len() > 1 {
                lines = budgets
                    .iter()
                    .filter_map(|b| {
                        lines
                            .iter()
                            .filter(|l| l.0.0 == *b)
                            .min_by(|x, y| {
                                let f = |l: &((u64, u64), Vec<&str>)| self.mean_val_curve(&l.1).last().map(|p| p.1).unwrap_or(f64::INFINITY);
                                f(x).partial_cmp(&f(y)).unwrap_or(std::cmp::Ordering::Equal)
                            })
                            .cloned()
                    })
                    .collect();
            }
            lines.sort_by(|a, b| unbits(a.0.0).partial_cmp(&unbits(b.0.0)).unwrap().then(unbits(a.0.1).partial_cmp(&unbits(b.0.1)).unwrap()));
            let title = label(&self.keys, &k);
            let chart = LineChart::new(format!("validation loss vs step — {title}"), "step", "val loss");
            let mut series = Vec::new();
            for ((b, lr), ids) in &lines {
                let c = self.mean_val_curve(ids);
                if c.is_empty() {
                    continue;
                }
                let mut name = Vec::new();
                if budgets.len() > 1 {
                    name.push(format!("steps={}", fmt_num(unbits(*b))));
                }
                if lrs.len() > 1 {
                    name.push(format!("lr={}", fmt_lr(unbits(*lr))));
                }
                series.push((if name.is_empty() { title.clone() } else { name.join(" ") }, c));
            }
            let chart = add_curves(chart, series);
            if !chart.has_data() {
                continue;
            }
            let mut chart = chart;
            if budgets.len() > 1 {
                chart = chart.log_x();
            }
            out.push((format!("curves_{}", slug(&title)), Chart::Line(chart)));
        }
        (out, total.saturating_sub(MAX_CURVE_CHARTS))
    }

    pub(super) fn comparison_slug(c: &Comparison) -> String {
        let ctx = if c.context.is_empty() || c.context == "all runs" { String::new() } else { format!("{}_", slug(&c.context)) };
        format!("{ctx}t{}", fmt_num(c.seq_len))
    }

    pub(super) fn comparison_name(c: &Comparison) -> String {
        let mut s = format!("T={}", fmt_num(c.seq_len));
        if !c.context.is_empty() && c.context != "all runs" {
            s = format!("{} {s}", c.context);
        }
        s
    }

    /// Final loss vs budget per variant and context (nGPT Fig. 2, left).
    pub fn budget_charts(&self, keep: &dyn Fn(&str) -> bool) -> Vec<(String, Chart)> {
        let mut out = Vec::new();
        for c in &self.comparisons {
            let vs: Vec<_> = c.variants.iter().filter(|(_, v)| keep(&v.0) || reference_for(&v.0, &c.variants).is_none()).collect();
            if vs.iter().all(|(_, v)| v.3.len() < 2) {
                continue;
            }
            let name = Self::comparison_name(c);
            let mut chart = LineChart::new(format!("final val loss vs training budget — {name}"), "budget (steps, one run each)", "final val loss")
                .log_x()
                .data_ticks_x();
            for (vn, v) in vs {
                chart = chart.series(vn.clone(), mean_curve(&v.3).iter().map(|p| (p.0, p.1)).collect());
            }
            out.push((format!("budget_loss_{}", Self::comparison_slug(c)), Chart::Line(chart)));
        }
        out
    }

    /// Speedup vs reference budget, one line per variant × context (nGPT Fig. 2, right).
    pub fn speedup_charts(&self, keep: &dyn Fn(&str) -> bool) -> Vec<(String, Chart)> {
        let rows: Vec<&SpeedupRow> = self.speedups.iter().filter(|s| keep(&s.var_arch)).collect();
        if rows.is_empty() {
            return Vec::new();
        }
        type LineKey = (String, String, String, u64); // variant, reference, context, seq_len
        type Band = Vec<(f64, f64, f64)>; // (budget, S lo, S hi)
        let mut lines: BTreeMap<LineKey, (Vec<(f64, f64)>, Band)> = BTreeMap::new();
        let mut bounds = 0;
        for s in &rows {
            let e = lines.entry((s.variant.clone(), s.reference.clone(), s.context.clone(), bits(s.seq_len))).or_default();
            if let Reach::At(_) = s.s.reach {
                e.0.push((s.s.budget_ref, s.s.speedup));
                if let Some((lo, hi)) = s.ci.bounds() {
                    e.1.push((s.s.budget_ref, lo, hi));
                }
            } else {
                bounds += 1;
            }
        }
        let mut chart = LineChart::new("steps-to-loss speedup S = B_ref / B_var", "reference budget B_ref (steps)", "speedup S")
            .log_x()
            .data_ticks_x()
            .hline(1.0, "S = 1");
        let banded = lines.values().any(|l| !l.1.is_empty());
        for ((v, r, ctx, t), (pts, band)) in lines {
            let ctx = if ctx == "all runs" { String::new() } else { format!(" {ctx}") };
            chart = chart.series(format!("{v} vs {r}{ctx} T={}", fmt_num(unbits(t))), pts).band(band);
        }
        if banded {
            chart = chart.note("bands: 95% seed-bootstrap interval of S");
        }
        if bounds > 0 {
            chart = chart.note(format!("{bounds} comparison(s) outside the variant's budget range are not drawn (bounds in report.md)"));
        }
        vec![("speedup".into(), Chart::Line(chart))]
    }

    /// S against the context length T, one line per reference budget, in steps and in wall
    /// clock side by side (nGPT's claim is about T: 4× / 10× / 20× at 1k / 4k / 8k). Only for
    /// sweeps with ≥ 2 context lengths; a comparison outside the variant's budget range is
    /// left out of the lines and counted in a note.
    pub fn context_charts(&self, keep: &dyn Fn(&str) -> bool) -> Vec<(String, Chart)> {
        let rows: Vec<&SpeedupRow> = self.speedups.iter().filter(|s| keep(&s.var_arch)).collect();
        if rows.iter().map(|s| bits(s.seq_len)).collect::<BTreeSet<u64>>().len() < 2 {
            return Vec::new();
        }
        type Lines = BTreeMap<(String, u64), (Vec<(f64, f64)>, Vec<(f64, f64, f64)>)>; // (pair, B_ref) → (T, S), (T, lo, hi)
        let (mut steps, mut wall): (Lines, Lines) = Default::default();
        let mut bounds = 0;
        for s in &rows {
            let Reach::At(_) = s.s.reach else {
                bounds += 1;
                continue;
            };
            let key = (format!("{} vs {}", s.variant, s.reference), bits(s.s.budget_ref));
            let e = steps.entry(key.clone()).or_default();
            e.0.push((s.seq_len, s.s.speedup));
            e.1.extend(s.ci.bounds().map(|(lo, hi)| (s.seq_len, lo, hi)));
            if let Some(w) = s.wall {
                let e = wall.entry(key).or_default();
                e.0.push((s.seq_len, w));
                e.1.extend(s.wall_ci.bounds().map(|(lo, hi)| (s.seq_len, lo, hi)));
            }
        }
        let panel = |title: &str, y: &str, lines: Lines| {
            let mut c = LineChart::new(title, "context length T (log₂)", y).log_x().data_ticks_x().hline(1.0, "S = 1");
            for ((name, b), (mut pts, mut band)) in lines {
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                band.sort_by(|a, b| a.0.total_cmp(&b.0));
                c = c.series(format!("{name} B_ref={}", fmt_num(unbits(b))), pts).band(band);
            }
            c
        };
        let mut grid = Grid::new(
            "steps-to-loss speedup vs context length",
            vec![panel("in steps: S = B_ref / B_var", "speedup S", steps), panel("in wall clock: S ÷ step-time ratio", "wall-clock S", wall)],
            2,
        )
        .note("bands: 95% seed-bootstrap intervals");
        if bounds > 0 {
            grid = grid.note(format!("{bounds} comparison(s) outside the variant's budget range are not drawn (bounds in the table)"));
        }
        vec![("speedup_vs_context".into(), Chart::Grid(grid))]
    }

    /// Validation loss vs step at the largest budget, reference vs variants (nGPT Fig. 1).
    pub fn fig1_charts(&self, keep: &dyn Fn(&str) -> bool) -> Vec<(String, Chart)> {
        let mut out = Vec::new();
        // In an LR grid the per-group loss-curve charts say this already.
        if self.lr_sweep && !self.keys.iter().any(|k| k == STEPS) {
            return out;
        }
        for c in &self.comparisons {
            let Some(b) = c.variants.values().flat_map(|v| v.3.keys()).map(|b| unbits(*b)).reduce(f64::max) else { continue };
            let name = Self::comparison_name(c);
            let mut chart = LineChart::new(format!("validation loss vs step at budget {} — {name}", fmt_num(b)), "step", "val loss");
            let mut ref_final: Option<(String, f64)> = None;
            let mut crossings = Vec::new();
            let mut series = Vec::new();
            for (vn, v) in &c.variants {
                let is_ref = reference_for(&v.0, &c.variants) == Some(vn.as_str()) || (reference_for(&v.0, &c.variants).is_none());
                if !(keep(&v.0) || is_ref) {
                    continue;
                }
                let Some((lr, _)) = v.3.get(&bits(b)).and_then(best_at_budget) else { continue };
                let ids: Vec<&str> =
                    c.run_ids.get(vn).map(|x| x.iter().filter(|r| r.1 == b && r.2 == lr).map(|r| r.0.as_str()).collect()).unwrap_or_default();
                let curve = self.mean_val_curve(&ids);
                if curve.is_empty() {
                    continue;
                }
                if v.0 == "gpt" || (v.0 == "gpt_plus" && ref_final.is_none()) {
                    ref_final = curve.last().map(|p| (vn.clone(), p.1));
                }
                series.push((vn.clone(), curve));
            }
            if series.len() < 2 {
                continue;
            }
            for (vn, curve) in &series {
                if let Some((rn, rl)) = &ref_final
                    && rn != vn
                    && let Some(p) = curve.iter().find(|p| p.1 <= *rl)
                {
                    crossings.push(format!("{vn} reaches {rn}'s final loss at step {} ({:.1}× fewer)", fmt_num(p.0), b / p.0));
                }
            }
            chart = add_curves(chart, series);
            if let Some((rn, rl)) = &ref_final {
                chart = chart.hline(*rl, format!("{rn} final {rl:.3}"));
            }
            for n in crossings {
                chart = chart.note(n);
            }
            chart =
                chart.note("Within one run the LR decay (cosine or WSD cool-down) favours the end; the per-budget speedup table is the fair number.");
            out.push((format!("fig1_{}", Self::comparison_slug(c)), Chart::Line(chart)));
        }
        out
    }

    /// Final loss per variant (the anGPT ablation ladder).
    pub fn ladder_charts(&self) -> Vec<(String, Chart)> {
        let mut by: BTreeMap<(String, u64), Vec<&LadderRow>> = BTreeMap::new();
        for r in &self.ladder {
            by.entry((r.context.clone(), bits(r.seq_len))).or_default().push(r);
        }
        let mut out = Vec::new();
        for ((ctx, t), rows) in by {
            if rows.len() < 2 {
                continue;
            }
            let file =
                if ctx == "all runs" { format!("ladder_t{}", fmt_num(unbits(t))) } else { format!("ladder_{}_t{}", slug(&ctx), fmt_num(unbits(t))) };
            let ctx = if ctx == "all runs" { String::new() } else { format!("{ctx} ") };
            let budgets: BTreeSet<u64> = rows.iter().map(|r| bits(r.budget)).collect();
            let b = if budgets.len() == 1 { format!("budget {}", fmt_num(rows[0].budget)) } else { "largest budget each".into() };
            let mut chart =
                BarChart::new(format!("final val loss per variant — {ctx}T={}, {b}", fmt_num(unbits(t))), "final val loss (lower is better)");
            for (i, r) in rows.iter().enumerate() {
                let ann = match r.gain_pct {
                    Some(g) if i > 0 => match r.gain_ci.bounds() {
                        Some((lo, hi)) => format!("{:.4} ({g:+.2}%, 95% {lo:+.2}…{hi:+.2}%)", r.loss),
                        None => format!("{:.4} ({g:+.2}%)", r.loss),
                    },
                    _ => format!("{:.4}", r.loss),
                };
                chart = chart.push(Bar { label: r.variant.clone(), value: r.loss, err: r.std, annotation: Some(ann), color: Some(i) });
            }
            chart = chart.note(format!("Percentages: loss reduction against the first bar ({}), 95% interval with seeds paired.", rows[0].variant));
            if rows.iter().any(|r| r.std.is_some()) {
                chart = chart.note("Whiskers: ± std over seeds.");
            }
            out.push((file, Chart::Bar(chart)));
        }
        out
    }

    /// α and s_z (and s_qk) against step for one representative run of each normalized
    /// variant: the largest budget, its best LR, the largest width, the first seed.
    pub fn diag_charts(&self, keep: &dyn Fn(&str) -> bool) -> Vec<(String, Chart)> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let (vi, _) = split_keys(&self.keys);
        let mut cands: Vec<&Run> = self.runs.iter().filter(|r| r.status == "done" && keep(&r.arch)).collect();
        cands.sort_by(|a, b| {
            b.steps
                .partial_cmp(&a.steps)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(b.width.partial_cmp(&a.width).unwrap_or(std::cmp::Ordering::Equal))
                .then(a.loss.partial_cmp(&b.loss).unwrap_or(std::cmp::Ordering::Equal))
                .then(a.seed.partial_cmp(&b.seed).unwrap_or(std::cmp::Ordering::Equal))
        });
        for r in cands {
            let vlabel = if vi.is_empty() { r.arch.clone() } else { label(&pick(&self.keys, &vi), &pick(&r.key, &vi)) };
            if seen.contains(&vlabel) {
                continue;
            }
            let path = self.dir.join("runs").join(&r.id).join("metrics.parquet");
            let Ok(m) = Metrics::read(&path) else { continue };
            let col = |prefix: &str| -> Vec<(String, Vec<(f64, f64)>)> {
                let mut v: Vec<(String, Vec<(f64, f64)>)> = m
                    .diag
                    .iter()
                    .filter(|(n, _)| n == prefix || n.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.')))
                    .map(|(n, vals)| {
                        let pts = m.step.iter().zip(vals).filter_map(|(s, v)| v.map(|v| (*s as f64, v))).collect();
                        let name = match n.rsplit_once('.') {
                            Some((_, layer)) if n != prefix => format!("layer {layer}"),
                            _ => match prefix {
                                "sz_mean" => "s_z".to_string(),
                                "sqk_mean" => "s_qk".to_string(),
                                p => p.to_string(),
                            },
                        };
                        (name, pts)
                    })
                    .collect();
                v.sort_by_key(|(n, _)| n.trim_start_matches("layer ").parse::<usize>().unwrap_or(0));
                v
            };
            let panels_src = [
                ("|α_A| per layer (attention)", col("alpha_attn")),
                ("|α_M| per layer (MLP)", col("alpha_mlp")),
                ("s_z (mean, effective)", col("sz_mean")),
                ("s_qk (mean, effective)", col("sqk_mean")),
            ];
            let panels: Vec<LineChart> = panels_src
                .into_iter()
                .filter(|(_, s)| !s.is_empty())
                .map(|(t, s)| {
                    let mut c = LineChart::new(t, "step", "value");
                    for (n, pts) in s {
                        let color = n.trim_start_matches("layer ").parse::<usize>().ok();
                        c = c.push(Series { name: n, points: pts, markers: true, dashed: false, color });
                    }
                    c
                })
                .collect();
            if panels.is_empty() {
                continue;
            }
            seen.insert(vlabel.clone());
            let title =
                format!("learned scales vs step — {vlabel} ({} steps, lr {}, d={}, run {})", fmt_num(r.steps), fmt_lr(r.lr), fmt_num(r.width), r.id);
            let cols = panels.len().min(2);
            let grid = Grid::new(title, panels, cols)
                .note("Paper (nGPT §3.2, 0.5B/1B): mean |α_A| 0.20–0.25, |α_M| 0.32–0.37; s_qk ≈ 1.4–1.5; s_z ≈ 60 at 0.5B/1k.");
            out.push((format!("diag_{}", slug(&vlabel)), Chart::Grid(grid)));
        }
        out
    }

    /// Every chart of the report.
    pub fn all_charts(&self) -> (Vec<(String, Chart)>, usize) {
        let all = |_: &str| true;
        let mut v = Vec::new();
        v.extend(self.lr_charts(&all));
        v.extend(self.eta_charts(None, &all));
        v.extend(self.budget_charts(&all));
        v.extend(self.speedup_charts(&all));
        v.extend(self.fig1_charts(&all));
        v.extend(self.ladder_charts());
        if let Some(Ok(l)) = &self.compute_ladder {
            v.extend(l.charts());
        }
        v.extend(self.diag_charts(&all));
        let (curves, skipped) = self.curve_charts();
        v.extend(curves);
        (v, skipped)
    }
}

/// Add loss curves to a chart with the y axis cut at the highest loss after 10% of each
/// curve's steps (the initial drop would flatten everything else); points above the cut are
/// left out. Sparse curves (≤ 25 points, eval steps) get markers.
pub(super) fn add_curves(mut chart: LineChart, series: Vec<(String, Vec<(f64, f64)>)>) -> LineChart {
    let lo = series.iter().flat_map(|s| s.1.iter().map(|p| p.1)).filter(|v| v.is_finite()).fold(f64::INFINITY, f64::min);
    let hi = series
        .iter()
        .filter_map(|(_, c)| {
            let end = c.last()?.0;
            c.iter().find(|p| p.0 >= 0.1 * end).map(|p| p.1)
        })
        .filter(|v| v.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    let cut = lo.is_finite() && hi.is_finite() && hi > lo;
    let mut dropped = false;
    for (name, c) in series {
        let pts: Vec<(f64, f64)> = if cut {
            let keep: Vec<(f64, f64)> = c.iter().cloned().filter(|p| p.1 <= hi).collect();
            dropped |= keep.len() < c.len();
            keep
        } else {
            c
        };
        chart = if pts.len() <= 25 { chart.series(name, pts) } else { chart.line(name, pts) };
    }
    if cut {
        let pad = 0.05 * (hi - lo);
        chart = chart.y_range(lo - pad, hi + pad);
        if dropped {
            chart = chart.note("y axis cut at the highest loss after 10% of the steps (the initial drop is not shown)");
        }
    }
    chart
}
