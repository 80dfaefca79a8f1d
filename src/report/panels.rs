//! The canonical transfer figure as data (TP-V Fig. 1, νGPT Fig. 2): small multiples, one
//! panel per family (architecture × parameterization × switches: every group key but the
//! swept axes), final loss vs LR with one line per size along the swept axis, the seeds'
//! spread and η* with its interval; one y range for all panels. The PNG grid (charts.rs) and
//! report.html's subplots (html/plots.rs) draw the same panels.

use super::derive::*;
use super::tables::*;
use super::*;

/// One LR of one line: the seeds' final losses.
#[derive(Clone, Debug)]
pub struct PanelPoint {
    pub lr: f64,
    /// Seed mean; +∞ when a seed diverged (the LR counts as diverged, as in the η* fit).
    pub mean: f64,
    /// The seeds' min and max, when at least two finished and none diverged.
    pub spread: Option<(f64, f64)>,
    pub seeds: usize,
    /// Ids of the runs at this point (every seed).
    pub run_ids: Vec<String>,
}

/// η* of one line: the fit, its loss, its 95% interval and whether it is a bound.
#[derive(Clone, Debug)]
pub struct PanelOptimum {
    pub eta: f64,
    pub loss: f64,
    pub interval: Option<(f64, f64)>,
    pub bound: bool,
}

/// One size of one family (e.g. d_model=64 of gpt mup).
#[derive(Clone, Debug)]
pub struct PanelLine {
    /// The swept axes' values ("d_model=64"); the same name in every panel.
    pub name: String,
    /// Group key of the line (the runs' `key`).
    pub key: Vec<String>,
    pub points: Vec<PanelPoint>,
    pub optimum: Option<PanelOptimum>,
}

#[derive(Clone, Debug)]
pub struct Panel {
    /// The family's label ("gpt mup").
    pub family: String,
    /// The family's η* drift across the swept axis with its interval, when measured.
    pub drift: Option<String>,
    pub lines: Vec<PanelLine>,
    /// What the panel cannot show ("one d_model only: no drift to read").
    pub missing: Vec<String>,
}

/// The panels and their shared y range.
#[derive(Clone, Debug)]
pub struct Panels {
    pub panels: Vec<Panel>,
    /// The swept axes (short names, "d_model"), empty when none varies.
    pub axes: Vec<String>,
    /// (lo, hi) of every panel's y axis; exploded (not diverged) losses above it are cut.
    pub y_range: Option<(f64, f64)>,
}

impl Analysis {
    /// (indices of the swept axes among the group keys, indices of the rest: the family).
    fn axis_split(&self) -> (Vec<usize>, Vec<usize>) {
        (0..self.keys.len()).partition(|&i| AXES.contains(&self.keys[i].as_str()))
    }

    /// (family, size) labels of a group key: ("gpt mup", "d_model=64"); the size is empty
    /// when no axis is swept.
    pub(super) fn family_and_size(&self, key: &[String]) -> (String, String) {
        let (axis_idx, fam_idx) = self.axis_split();
        let size = if axis_idx.is_empty() { String::new() } else { label(&pick(&self.keys, &axis_idx), &pick(key, &axis_idx)) };
        (label(&pick(&self.keys, &fam_idx), &pick(key, &fam_idx)), size)
    }

