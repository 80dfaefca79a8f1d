//! The plots of report.html as plotly traces + layouts (JSON): loss vs LR, η* vs each swept
//! axis, the speedup S, and the per-run curves.

use super::super::{Analysis, Drift, LrGroup, SpeedupRow};
use super::{Extra, MAX_TRAIN_POINTS, Plot, finite, hover_escape, thin};
use crate::analysis::lr_optimum::{Bound, LrOptimum};
use crate::analysis::runs::{Run, short_key};
use crate::analysis::speedup::Reach;
use crate::plot::fmt_num;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// plotly's default colour cycle, so a group's runs, mean line, diverged marks and η* share one.
const PALETTE: [&str; 10] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

// ---------------------------------------------------------------------------------------------
// The interval accessors. Every interval the page shows goes through these, so a change in
// how the analysis stores intervals touches only this block.

fn at_edge(o: &LrOptimum) -> bool {
    o.bound != Bound::Interior
}

/// The seed-bootstrap η* interval of one group (none with fewer than two seeds).
fn group_eta_interval(g: &LrGroup) -> Option<(f64, f64)> {
    g.eta_ci.bounds()
}

/// η* interval of each point of a drift (same order as `points`).
fn drift_eta_intervals(d: &Drift) -> Vec<Option<(f64, f64)>> {
    d.eta_ci.iter().map(|c| c.bounds()).collect()
}

/// The bootstrap interval of S.
fn speedup_interval(r: &SpeedupRow) -> Option<(f64, f64)> {
    r.ci.bounds()
}

