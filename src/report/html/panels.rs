//! The transfer panels (`report::panels`) as one plotly figure of subplots: one panel per
//! family on a grid, one colour per size (one legend entry per size, toggling it in every
//! panel), seed means with the seeds' min–max as error bars, diverged LRs as × on a
//! "diverged" line, η* as a star with its interval; every panel on the same y range and
//! with round LR ticks whose labels fit.

use super::super::{Analysis, PanelLine};
use super::plots::{color, extend, log_ticks_json, panel_px};
use super::{Plot, hover_escape};
use crate::plot::fmt_num;
use serde_json::{Value, json};

/// Pixel height of one row of panels.
const ROW_PX: usize = 360;

impl Analysis {
    pub(super) fn panels_plot(&self) -> Option<Plot> {
        let ps = self.transfer_panels(&|_| true);
        if ps.panels.is_empty() {
            return None;
        }
        let n = ps.panels.len();
        let cols = if n == 4 { 2 } else { n.min(3) };
        let rows = n.div_ceil(cols);
        let names: Vec<&str> = {
            let mut v: Vec<&str> = Vec::new();
            for l in ps.panels.iter().flat_map(|p| &p.lines) {
                if !v.contains(&l.name.as_str()) {
                    v.push(&l.name);
                }
            }
            v
        };
        let (lo, hi) = ps.y_range.unwrap_or((0.0, 1.0));
        let any_diverged = ps.panels.iter().flat_map(|p| &p.lines).flat_map(|l| &l.points).any(|q| !q.mean.is_finite());
        let top = if any_diverged { hi + 0.08 * (hi - lo) } else { hi };
        let lrs: Vec<f64> = ps.panels.iter().flat_map(|p| &p.lines).flat_map(|l| &l.points).map(|q| q.lr).filter(|v| *v > 0.0).collect();
        let (lr_lo, lr_hi) = lrs.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        let pad = 0.06 * (lr_hi.log10() - lr_lo.log10()).max(0.3);
        let x_range = [lr_lo.log10() - pad, lr_hi.log10() + pad];
        let x_ticks = log_ticks_json(10f64.powf(x_range[0]), 10f64.powf(x_range[1]), &[], panel_px(cols));
        let mut traces = Vec::new();
        let mut layout = json!({
            "grid": {"rows": rows, "columns": cols, "pattern": "independent", "ygap": 0.32, "xgap": 0.12},
            "height": ROW_PX * rows + 60, "hovermode": "closest", "margin": {"t": 50},
            "legend": {"title": {"text": ps.axes.join(", ")}, "font": {"size": 11}},
        });
        let mut annotations = Vec::new();
        let mut shapes = Vec::new();
        let mut shown: Vec<&str> = Vec::new();
        for (i, p) in ps.panels.iter().enumerate() {
            let s = if i == 0 { String::new() } else { (i + 1).to_string() };
            let (xa, ya) = (format!("x{s}"), format!("y{s}"));
            let mut xaxis = json!({"type": "log", "range": x_range, "title": {"text": "learning rate", "standoff": 4}, "tickangle": 0});
            extend(&mut xaxis, x_ticks.clone());
            layout[format!("xaxis{s}")] = xaxis;
            layout[format!("yaxis{s}")] = json!({"range": [lo, top], "title": {"text": "final val loss"}, "tickangle": 0});
            let mut title = format!("<b>{}</b>", hover_escape(&p.family));
            if let Some(d) = &p.drift {
                title.push_str(&format!("<br>{}", hover_escape(d)));
            }
            for m in &p.missing {
                title.push_str(&format!("<br><i>{}</i>", hover_escape(m)));
            }
            annotations.push(json!({"text": title, "xref": format!("{xa} domain"), "yref": format!("{ya} domain"), "x": 0.5, "y": 1.02,
                "xanchor": "center", "yanchor": "bottom", "showarrow": false, "font": {"size": 12}}));
            if any_diverged {
                shapes.push(json!({"type": "line", "xref": format!("{xa} domain"), "x0": 0, "x1": 1, "yref": ya, "y0": top, "y1": top,
                    "line": {"dash": "dot", "color": "#999", "width": 1}}));
            }
            for l in &p.lines {
                let c = color(names.iter().position(|n| *n == l.name).unwrap_or(0));
                let first = !shown.contains(&l.name.as_str());
                shown.push(&l.name);
                traces.extend(line_traces(&p.family, l, &c, first, (&xa, &ya), (hi, top)));
            }
        }
        if any_diverged {
            annotations.push(json!({"text": "× diverged", "xref": "paper", "yref": "paper", "x": 1.0, "y": 1.0, "xanchor": "left",
                "yanchor": "bottom", "showarrow": false, "font": {"color": "#666", "size": 11}}));
        }
        layout["annotations"] = Value::Array(annotations);
        layout["shapes"] = Value::Array(shapes);
        Some(Plot {
            id: "lr".into(),
            title:
                "Final validation loss vs learning rate, one panel per family (★ η* with its 95% interval, hollow: a bound; bars: the seeds' min–max)"
                    .into(),
            traces,
            layout,
            panels: n,
            filterable: false,
        })
    }
}

