//! The plots of report.html as plotly traces + layouts (JSON): η* vs each swept axis and the
//! speedup S (the transfer panels are `panels.rs`, the loss curves `curves.rs`), and what
//! every plot shares: the palette and log axes with round ticks whose labels fit.

use super::super::{Analysis, Drift, SpeedupRow};
use super::{Plot, finite, hover_escape};
use crate::analysis::runs::short_key;
use crate::analysis::speedup::Reach;
use crate::plot::{PALETTE, fmt_num, log_axis_ticks, tick_labels};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Colour `i` of the chart palette (plot::PALETTE), so a series looks alike in PNG and page.
pub(super) fn color(i: usize) -> String {
    let c = PALETTE[i % PALETTE.len()];
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// plotly's 12 px tick labels: about 7 px per character, 15 px tall.
const TICK_CHAR_PX: f64 = 7.0;
const TICK_HEIGHT_PX: f64 = 15.0;
/// The narrowest the page lays out (1200 px wide at most, readable down to ≈ 900 px).
const PAGE_PX: f64 = 860.0;

/// Plot-area width of one panel when `cols` panels share a row.
pub(super) fn panel_px(cols: usize) -> f64 {
    PAGE_PX / cols.max(1) as f64 - 90.0
}

/// `tickvals` / `ticktext` of a horizontal log axis over [lo, hi] (data units): `data` values
/// or round ones, whose labels fit on `px` pixels (plot::log_axis_ticks).
pub(super) fn log_ticks_json(lo: f64, hi: f64, data: &[f64], px: f64) -> Value {
    let vals = log_axis_ticks(lo, hi, data, px, &|s: &str| s.chars().count() as f64 * TICK_CHAR_PX);
    json!({"tickmode": "array", "tickvals": vals, "ticktext": tick_labels(&vals)})
}

/// The same for a vertical log axis of `px` pixels (labels stack: their height counts).
fn log_ticks_json_y(lo: f64, hi: f64, px: f64) -> Value {
    let vals = log_axis_ticks(lo, hi, &[], px, &|_| TICK_HEIGHT_PX);
    json!({"tickmode": "array", "tickvals": vals, "ticktext": tick_labels(&vals)})
}

/// The range of positive finite values (with a little room), for explicit log ticks.
fn positive_range(v: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = v.filter(|x| x.is_finite() && *x > 0.0).fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    (lo <= hi).then(|| (lo / 1.15, hi * 1.15))
}

// ---------------------------------------------------------------------------------------------
// The interval accessors. Every interval the page shows goes through these, so a change in
// how the analysis stores intervals touches only this block.

/// η* interval of each point of a drift (same order as `points`).
fn drift_eta_intervals(d: &Drift) -> Vec<Option<(f64, f64)>> {
    d.eta_ci.iter().map(|c| c.bounds()).collect()
}

/// The bootstrap interval of S.
fn speedup_interval(r: &SpeedupRow) -> Option<(f64, f64)> {
    r.ci.bounds()
}

impl Analysis {
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
                            "marker": {"size": 9, "color": color(i),
                                "symbol": d.points.iter().map(|p| if p.2 { "circle-open" } else { "circle" }).collect::<Vec<_>>()},
                            "line": {"color": color(i)},
                        });
                        if ivs.iter().any(Option::is_some) {
                            let up: Vec<Option<f64>> = d.points.iter().zip(&ivs).map(|(p, iv)| iv.map(|(_, b)| b - p.1)).collect();
                            let down: Vec<Option<f64>> = d.points.iter().zip(&ivs).map(|(p, iv)| iv.map(|(a, _)| p.1 - a)).collect();
                            t["error_y"] = json!({"type": "data", "symmetric": false, "array": up, "arrayminus": down});
                        }
                        t
                    })
                    .collect();
                let ds: Vec<&Drift> = self.drifts.iter().filter(|d| d.axis == *axis).collect();
                let xs: Vec<f64> = ds.iter().flat_map(|d| d.points.iter().map(|p| p.0)).collect();
                let ys =
                    ds.iter().flat_map(|d| d.points.iter().map(|p| p.1).chain(d.eta_ci.iter().filter_map(|c| c.bounds()).flat_map(|(a, b)| [a, b])));
                let mut layout = base_layout(&name, "η*", true, true);
                if let (Some((lo, hi)), Some((ylo, yhi))) = (positive_range(xs.iter().cloned()), positive_range(ys)) {
                    layout["xaxis"]["range"] = json!([lo.log10(), hi.log10()]);
                    extend(&mut layout["xaxis"], log_ticks_json(lo, hi, &xs, PAGE_PX - 300.0));
                    layout["yaxis"]["range"] = json!([ylo.log10(), yhi.log10()]);
                    extend(&mut layout["yaxis"], log_ticks_json_y(ylo, yhi, 380.0));
                }
                Plot {
                    id: format!("eta-{name}"), title: format!("η* vs {name} (○ at the grid edge)"), traces, layout, panels: 0, filterable: false
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
            let color = color(i);
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
        let mut layout = base_layout("reference budget B_ref (steps)", "speedup S", true, false);
        let budgets: Vec<f64> = self.speedups.iter().map(|r| r.s.budget_ref).collect();
        if let Some((lo, hi)) = positive_range(budgets.iter().cloned()) {
            layout["xaxis"]["range"] = json!([lo.log10(), hi.log10()]);
            extend(&mut layout["xaxis"], log_ticks_json(lo, hi, &budgets, PAGE_PX - 300.0));
        }
        Some(Plot {
            id: "speedup".into(),
            title: "Steps-to-loss speedup S = B_ref / B_var (▲ S is a lower bound, ▼ an upper bound; dashed: wall-clock)".into(),
            traces,
            layout,
            panels: 0,
            filterable: false,
        })
    }
}

/// Add the fields of `extra` (an object) to `v` (an object).
pub(super) fn extend(v: &mut Value, extra: Value) {
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
}

/// A single plot's layout; tick labels stay horizontal (plotly would tilt crowded ones).
pub(super) fn base_layout(x: &str, y: &str, logx: bool, logy: bool) -> Value {
    json!({
        "xaxis": {"title": {"text": x}, "type": if logx { "log" } else { "linear" }, "tickangle": 0},
        "yaxis": {"title": {"text": y}, "type": if logy { "log" } else { "linear" }, "tickangle": 0},
        "hovermode": "closest", "margin": {"t": 30}, "height": 480,
        "legend": {"font": {"size": 11}},
    })
}