    /// The transfer panels of the families `keep` accepts, or none when the sweep neither
    /// varies the LR nor sweeps a width or depth at one LR (a budget or ladder sweep).
    pub fn transfer_panels(&self, keep: &dyn Fn(&str) -> bool) -> Panels {
        let (axis_idx, fam_idx) = self.axis_split();
        let axes: Vec<String> = axis_idx.iter().map(|&i| short_key(&self.keys[i])).collect();
        let shape_swept = self.keys.iter().any(|k| k == WIDTH || k == DEPTH);
        if !(self.lr_sweep || (shape_swept && self.speedups.is_empty())) {
            return Panels { panels: Vec::new(), axes, y_range: None };
        }
        // family → line key → lr → runs
        type Lines<'r> = BTreeMap<Vec<String>, BTreeMap<u64, Vec<&'r Run>>>;
        let mut fams: BTreeMap<Vec<String>, Lines> = BTreeMap::new();
        for r in self.runs.iter().filter(|r| r.is_data() && keep(&r.arch)) {
            fams.entry(pick(&r.key, &fam_idx)).or_default().entry(r.key.clone()).or_default().entry(bits(r.lr)).or_default().push(r);
        }
        let mut panels = Vec::new();
        for (fam, lines) in fams {
            let mut lines: Vec<PanelLine> = lines.into_iter().map(|(key, by_lr)| self.panel_line(key, by_lr)).collect();
            lines.sort_by(|a, b| natural_cmp(&pick(&a.key, &axis_idx), &pick(&b.key, &axis_idx)));
            let family = lines.first().map(|l| self.family_and_size(&l.key).0).unwrap_or_default();
            let drift = self
                .drifts
                .iter()
                .find(|d| pick(&d.family, &fam_idx) == fam)
                .map(|d| format!("η* drift {:.2}× (95% {}) across {}", d.drift, d.drift_ci.show(|v| format!("{v:.2}×")), axis_name(&d.axis)));
            let mut missing = Vec::new();
            if axis_idx.is_empty() {
                missing.push("no width, depth or budget is swept: no transfer to read".to_string());
            } else if lines.len() < 2 {
                missing.push(format!("one {} only: no drift to read", axes.join("/")));
            }
            if lines.iter().all(|l| l.points.len() < 2) {
                missing.push("one learning rate per size: no η*".to_string());
            } else {
                for l in lines.iter().filter(|l| l.points.len() >= 2 && l.optimum.is_none()) {
                    missing.push(format!("{}: every learning rate diverged, no η*", l.name));
                }
            }
            panels.push(Panel { family, drift, lines, missing });
        }
        let finite: Vec<f64> = panels.iter().flat_map(|p| &p.lines).flat_map(|l| &l.points).map(|p| p.mean).filter(|v| v.is_finite()).collect();
        // Cut exploded (not diverged) losses: above lo + 3·(upper quartile − lo).
        let y_range = match (finite.iter().cloned().reduce(f64::min), quantile(&finite, 0.75)) {
            (Some(lo), Some(q75)) => {
                let top = panels.iter().flat_map(|p| &p.lines).flat_map(|l| &l.points).filter_map(|p| p.spread.map(|s| s.1));
                let hi = finite.iter().cloned().chain(top).fold(f64::MIN, f64::max).min(lo + 3.0 * (q75 - lo) + 0.05);
                let low = panels.iter().flat_map(|p| &p.lines).flat_map(|l| &l.points).filter_map(|p| p.spread.map(|s| s.0)).fold(lo, f64::min);
                let pad = 0.05 * (hi - low).max(0.01);
                Some((low - pad, hi + 1.6 * pad))
            }
            _ => None,
        };
        Panels { panels, axes, y_range }
    }

    fn panel_line(&self, key: Vec<String>, by_lr: BTreeMap<u64, Vec<&Run>>) -> PanelLine {
        let mut points: Vec<PanelPoint> = by_lr
            .into_iter()
            .map(|(lr, rs)| {
                let losses: Vec<f64> = rs.iter().map(|r| r.loss).collect();
                let diverged = losses.iter().any(|l| !l.is_finite());
                let mean = if diverged { f64::INFINITY } else { losses.iter().sum::<f64>() / losses.len() as f64 };
                let spread = (!diverged && losses.len() > 1)
                    .then(|| (losses.iter().cloned().fold(f64::INFINITY, f64::min), losses.iter().cloned().fold(f64::NEG_INFINITY, f64::max)));
                PanelPoint { lr: unbits(lr), mean, spread, seeds: rs.len(), run_ids: rs.iter().map(|r| r.id.clone()).collect() }
            })
            .collect();
        points.sort_by(|a, b| a.lr.total_cmp(&b.lr));
        let optimum = self.lr.iter().find(|g| g.key == key).and_then(|g| {
            let o = g.opt.as_ref()?;
            Some(PanelOptimum { eta: o.eta_star, loss: o.loss_star, interval: g.eta_ci.bounds(), bound: o.at_edge() })
        });
        let size = self.family_and_size(&key).1;
        let name = if size.is_empty() { "all sizes".to_string() } else { size };
        PanelLine { name, key, points, optimum }
    }
}