/// One size of one panel: its seed means (with the seeds' spread), its diverged LRs at the
/// top line, means above the plotted range as ▲ at its top, and η*.
fn line_traces(family: &str, l: &PanelLine, c: &str, legend: bool, (xa, ya): (&str, &str), (hi, top): (f64, f64)) -> Vec<Value> {
    let hover = |lr: f64, seeds: usize, ids: &[String]| {
        format!(
            "<b>{} {}</b><br>lr={} · {seeds} seed(s)<br>runs: {}",
            hover_escape(family),
            hover_escape(&l.name),
            fmt_num(lr),
            hover_escape(&ids.join(", "))
        )
    };
    let inside: Vec<_> = l.points.iter().filter(|q| q.mean.is_finite() && q.mean <= hi).collect();
    let mut t = json!({
        "type": "scatter", "mode": "lines+markers", "name": l.name, "legendgroup": l.name, "showlegend": legend, "xaxis": xa, "yaxis": ya,
        "x": inside.iter().map(|q| q.lr).collect::<Vec<_>>(), "y": inside.iter().map(|q| q.mean).collect::<Vec<_>>(),
        "text": inside.iter().map(|q| hover(q.lr, q.seeds, &q.run_ids)).collect::<Vec<_>>(),
        "hovertemplate": "%{text}<br>final val loss %{y:.4f} (seed mean)<extra></extra>",
        "marker": {"color": c, "size": 7}, "line": {"color": c, "width": 1.5},
    });
    if inside.iter().any(|q| q.spread.is_some()) {
        let up: Vec<Option<f64>> = inside.iter().map(|q| q.spread.map(|s| s.1 - q.mean)).collect();
        let down: Vec<Option<f64>> = inside.iter().map(|q| q.spread.map(|s| q.mean - s.0)).collect();
        t["error_y"] = json!({"type": "data", "symmetric": false, "array": up, "arrayminus": down, "color": c, "thickness": 1.2, "width": 3});
    }
    let mut out = vec![t];
    let edge: Vec<_> = l.points.iter().filter(|q| !q.mean.is_finite() || q.mean > hi).collect();
    if !edge.is_empty() {
        let y: Vec<f64> = edge.iter().map(|q| if q.mean.is_finite() { hi } else { top }).collect();
        let text: Vec<String> = edge
            .iter()
            .map(|q| {
                let what =
                    if q.mean.is_finite() { format!("seed mean {} (above the plotted range)", fmt_num(q.mean)) } else { "a seed diverged".into() };
                format!("{}<br><i>{what}</i>", hover(q.lr, q.seeds, &q.run_ids))
            })
            .collect();
        let symbols: Vec<&str> = edge.iter().map(|q| if q.mean.is_finite() { "triangle-up-open" } else { "x-thin-open" }).collect();
        out.push(json!({
            "type": "scatter", "mode": "markers", "name": format!("{} (diverged or above the range)", l.name), "legendgroup": l.name,
            "showlegend": false, "xaxis": xa, "yaxis": ya, "x": edge.iter().map(|q| q.lr).collect::<Vec<_>>(), "y": y, "text": text,
            "hovertemplate": "%{text}<extra></extra>",
            "marker": {"color": c, "size": 10, "symbol": symbols, "line": {"width": 2, "color": c}},
        }));
    }
    if let Some(o) = &l.optimum {
        let mut note = format!("<b>{} {}</b><br>η* = {}", hover_escape(family), hover_escape(&l.name), fmt_num(o.eta));
        if let Some((a, b)) = o.interval {
            note.push_str(&format!(" (95% {}–{})", fmt_num(a), fmt_num(b)));
        }
        if o.bound {
            note.push_str("<br><i>at the grid edge: a bound, not an optimum</i>");
        }
        let mut s = json!({
            "type": "scatter", "mode": "markers", "name": format!("{} η*", l.name), "legendgroup": l.name, "showlegend": false,
            "xaxis": xa, "yaxis": ya, "x": [o.eta], "y": [o.loss.min(hi)], "text": [note],
            "hovertemplate": "%{text}<br>loss at η* %{y:.4f}<extra></extra>",
            "marker": {"color": if o.bound { "white".to_string() } else { c.to_string() }, "size": 15, "symbol": "star",
                "line": {"width": 1.5, "color": if o.bound { c } else { "#222" }}},
        });
        if let Some((a, b)) = o.interval {
            s["error_x"] = json!({"type": "data", "symmetric": false, "array": [b - o.eta], "arrayminus": [o.eta - a], "color": c, "thickness": 2});
        }
        out.push(s);
    }
    out
}
