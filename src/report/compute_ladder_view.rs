//! The compute ladder shown: markdown tables (laws, rollout, multipliers, trends, problems),
//! the PNG/SVG charts (frontiers with fitted laws and bands, M against compute) and the same
//! plots for report.html.

use super::*;
use crate::analysis::compute_multiplier::{LawFit, Multiplier, loss_band, multipliers};
use crate::plot::fmt_sci;
use serde_json::{Value, json};

/// Points per law or multiplier curve (log-spaced in cost).
const CURVE_POINTS: usize = 32;

fn x_of(i: Interval, unit: &str) -> String {
    i.show(|v| format!("{}{unit}", fmt_num(v)))
}

fn m_text(m: &Multiplier) -> String {
    format!("{}× (95% {})", fmt_num(m.m), x_of(m.ci, "×"))
}

/// `n` log-spaced costs from `lo` to `hi`.
fn log_space(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    (0..n).map(|k| (lo.ln() + (hi.ln() - lo.ln()) * k as f64 / (n - 1).max(1) as f64).exp()).collect()
}

impl ComputeLadder {
    fn size_list(&self) -> String {
        self.sizes.iter().map(|s| format!("d={} L={}", fmt_num(s.0), fmt_num(s.1))).collect::<Vec<_>>().join(", ")
    }

    /// The largest cost of any cell on `axis` (the extrapolation's ×10 base).
    pub fn max_cost(&self, axis: CostAxis) -> f64 {
        self.variants.iter().flat_map(|v| v.axis(axis).cells.iter().map(|c| c.cost)).fold(0.0, f64::max)
    }

    /// The laws of `variant` and of its reference on `axis`, when both exist.
    fn laws(&self, c: &VsReference) -> Option<(&LawFit, &LawFit)> {
        let f = |n: &str| self.variant(n).and_then(|v| v.axis(c.axis).fit.as_ref().ok());
        Some((f(&c.reference)?, f(&c.variant)?))
    }

