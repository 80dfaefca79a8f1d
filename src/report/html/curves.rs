//! Loss curves grouped by config: one line per config without its seed (family, size, LR),
//! the mean over the seeds that finished with the seeds' min–max as a band; a run that did not
//! finish normally keeps a curve of its own in its config's legend group (dashed and ending in
//! × when it diverged, dotted and ending in ○ when it failed or stopped, its error in the
//! hover). Legend entries are named by the swept values; each trace carries its family, size
//! and LR in `meta`, which the page's filter reads. Colour follows the LR (low = dark).

use super::super::Analysis;
use super::super::tables::fmt_lr;
use super::{Extra, MAX_TRAIN_POINTS, Plot, hover_escape, thin};
use crate::analysis::runs::{Run, natural_cmp};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Viridis at 8 stops, interpolated: LRs in order, low dark, high light.
fn sequential(i: usize, n: usize) -> String {
    const STOPS: [(f64, f64, f64); 8] = [
        (68.0, 1.0, 84.0),
        (70.0, 50.0, 127.0),
        (54.0, 92.0, 141.0),
        (39.0, 127.0, 142.0),
        (31.0, 161.0, 135.0),
        (74.0, 194.0, 109.0),
        (159.0, 218.0, 58.0),
        (220.0, 210.0, 30.0),
    ];
    let t = if n <= 1 { 0.0 } else { i as f64 / (n - 1) as f64 } * (STOPS.len() - 1) as f64;
    let (k, f) = ((t.floor() as usize).min(STOPS.len() - 2), t - t.floor().min((STOPS.len() - 2) as f64));
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    let (a, b) = (STOPS[k], STOPS[k + 1]);
    format!("#{:02x}{:02x}{:02x}", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// (step, mean, min, max) over the curves, at every step any of them has.
fn aggregate(curves: &[&Vec<(f64, f64)>]) -> Vec<(f64, f64, f64, f64)> {
    let mut by: BTreeMap<u64, (f64, f64, f64, f64, usize)> = BTreeMap::new();
    for c in curves {
        for &(s, v) in c.iter() {
            let e = by.entry(s.to_bits()).or_insert((s, 0.0, f64::INFINITY, f64::NEG_INFINITY, 0));
            (e.1, e.2, e.3, e.4) = (e.1 + v, e.2.min(v), e.3.max(v), e.4 + 1);
        }
    }
    let mut v: Vec<(f64, f64, f64, f64)> = by.into_values().map(|e| (e.0, e.1 / e.4 as f64, e.2, e.3)).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

impl Analysis {
    pub(super) fn curve_plot(
        &self,
        (id, title, ylabel): (&str, &str, &str),
        curves: &BTreeMap<String, Vec<(f64, f64)>>,
        extras: &BTreeMap<String, Extra>,
    ) -> Option<Plot> {
        let none = Extra::default();
        let mut configs: BTreeMap<(Vec<String>, u64), Vec<&Run>> = BTreeMap::new();
        for r in self.runs.iter().filter(|r| curves.get(&r.id).is_some_and(|c| !c.is_empty())) {
            configs.entry((r.key.clone(), r.lr.to_bits())).or_default().push(r);
        }
        if configs.is_empty() {
            return None;
        }
        let mut lrs: Vec<f64> = configs.keys().map(|k| f64::from_bits(k.1)).collect();
        lrs.sort_by(f64::total_cmp);
        lrs.dedup();
        let mut order: Vec<&(Vec<String>, u64)> = configs.keys().collect();
        order.sort_by(|a, b| natural_cmp(&a.0, &b.0).then(f64::from_bits(a.1).total_cmp(&f64::from_bits(b.1))));
        let mut traces = Vec::new();
        for k in order {
            let rs = &configs[k];
            let lr = f64::from_bits(k.1);
            let (family, size) = self.family_and_size(&k.0);
            let lr_text = if lr.is_finite() { format!("lr={}", fmt_lr(lr)) } else { String::new() };
            let name = [family.as_str(), size.as_str(), lr_text.as_str()].iter().filter(|s| !s.is_empty()).cloned().collect::<Vec<_>>().join(" ");
            let c = sequential(lrs.iter().position(|x| x.to_bits() == k.1).unwrap_or(0), lrs.len());
            let meta = json!({"family": family, "size": size, "lr": if lr.is_finite() { fmt_lr(lr) } else { String::new() }});
            let (done, other): (Vec<&Run>, Vec<&Run>) = rs.iter().copied().partition(|r| r.status == "done");
            let mut legend = true;
            if !done.is_empty() {
                let agg = aggregate(&done.iter().map(|r| &curves[&r.id]).collect::<Vec<_>>());
                let mean = thin(&agg.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(), MAX_TRAIN_POINTS);
                let seeds: Vec<String> = done.iter().map(|r| format!("{} ({})", crate::plot::fmt_num(r.seed), r.id)).collect();
                let text = format!("<b>{}</b><br>seeds: {}", hover_escape(&name), hover_escape(&seeds.join(", ")));
                if done.len() > 1 {
                    let lo = thin(&agg.iter().map(|p| (p.0, p.2)).collect::<Vec<_>>(), MAX_TRAIN_POINTS);
                    let hi = thin(&agg.iter().map(|p| (p.0, p.3)).collect::<Vec<_>>(), MAX_TRAIN_POINTS);
                    let x: Vec<f64> = hi.iter().map(|p| p.0).chain(lo.iter().rev().map(|p| p.0)).collect();
                    let y: Vec<f64> = hi.iter().map(|p| p.1).chain(lo.iter().rev().map(|p| p.1)).collect();
                    traces.push(json!({
                        "type": "scatter", "mode": "lines", "name": format!("{name} (seeds' min–max)"), "legendgroup": name, "showlegend": false,
                        "x": x, "y": y, "fill": "toself", "fillcolor": format!("{c}33"), "line": {"width": 0, "color": c}, "hoverinfo": "skip", "meta": meta,
                    }));
                }
                traces.push(json!({
                    "type": "scatter", "mode": "lines", "name": name, "legendgroup": name, "showlegend": legend,
                    "x": mean.iter().map(|p| p.0).collect::<Vec<_>>(), "y": mean.iter().map(|p| p.1).collect::<Vec<_>>(), "text": text,
                    "hovertemplate": format!("%{{text}}<br>step %{{x}}<br>{ylabel} %{{y:.4f}} (mean of {} seed{})<extra></extra>", done.len(), if done.len() == 1 { "" } else { "s" }),
                    "line": {"color": c, "width": 1.8}, "meta": meta,
                }));
                legend = false;
            }
            for r in other {
                traces.push(self.run_curve(r, &curves[&r.id], extras.get(&r.id).unwrap_or(&none), (&name, legend, &c, &meta), ylabel));
                legend = false;
            }
        }
        Some(Plot {
            id: id.into(),
            title: title.into(),
            traces,
            layout: super::plots::base_layout("step", ylabel, false, false),
            panels: 0,
            filterable: true,
        })
    }

    /// The curve of one run that did not finish normally, in its config's legend group.
    fn run_curve(&self, r: &Run, c: &[(f64, f64)], e: &Extra, (group, legend, color, meta): (&str, bool, &str, &Value), ylabel: &str) -> Value {
        let c = thin(c, MAX_TRAIN_POINTS);
        let (dash, end) = if r.status == "diverged" { ("dash", "x") } else { ("dot", "circle-open") };
        let n = c.len();
        let sizes: Vec<f64> = (0..n).map(|i| if i + 1 == n { 10.0 } else { 0.0 }).collect();
        json!({
            "type": "scatter", "mode": "lines+markers", "name": if legend { group.to_string() } else { format!("{group} seed={} ({})", crate::plot::fmt_num(r.seed), r.status) },
            "legendgroup": group, "showlegend": legend,
            "x": c.iter().map(|p| p.0).collect::<Vec<_>>(), "y": c.iter().map(|p| p.1).collect::<Vec<_>>(),
            "text": self.run_hover(r, e),
            "hovertemplate": format!("%{{text}}<br>step %{{x}}<br>{ylabel} %{{y:.4f}}<extra></extra>"),
            "line": {"dash": dash, "width": 1.5, "color": color},
            "marker": {"symbol": end, "size": sizes, "color": color}, "meta": meta,
        })
    }
}