impl Analysis {
    pub(super) fn lr_plot(&self, extras: &BTreeMap<String, Extra>) -> Option<Plot> {
        if self.lr.is_empty() {
            return None;
        }
        let none = Extra::default();
        let ex = |r: &Run| extras.get(&r.id).unwrap_or(&none);
        let members = |g: &LrGroup| -> Vec<&Run> { self.runs.iter().filter(|r| r.key == g.key && r.is_data()).collect() };
        // Diverged runs sit on a line just above the highest finite loss.
        let finite_losses: Vec<f64> = self.lr.iter().flat_map(&members).filter_map(|r| finite(r.loss)).collect();
        let (lo, hi) = finite_losses.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        let ceiling = if finite_losses.is_empty() { 1.0 } else { hi + 0.08 * (hi - lo).max(0.05 * hi.abs()).max(1e-3) };
        let mut traces = Vec::new();
        let mut any_diverged = false;
        for (i, g) in self.lr.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let rs = members(g);
            let (ok, div): (Vec<&Run>, Vec<&Run>) = rs.iter().partition(|r| r.loss.is_finite());
            traces.push(json!({
                "type": "scatter", "mode": "markers", "name": g.label, "legendgroup": g.label,
                "x": ok.iter().map(|r| r.lr).collect::<Vec<_>>(),
                "y": ok.iter().map(|r| r.loss).collect::<Vec<_>>(),
                "text": ok.iter().map(|r| self.run_hover(r, ex(r))).collect::<Vec<_>>(),
                "hovertemplate": "%{text}<br>final val loss %{y:.4f}<extra></extra>",
                "marker": {"color": color, "size": 8},
            }));
            let mean: Vec<(f64, f64)> = g.curve.iter().filter(|p| p.1.is_finite()).cloned().collect();
            traces.push(json!({
                "type": "scatter", "mode": "lines", "name": format!("{} (seed mean)", g.label), "legendgroup": g.label,
                "showlegend": false, "hoverinfo": "skip",
                "x": mean.iter().map(|p| p.0).collect::<Vec<_>>(), "y": mean.iter().map(|p| p.1).collect::<Vec<_>>(),
                "line": {"color": color, "width": 1.5},
            }));
            if !div.is_empty() {
                any_diverged = true;
                traces.push(json!({
                    "type": "scatter", "mode": "markers", "name": format!("{} (diverged)", g.label), "legendgroup": g.label,
                    "showlegend": false,
                    "x": div.iter().map(|r| r.lr).collect::<Vec<_>>(), "y": vec![ceiling; div.len()],
                    "text": div.iter().map(|r| self.run_hover(r, ex(r))).collect::<Vec<_>>(),
                    "hovertemplate": "%{text}<extra></extra>",
                    "marker": {"color": color, "size": 11, "symbol": "x-thin-open", "line": {"width": 2, "color": color}},
                }));
            }
            if let Some(o) = &g.opt {
                let iv = group_eta_interval(g);
                let mut note = format!("<b>{}</b><br>η* = {}", hover_escape(&g.label), fmt_num(o.eta_star));
                if let Some((a, b)) = iv {
                    note.push_str(&format!(" (interval {}–{})", fmt_num(a), fmt_num(b)));
                }
                if at_edge(o) {
                    note.push_str("<br><i>at the grid edge: a bound, not an optimum</i>");
                }
                let mut t = json!({
                    "type": "scatter", "mode": "markers", "name": format!("{} η*", g.label), "legendgroup": g.label,
                    "showlegend": false, "x": [o.eta_star], "y": [finite(o.loss_star)], "text": [note],
                    "hovertemplate": "%{text}<br>loss at η* %{y:.4f}<extra></extra>",
                    "marker": {"color": color, "size": 15, "symbol": if at_edge(o) { "star-open" } else { "star" }, "line": {"width": 1, "color": "#222"}},
                });
                if let Some((a, b)) = iv {
                    t["error_x"] =
                        json!({"type": "data", "symmetric": false, "array": [b - o.eta_star], "arrayminus": [o.eta_star - a], "color": color});
                }
                traces.push(t);
            }
        }
        let mut layout = base_layout("learning rate", "final validation loss", true, false);
        if any_diverged {
            layout["shapes"] = json!([{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": ceiling, "y1": ceiling,
                "line": {"dash": "dot", "color": "#999", "width": 1}}]);
            layout["annotations"] = json!([{"xref": "paper", "x": 0, "xanchor": "left", "y": ceiling, "yanchor": "bottom",
                "text": "diverged", "showarrow": false, "font": {"color": "#666"}}]);
        }
        Some(Plot { id: "lr".into(), title: "Final validation loss vs learning rate (× diverged, ★ η*)".into(), traces, layout })
    }

    pub(super) fn curve_plot(
        &self,
        id: &str,
        title: &str,
        ylabel: &str,
        curves: &BTreeMap<String, Vec<(f64, f64)>>,
        extras: &BTreeMap<String, Extra>,
    ) -> Option<Plot> {
        let none = Extra::default();
        let mut traces = Vec::new();
        for r in &self.runs {
            let Some(c) = curves.get(&r.id).filter(|c| !c.is_empty()) else {
                continue;
            };
            let c = thin(c, MAX_TRAIN_POINTS);
            let dash = match r.status.as_str() {
                "done" => "solid",
                "diverged" => "dash",
                _ => "dot",
            };
            // The last point of a run that did not finish carries a mark: × diverged, ○ else.
            let end_symbol = match r.status.as_str() {
                "done" => "circle",
                "diverged" => "x",
                _ => "circle-open",
            };
            let n = c.len();
            let sizes: Vec<f64> = (0..n).map(|i| if i + 1 == n && r.status != "done" { 10.0 } else { 0.0 }).collect();
            traces.push(json!({
                "type": "scatter", "mode": "lines+markers", "name": r.id,
                "x": c.iter().map(|p| p.0).collect::<Vec<_>>(), "y": c.iter().map(|p| p.1).collect::<Vec<_>>(),
                "text": self.run_hover(r, extras.get(&r.id).unwrap_or(&none)),
                "hovertemplate": format!("%{{text}}<br>step %{{x}}<br>{ylabel} %{{y:.4f}}<extra></extra>"),
                "line": {"dash": dash, "width": 1.5},
                "marker": {"symbol": end_symbol, "size": sizes},
            }));
        }
        if traces.is_empty() {
            return None;
        }
        Some(Plot { id: id.into(), title: title.into(), traces, layout: base_layout("step", ylabel, false, false) })
    }

    pub(super) fn eta_plots(&self) -> Vec<Plot> {
        let mut axes: Vec<&str> = self.drifts.iter().map(|d| d.axis.as_str()).collect();
        axes.dedup();
        axes.iter()
            .map(|axis| {
                let name = short_key(axis);
                let traces = self
                    .drifts
                    .iter()
                    .filter(|d| d.axis == *axis)
                    .enumerate()
                    .map(|(i, d)| {
                        let ivs = drift_eta_intervals(d);
                        let text: Vec<String> = d
                            .points
                            .iter()
                            .zip(&ivs)
                            .map(|(p, iv)| {
                                let mut s = format!("<b>{}</b><br>{name}={}<br>η* = {}", hover_escape(&d.label), fmt_num(p.0), fmt_num(p.1));
                                if let Some((a, b)) = iv {
                                    s.push_str(&format!(" (interval {}–{})", fmt_num(*a), fmt_num(*b)));
                                }
                                if p.2 {
                                    s.push_str("<br><i>at the grid edge: a bound</i>");
                                }
                                s + &format!("<br>loss at η* {}", fmt_num(p.3))
                            })
                            .collect();
                        let mut t = json!({
                            "type": "scatter", "mode": "lines+markers",
                            "name": format!("{} (drift {}×, slope {})", d.label, fmt_num(d.drift), fmt_num(d.slope)),
                            "x": d.points.iter().map(|p| p.0).collect::<Vec<_>>(), "y": d.points.iter().map(|p| p.1).collect::<Vec<_>>(),
                            "text": text, "hovertemplate": "%{text}<extra></extra>",
                            "marker": {"size": 9, "color": PALETTE[i % PALETTE.len()],
                                "symbol": d.points.iter().map(|p| if p.2 { "circle-open" } else { "circle" }).collect::<Vec<_>>()},
                            "line": {"color": PALETTE[i % PALETTE.len()]},
                        });
                        if ivs.iter().any(Option::is_some) {
                            let up: Vec<Option<f64>> = d.points.iter().zip(&ivs).map(|(p, iv)| iv.map(|(_, b)| b - p.1)).collect();
                            let down: Vec<Option<f64>> = d.points.iter().zip(&ivs).map(|(p, iv)| iv.map(|(a, _)| p.1 - a)).collect();
                            t["error_y"] = json!({"type": "data", "symmetric": false, "array": up, "arrayminus": down});
                        }
                        t
                    })
                    .collect();
                Plot {
                    id: format!("eta-{name}"),
                    title: format!("η* vs {name} (○ at the grid edge)"),
                    traces,
                    layout: base_layout(&name, "η*", true, true),
                }
            })
            .collect()
    }

    pub(super) fn speedup_plot(&self) -> Option<Plot> {
        if self.speedups.is_empty() {
            return None;
        }
        let mut series: BTreeMap<(String, String, String, u64), Vec<&SpeedupRow>> = BTreeMap::new();
        for r in &self.speedups {
            series.entry((r.context.clone(), r.variant.clone(), r.reference.clone(), r.seq_len.to_bits())).or_default().push(r);
        }
        let mut traces = Vec::new();
        for (i, ((ctx, var, rf, _), rows)) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let seq = rows[0].seq_len;
            let name = format!(
                "{var} vs {rf}{}{}",
                if ctx.is_empty() || ctx == "all runs" { String::new() } else { format!(" · {ctx}") },
                if seq.is_finite() { format!(" · T={}", fmt_num(seq)) } else { String::new() }
            );
            let ivs: Vec<Option<(f64, f64)>> = rows.iter().map(|r| speedup_interval(r)).collect();
            let text: Vec<String> = rows
                .iter()
                .zip(&ivs)
                .map(|(r, iv)| {
                    let rel = match r.s.reach {
                        Reach::At(_) => "S =",
                        Reach::AboveMax(_) => "S < (target not reached within the largest budget)",
                        Reach::BelowMin(_) => "S > (target beaten at the smallest budget)",
                    };
                    let mut s = format!(
                        "<b>{}</b><br>B_ref {} (loss {})<br>{rel} {}",
                        hover_escape(&name),
                        fmt_num(r.s.budget_ref),
                        fmt_num(r.s.loss_ref),
                        fmt_num(r.s.speedup)
                    );
                    if let Some((a, b)) = iv {
                        s.push_str(&format!("<br>interval {}–{}", fmt_num(*a), fmt_num(*b)));
                    }
                    if let Some(w) = r.wall {
                        s.push_str(&format!("<br>wall-clock {}", fmt_num(w)));
                    }
                    s
                })
                .collect();
            let symbols: Vec<&str> = rows
                .iter()
                .map(|r| match r.s.reach {
                    Reach::At(_) => "circle",
                    Reach::AboveMax(_) => "triangle-down",
                    Reach::BelowMin(_) => "triangle-up",
                })
                .collect();
            let mut t = json!({
                "type": "scatter", "mode": "lines+markers", "name": name, "legendgroup": name,
                "x": rows.iter().map(|r| r.s.budget_ref).collect::<Vec<_>>(), "y": rows.iter().map(|r| finite(r.s.speedup)).collect::<Vec<_>>(),
                "text": text, "hovertemplate": "%{text}<extra></extra>",
                "marker": {"size": 9, "color": color, "symbol": symbols}, "line": {"color": color},
            });
            if ivs.iter().any(Option::is_some) {
                let up: Vec<Option<f64>> = rows.iter().zip(&ivs).map(|(r, iv)| iv.map(|(_, b)| b - r.s.speedup)).collect();
                let down: Vec<Option<f64>> = rows.iter().zip(&ivs).map(|(r, iv)| iv.map(|(a, _)| r.s.speedup - a)).collect();
                t["error_y"] = json!({"type": "data", "symmetric": false, "array": up, "arrayminus": down, "color": color});
            }
            traces.push(t);
            if rows.iter().any(|r| r.wall.is_some()) {
                traces.push(json!({
                    "type": "scatter", "mode": "lines", "name": format!("{name} (wall-clock)"), "legendgroup": name,
                    "x": rows.iter().map(|r| r.s.budget_ref).collect::<Vec<_>>(),
                    "y": rows.iter().map(|r| r.wall.and_then(finite)).collect::<Vec<_>>(),
                    "hovertemplate": "wall-clock S %{y:.3f}<extra></extra>",
                    "line": {"color": color, "dash": "dash"},
                }));
            }
        }
        Some(Plot {
            id: "speedup".into(),
            title: "Steps-to-loss speedup S = B_ref / B_var (▲ S is a lower bound, ▼ an upper bound; dashed: wall-clock)".into(),
            traces,
            layout: base_layout("reference budget B_ref (steps)", "speedup S", true, false),
        })
    }
}

fn base_layout(x: &str, y: &str, logx: bool, logy: bool) -> Value {
    json!({
        "xaxis": {"title": {"text": x}, "type": if logx { "log" } else { "linear" }},
        "yaxis": {"title": {"text": y}, "type": if logy { "log" } else { "linear" }},
        "hovermode": "closest", "margin": {"t": 30}, "height": 480,
        "legend": {"font": {"size": 11}},
    })
}