    /// What a finished ladder sweep prints: per pair, M in FLOPs at the lowest loss both
    /// reached and extrapolated, and the trend.
    pub fn summary_table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .comparisons
            .iter()
            .filter(|c| c.axis == CostAxis::Flops)
            .map(|c| {
                let pair = format!("{} vs {}", c.variant, c.reference);
                match &c.note {
                    Some(n) => vec![pair, format!("no multiplier: {n}"), "—".into(), "—".into()],
                    None => vec![
                        pair,
                        c.common.as_ref().map_or("— (see report.md)".into(), |m| format!("{} at loss {:.4}", m_text(m), m.level)),
                        c.extrapolated.as_ref().map_or("— (see report.md)".into(), m_text),
                        c.trend.map_or("—".into(), |t| format!("{:+.3} (95% {})", t.0, t.1.show(|v| format!("{v:+.3}")))),
                    ],
                }
            })
            .collect();
        let headers = [
            "variant vs reference",
            "M in FLOPs at the lowest loss both reached",
            "M extrapolated to 10× the largest compute",
            "trend d ln M / d ln C",
        ];
        md_table(&headers.map(String::from), &rows)
    }

    pub fn markdown(&self) -> String {
        let mut md = format!(
            "Sizes (width and depth grown together): {}; context T = {}; seeds {}. M(L) = C_ref(L) / C_var(L) at matched loss, reference {}; \
             95% seed-bootstrap intervals ({} draws, seeds paired across variants).\n\n",
            self.size_list(),
            fmt_num(self.seq_len),
            self.seeds.iter().map(|s| fmt_num(*s)).collect::<Vec<_>>().join(", "),
            self.reference.as_deref().unwrap_or("— (no GPT in the sweep: no multiplier)"),
            BOOTSTRAP_DRAWS,
        );
        md += "Learning rates:\n\n";
        for v in &self.variants {
            md += &format!("- {}: {}\n", v.label, v.lr_source);
        }
        md += "\n### Fitted laws L = E + A·C^(−α) on each variant's frontier\n\n";
        let headers = ["variant", "cost axis", "frontier cells", "E", "A", "α", "draws without a law", "rollout: largest size, measured − predicted"];
        let mut rows = Vec::new();
        for v in &self.variants {
            for a in &v.axes {
                let roll = match &a.rollout {
                    Ok(r) => format!("{:+.4} (95% {}) over {} cell(s)", r.error, r.ci.show(|e| format!("{e:+.4}")), r.targets.len()),
                    Err(e) => e.clone(),
                };
                let row = match &a.fit {
                    Err(why) => vec![v.label.clone(), a.axis.name().into(), "—".into(), why.clone(), "—".into(), "—".into(), "—".into(), roll],
                    Ok(f) => {
                        let sizes: BTreeSet<usize> = f.frontier.iter().map(|&i| a.cells[i].size).collect();
                        let cells = format!("{} from {} size(s)", f.frontier.len(), sizes.len());
                        match &f.law {
                            Err(e) => {
                                vec![v.label.clone(), a.axis.name().into(), cells, format!("no law: {e}"), "—".into(), "—".into(), "—".into(), roll]
                            }
                            Ok(l) => {
                                let alpha = if f.resolved().is_some() {
                                    format!("{:.3} ({})", l.alpha, f.alpha.show(|x| format!("{x:.3}")))
                                } else {
                                    format!("not resolved: 95% {} includes 0", f.alpha.show(|x| format!("{x:.3}")))
                                };
                                vec![
                                    v.label.clone(),
                                    a.axis.name().into(),
                                    cells,
                                    format!("{:.3} ({})", l.e, f.e.show(|x| format!("{x:.3}"))),
                                    format!("{} ({})", fmt_sci(l.coefficient()), f.a.show(fmt_sci)),
                                    alpha,
                                    format!("{} of {}", f.failed_draws(), f.draws.len()),
                                    roll,
                                ]
                            }
                        }
                    }
                };
                rows.push(row);
            }
        }
        md += &md_table(&headers.map(String::from), &rows);
        md += "\n### Multipliers M(L) (compute = training FLOPs; every loss level is one the reference's frontier reached)\n\n";
        let headers = ["variant vs reference", "cost axis", "loss level", "which level", "C_ref(L)", "M", "draws undefined"];
        let mut rows = Vec::new();
        let mut trends = Vec::new();
        for c in &self.comparisons {
            let pair = format!("{} vs {}", c.variant, c.reference);
            if let Some(note) = &c.note {
                rows.push(vec![pair.clone(), c.axis.name().into(), "—".into(), format!("no multiplier: {note}"), "—".into(), "—".into(), "—".into()]);
                continue;
            }
            let row = |m: &Multiplier, which: String| {
                vec![
                    pair.clone(),
                    c.axis.name().into(),
                    format!("{:.4}", m.level),
                    which,
                    fmt_sci(m.ref_cost),
                    m_text(m),
                    format!("{} of {BOOTSTRAP_DRAWS}", m.undefined_draws),
                ]
            };
            if c.axis == CostAxis::Flops {
                for l in &c.levels {
                    let which =
                        if l.var_reached { "measured: both reached it" } else { "measured by the reference only: the variant's law extrapolated" };
                    rows.push(row(&l.m, which.into()));
                }
            }
            if let Some(m) = &c.common {
                rows.push(row(m, "the lowest loss both reached (the verdict's level)".into()));
            }
            if let Some(m) = &c.extrapolated {
                rows.push(row(m, format!("**extrapolation**: the reference's law at {}× the largest cost", fmt_num(EXTRAPOLATE))));
            }
            for why in &c.unreached {
                rows.push(vec![
                    pair.clone(),
                    c.axis.name().into(),
                    "—".into(),
                    format!("no multiplier at {why}"),
                    "—".into(),
                    "—".into(),
                    "—".into(),
                ]);
            }
            let reading = match c.trend.as_ref().map(|t| (t.0, t.1.bounds())) {
                Some((_, Some((lo, _)))) if lo > 0.0 => "grows with compute",
                Some((_, Some((_, hi)))) if hi < 0.0 => "shrinks with compute",
                Some((_, Some(_))) => "no trend resolved (the interval contains 0)",
                Some((_, None)) => "no interval",
                None => "fewer than 2 levels both reached",
            };
            trends.push(vec![
                pair.clone(),
                c.axis.name().into(),
                c.trend.map_or("—".into(), |t| format!("{:+.3} (95% {})", t.0, t.1.show(|v| format!("{v:+.3}")))),
                reading.into(),
            ]);
        }
        md += &md_table(&headers.map(String::from), &rows);
        md += "\n### Does the advantage grow with scale? The slope d ln M / d ln C_ref across the levels both reached\n\n";
        md += &md_table(&["variant vs reference", "cost axis", "slope", "reading"].map(String::from), &trends);
        if !self.problems.is_empty() {
            md += "\n### What the ladder is missing\n\n";
            for p in &self.problems {
                md += &format!("- {p}\n");
            }
        }
        md
    }

    /// Frontiers with their laws and bands (FLOPs), and M against compute for each axis.
    pub fn charts(&self) -> Vec<(String, Chart)> {
        let mut front = LineChart::new(
            format!("compute frontier (lowest loss over sizes) and L = E + A·C^(−α), T = {}", fmt_num(self.seq_len)),
            "training FLOPs",
            "final val loss (seed mean)",
        )
        .log_x();
        for (i, v) in self.variants.iter().enumerate() {
            let Ok(f) = &v.axis(CostAxis::Flops).fit else { continue };
            front =
                front.push(Series { name: format!("{} frontier", v.label), points: f.points.clone(), markers: true, dashed: false, color: Some(i) });
            let Ok(law) = &f.law else { continue };
            let lo = f.points.first().map_or(1.0, |p| p.0);
            let c_max = self.max_cost(CostAxis::Flops);
            for (costs, dashed, name) in [
                (log_space(lo, c_max, CURVE_POINTS), false, format!("{}: α = {:.3}", v.label, law.alpha)),
                (log_space(c_max, EXTRAPOLATE * c_max, CURVE_POINTS / 2), true, format!("{}: extrapolated", v.label)),
            ] {
                let band: Vec<(f64, f64, f64)> =
                    costs.iter().zip(loss_band(f, &costs)).filter_map(|(c, b)| b.and_then(|b| Some((*c, b.1.lo()?, b.1.hi()?)))).collect();
                front =
                    front.push(Series { name, points: costs.iter().map(|&c| (c, law.loss(c))).collect(), markers: false, dashed, color: Some(i) });
                front = front.band(band);
            }
        }
        front = front
            .note("Points: each variant's frontier cells; lines: the fitted law with its 95% band; dashed: beyond the largest measured compute.");
        let mut out = vec![("compute_frontier".to_string(), Chart::Line(front))];
        out.push(("compute_multiplier".into(), Chart::Line(self.multiplier_chart(CostAxis::Flops))));
        let panels = [CostAxis::Steps, CostAxis::Wall].map(|a| self.multiplier_chart(a).size(640, 420)).to_vec();
        out.push(("multiplier_steps_wall".into(), Chart::Grid(Grid::new("compute multiplier in steps (= tokens) and in wall-clock", panels, 2))));
        out
    }

    /// The measured and extrapolated multiplier curve of `c` with their bands.
    fn multiplier_curves(&self, c: &VsReference) -> Option<[(Vec<Multiplier>, bool); 2]> {
        let (rf, vf) = self.laws(c)?;
        let law = rf.law.as_ref().ok()?;
        let c_max = self.max_cost(c.axis);
        let lo = rf.points.first()?.0;
        let at = |costs: Vec<f64>| multipliers(rf, vf, &costs.iter().map(|&x| law.loss(x)).collect::<Vec<_>>());
        Some([(at(log_space(lo, c_max, CURVE_POINTS)), false), (at(log_space(c_max, EXTRAPOLATE * c_max, CURVE_POINTS / 2)), true)])
    }

    fn multiplier_chart(&self, axis: CostAxis) -> LineChart {
        let mut chart =
            LineChart::new(format!("compute multiplier M(L) = C_ref(L) / C_var(L), {}", axis.short()), format!("reference {}", axis.name()), "M")
                .log_x()
                .log_y()
                .hline(1.0, "M = 1: no gain");
        // The y range follows the measured whiskers and the curves' own values, not the
        // extrapolation's bands, which span decades and would flatten everything measured.
        let shown = self.comparisons.iter().filter(|c| c.axis == axis && c.note.is_none());
        let ys: Vec<f64> = shown
            .clone()
            .flat_map(|c| {
                let curves = self.multiplier_curves(c).into_iter().flatten().flat_map(|(ms, _)| ms.into_iter().map(|m| m.m));
                c.levels.iter().flat_map(|l| [l.m.ci.lo(), l.m.ci.hi()]).flatten().chain(curves).collect::<Vec<_>>()
            })
            .filter(|y| y.is_finite() && *y > 0.0)
            .collect();
        let (y_lo, y_hi) = (ys.iter().cloned().fold(1.0, f64::min) / 2.0, ys.iter().cloned().fold(1.0, f64::max) * 2.0);
        chart = chart.y_range(y_lo, y_hi);
        let clip = |b: (f64, f64, f64)| (b.0, b.1.max(y_lo), b.2.min(y_hi));
        for (i, c) in shown.enumerate() {
            let name = format!("{} vs {}", c.variant, c.reference);
            let color = Some(i + 1);
            chart = chart.push(Series {
                name: format!("{name} (measured levels)"),
                points: c.levels.iter().map(|l| (l.m.ref_cost, l.m.m)).collect(),
                markers: true,
                dashed: false,
                color,
            });
            chart = chart.whiskers(c.levels.iter().filter_map(|l| Some((l.m.ref_cost, l.m.ci.lo()?, l.m.ci.hi()?))).collect());
            for (ms, dashed) in self.multiplier_curves(c).into_iter().flatten() {
                let label = if dashed { format!("{name}: extrapolated to {}×", fmt_num(EXTRAPOLATE)) } else { format!("{name}: from the laws") };
                chart = chart.push(Series { name: label, points: ms.iter().map(|m| (m.ref_cost, m.m)).collect(), markers: false, dashed, color });
                chart = chart.band(ms.iter().filter_map(|m| Some(clip((m.ref_cost, m.ci.lo()?, m.ci.hi()?)))).collect());
            }
        }
        chart.note("Whiskers and bands: 95% seed-bootstrap intervals (bands cut at the plot's edges); dashed: beyond the largest measured compute (extrapolation).")
    }

    /// The two plots of report.html: the frontiers with laws and bands, and M against compute.
    pub fn html_plots(&self) -> Vec<Plot> {
        const COLORS: [&str; 10] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
        let band = |x: &[f64], lo: &[f64], hi: &[f64], color: &str, group: &str| -> [Value; 2] {
            [
                json!({"type": "scatter", "mode": "lines", "x": x, "y": hi, "line": {"width": 0, "color": color}, "showlegend": false, "legendgroup": group, "hoverinfo": "skip"}),
                json!({"type": "scatter", "mode": "lines", "x": x, "y": lo, "line": {"width": 0, "color": color}, "fill": "tonexty", "opacity": 0.2,
                       "showlegend": false, "legendgroup": group, "hoverinfo": "skip", "name": format!("{group} 95% band")}),
            ]
        };
        let layout = |x: &str, y: &str, logy: bool| {
            json!({"xaxis": {"title": {"text": x}, "type": "log"}, "yaxis": {"title": {"text": y}, "type": if logy { "log" } else { "linear" }},
                   "hovermode": "closest", "margin": {"t": 30}})
        };
        let mut traces = Vec::new();
        let c_max = self.max_cost(CostAxis::Flops);
        for (i, v) in self.variants.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let Ok(f) = &v.axis(CostAxis::Flops).fit else { continue };
            traces.push(json!({"type": "scatter", "mode": "markers+lines", "name": format!("{} frontier", v.label), "legendgroup": v.label,
                "x": f.points.iter().map(|p| p.0).collect::<Vec<_>>(), "y": f.points.iter().map(|p| p.1).collect::<Vec<_>>(),
                "marker": {"color": color, "size": 8}, "line": {"color": color, "width": 1}}));
            let Ok(law) = &f.law else { continue };
            let costs = log_space(f.points.first().map_or(1.0, |p| p.0), EXTRAPOLATE * c_max, CURVE_POINTS);
            let b: Vec<(f64, f64, f64)> =
                costs.iter().zip(loss_band(f, &costs)).filter_map(|(c, b)| b.and_then(|b| Some((*c, b.1.lo()?, b.1.hi()?)))).collect();
            let (x, lo, hi): (Vec<f64>, Vec<f64>, Vec<f64>) =
                (b.iter().map(|p| p.0).collect(), b.iter().map(|p| p.1).collect(), b.iter().map(|p| p.2).collect());
            traces.extend(band(&x, &lo, &hi, color, &v.label));
            traces.push(json!({"type": "scatter", "mode": "lines", "name": format!("{}: L = {:.3} + {}·C^(−{:.3})", v.label, law.e, fmt_sci(law.coefficient()), law.alpha),
                "legendgroup": v.label, "x": costs, "y": costs.iter().map(|&c| law.loss(c)).collect::<Vec<_>>(), "line": {"color": color, "dash": "dot"}}));
        }
        let mut plots = vec![Plot {
            id: "compute-frontier".into(),
            title: format!("Compute frontier and fitted laws (95% bands, extrapolated to {}× the largest compute)", fmt_num(EXTRAPOLATE)),
            traces,
            layout: layout("training FLOPs", "final val loss (seed mean)", false),
            panels: 0,
            filterable: false,
        }];
        let mut traces = Vec::new();
        for (i, c) in self.comparisons.iter().filter(|c| c.axis == CostAxis::Flops && c.note.is_none()).enumerate() {
            let color = COLORS[(i + 1) % COLORS.len()];
            let name = format!("{} vs {}", c.variant, c.reference);
            let ms: Vec<Multiplier> = self.multiplier_curves(c).into_iter().flatten().flat_map(|(m, _)| m).collect();
            let b: Vec<&Multiplier> = ms.iter().filter(|m| m.ci.bounds().is_some()).collect();
            let x: Vec<f64> = b.iter().map(|m| m.ref_cost).collect();
            traces.extend(band(
                &x,
                &b.iter().map(|m| m.ci.lo().unwrap()).collect::<Vec<_>>(),
                &b.iter().map(|m| m.ci.hi().unwrap()).collect::<Vec<_>>(),
                color,
                &name,
            ));
            traces.push(json!({"type": "scatter", "mode": "lines", "name": format!("{name} (from the laws)"), "legendgroup": name,
                "x": ms.iter().map(|m| m.ref_cost).collect::<Vec<_>>(), "y": ms.iter().map(|m| m.m).collect::<Vec<_>>(), "line": {"color": color, "dash": "dot"}}));
            let up: Vec<Option<f64>> = c.levels.iter().map(|l| l.m.ci.hi().map(|h| h - l.m.m)).collect();
            let down: Vec<Option<f64>> = c.levels.iter().map(|l| l.m.ci.lo().map(|lo| l.m.m - lo)).collect();
            traces.push(json!({"type": "scatter", "mode": "markers", "name": format!("{name} (measured levels)"), "legendgroup": name,
                "x": c.levels.iter().map(|l| l.m.ref_cost).collect::<Vec<_>>(), "y": c.levels.iter().map(|l| l.m.m).collect::<Vec<_>>(),
                "text": c.levels.iter().map(|l| format!("loss {:.4}: M {}", l.m.level, m_text(&l.m))).collect::<Vec<_>>(),
                "hovertemplate": "%{text}<extra></extra>",
                "error_y": {"type": "data", "symmetric": false, "array": up, "arrayminus": down, "color": color}, "marker": {"color": color, "size": 9}}));
        }
        if !traces.is_empty() {
            plots.push(Plot {
                id: "compute-multiplier".into(),
                title: format!(
                    "Compute multiplier M(L) = C_ref(L)/C_var(L) vs reference compute (95% bands; beyond the largest compute: extrapolation to {}×)",
                    fmt_num(EXTRAPOLATE)
                ),
                traces,
                layout: layout("reference training FLOPs C_ref(L)", "M", true),
                panels: 0,
                filterable: false,
            });
        }
        plots
    }
}
