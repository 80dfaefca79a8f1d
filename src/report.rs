//! `normlab report RESULTS_DIR` (also run at the end of a sweep): the merged table
//! (`results.parquet`, `curves.parquet`) → derived numbers (`report.csv`, `report.parquet`),
//! a markdown report with the papers' numbers beside ours (`report.md`) and the plots
//! (`plots/*.png|svg`).
//!
//! What is computed (docs/variants.md §8):
//! - **LR transfer**, when some group has ≥ 2 learning rates: η* per group (parabola in log LR;
//!   diverged runs count as +∞), the loss at η*, the seed spread; across each swept axis
//!   (width, depth, steps) the drift max η*/min η* and the log-log slope of η* (the horizon
//!   slope when the steps vary).
//! - **Steps-to-loss speedup**, when the budget (`cfg.train.steps`) varies and a reference
//!   architecture is present (GPT; GPT+ for anGPT): S = B_ref / B_var per budget and context,
//!   a bootstrap interval over seeds, and the wall-clock speedup S ÷ step-time ratio. With
//!   several LRs per budget, each budget uses its best LR (seed-mean final loss).
//! - **Ablation ladder**: final loss per variant at the largest common budget.
//!
//! Runs that are not `done` or `diverged` (pending, partial, failed, interrupted) are not data:
//! they are counted as missing, so a partial sweep still gets a report.

use crate::analysis::runs::{self, ARCH, AXES, DEPTH, Run, SEQ_LEN, STEPS, WIDTH, group_keys, label, natural_cmp, short_key};
use crate::analysis::speedup::{self as sp, Reach, Speedup};
use crate::analysis::transfer::{LrOptimum, drift_factor, log_log_slope, lr_optimum, seed_spread, std};
use crate::plot::{Bar, BarChart, Grid, LineChart, Series, fmt_num};
use crate::record::{Metrics, read_parquet, write_parquet};
use anyhow::{Context, Result};
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// Bootstrap of the speedup: draws, RNG seed, quantiles.
pub const BOOTSTRAP_DRAWS: usize = 1000;
pub const BOOTSTRAP_SEED: u64 = 7;
pub const BOOTSTRAP_Q: (f64, f64) = (0.05, 0.95);
/// At most this many loss-curve charts per report (the rest are listed as skipped).
pub const MAX_CURVE_CHARTS: usize = 40;

// ---------------------------------------------------------------------------------------------
// Derived numbers

/// η* of one group (one LR curve).
#[derive(Clone, Debug)]
pub struct LrGroup {
    pub key: Vec<String>,
    pub label: String,
    pub arch: String,
    pub param: String,
    pub opt: Option<LrOptimum>,
    /// (lr, seed-mean final loss; +∞ if a seed diverged), sorted by lr.
    pub curve: Vec<(f64, f64)>,
    pub runs: usize,
    pub diverged_runs: usize,
    pub missing: usize,
    pub seeds: usize,
    pub eta_std: Option<f64>,
    pub loss_std: Option<f64>,
}

/// η* across one swept axis for one family (the other keys fixed).
#[derive(Clone, Debug)]
pub struct Drift {
    pub axis: String,
    pub family: Vec<String>,
    pub label: String,
    pub arch: String,
    pub param: String,
    /// (axis value, η*, at grid edge, loss at η*), sorted by axis value.
    pub points: Vec<(f64, f64, bool, f64)>,
    pub drift: f64,
    pub slope: f64,
    pub scale_horizon: Option<bool>,
}

/// One steps-to-loss comparison.
#[derive(Clone, Debug)]
pub struct SpeedupRow {
    pub context: String,
    pub variant: String,
    pub var_arch: String,
    pub reference: String,
    pub ref_arch: String,
    pub seq_len: f64,
    pub s: Speedup,
    /// Bootstrap (lo, hi, fraction of draws out of range).
    pub ci: Option<(f64, f64, f64)>,
    pub seeds: (usize, usize),
    /// median step time variant / reference.
    pub step_ratio: Option<f64>,
    pub wall: Option<f64>,
}

/// Final loss of one variant at one budget (the ablation ladder).
#[derive(Clone, Debug)]
pub struct LadderRow {
    pub context: String,
    pub variant: String,
    pub arch: String,
    pub flags: Vec<String>,
    pub seq_len: f64,
    pub budget: f64,
    pub loss: f64,
    pub std: Option<f64>,
    pub seeds: usize,
    /// 100·(L_first − L)/L_first against the first rung.
    pub gain_pct: Option<f64>,
}

/// Per (context, seq_len, variant): budget → lr → [(seed, loss)].
type BudgetTable = BTreeMap<u64, BTreeMap<u64, Vec<(f64, f64)>>>;
/// variant label → (arch, set switches, variant key values, budgets).
type Variants = BTreeMap<String, (String, Vec<String>, Vec<String>, BudgetTable)>;

struct Comparison {
    context: String,
    seq_len: f64,
    variants: Variants,
    step_times: BTreeMap<String, Vec<f64>>,
    run_ids: BTreeMap<String, Vec<(String, f64, f64)>>, // variant → (run id, steps, lr)
}

/// Everything `report` derives from a sweep directory; `figures` draws from it too.
pub struct Analysis {
    pub dir: PathBuf,
    pub keys: Vec<String>,
    pub runs: Vec<Run>,
    pub lr_sweep: bool,
    pub lr: Vec<LrGroup>,
    pub drifts: Vec<Drift>,
    pub speedups: Vec<SpeedupRow>,
    pub ladder: Vec<LadderRow>,
    comparisons: Vec<Comparison>,
    curves: BTreeMap<String, Vec<(f64, f64)>>,
}

fn bits(x: f64) -> u64 {
    x.to_bits()
}
fn unbits(b: u64) -> f64 {
    f64::from_bits(b)
}

/// (variant key indices, context key indices) of the group keys: the variant is the
/// architecture, the parameterization and the architecture switches; the context is every
/// other key except the budget and the sequence length.
fn split_keys(keys: &[String]) -> (Vec<usize>, Vec<usize>) {
    let mut v = Vec::new();
    let mut c = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        if k == ARCH || k.starts_with("cfg.param") || k.starts_with("cfg.model.norm.") {
            v.push(i);
        } else if k != STEPS && k != SEQ_LEN {
            c.push(i);
        }
    }
    (v, c)
}

fn pick<T: Clone>(v: &[T], idx: &[usize]) -> Vec<T> {
    idx.iter().map(|&i| v[i].clone()).collect()
}

/// The best LR of one budget: lowest seed-mean loss (a diverged seed makes its LR +∞);
/// returns that LR's [(seed, loss)].
fn best_at_budget(by_lr: &BTreeMap<u64, Vec<(f64, f64)>>) -> Option<(f64, Vec<(f64, f64)>)> {
    by_lr
        .iter()
        .map(|(lr, v)| (unbits(*lr), v.clone(), v.iter().map(|p| p.1).sum::<f64>() / v.len() as f64))
        .min_by(|a, b| {
            let (x, y) = (if a.2.is_nan() { f64::INFINITY } else { a.2 }, if b.2.is_nan() { f64::INFINITY } else { b.2 });
            x.partial_cmp(&y).unwrap()
        })
        .map(|(lr, v, _)| (lr, v))
}

/// Per seed: [(budget, loss at the budget's best LR)].
fn seed_curves(t: &BudgetTable) -> Vec<Vec<(f64, f64)>> {
    let mut by_seed: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
    for (b, by_lr) in t {
        if let Some((_, pts)) = best_at_budget(by_lr) {
            for (seed, loss) in pts {
                by_seed.entry(bits(seed)).or_default().push((unbits(*b), loss));
            }
        }
    }
    by_seed.into_values().collect()
}

/// (budget, seed-mean loss at the best LR) and the seed std, per budget.
fn mean_curve(t: &BudgetTable) -> Vec<(f64, f64, Option<f64>, usize, f64)> {
    t.iter()
        .filter_map(|(b, by_lr)| {
            let (lr, pts) = best_at_budget(by_lr)?;
            let losses: Vec<f64> = pts.iter().map(|p| p.1).collect();
            let mean = losses.iter().sum::<f64>() / losses.len() as f64;
            Some((unbits(*b), mean, std(&losses), losses.len(), lr))
        })
        .collect()
}

/// The reference for a variant: GPT+ for anGPT (when present), else GPT, else GPT+; among
/// several variants of that architecture, the one with fewest switches set.
fn reference_for<'a>(var_arch: &str, variants: &'a Variants) -> Option<&'a str> {
    let has = |a: &str| variants.values().any(|v| v.0 == a);
    let ref_arch = if var_arch == "angpt" && has("gpt_plus") {
        "gpt_plus"
    } else if has("gpt") {
        "gpt"
    } else if has("gpt_plus") {
        "gpt_plus"
    } else {
        return None;
    };
    variants.iter().filter(|(_, v)| v.0 == ref_arch).min_by_key(|(_, v)| v.1.len()).map(|(k, _)| k.as_str())
}

fn ladder_rank(arch: &str, flags: &[String]) -> f64 {
    let f = |n: &str| flags.iter().any(|x| x == n);
    match arch {
        "gpt" => 0.0,
        "gpt_plus" if f("no_qk_norm") => 1.0,
        "gpt_plus" => 2.0,
        "ngpt" if f("norm_at_most_one") => 3.5,
        "ngpt" => 3.0,
        "angpt" => 5.0,
        _ => 6.0,
    }
}

impl Analysis {
    /// Read `dir/results.parquet` (and `curves.parquet` when present) and derive everything.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = crate::sweep::merge::results_path(dir);
        if !path.exists() {
            anyhow::bail!("no {} (run `normlab sweep merge {}` first)", path.display(), dir.display());
        }
        let df = read_parquet(&path)?;
        let keys = group_keys(&df)?;
        let runs = runs::runs(&df, &keys)?;
        let curves = read_curves(&crate::sweep::merge::curves_path(dir)).unwrap_or_default();
        let mut a = Analysis {
            dir: dir.to_path_buf(),
            keys,
            runs,
            lr_sweep: false,
            lr: Vec::new(),
            drifts: Vec::new(),
            speedups: Vec::new(),
            ladder: Vec::new(),
            comparisons: Vec::new(),
            curves,
        };
        a.lr_transfer();
        a.comparisons();
        Ok(a)
    }

    fn lr_transfer(&mut self) {
        let mut groups: BTreeMap<Vec<String>, Vec<&Run>> = BTreeMap::new();
        for r in &self.runs {
            groups.entry(r.key.clone()).or_default().push(r);
        }
        self.lr_sweep = groups.values().any(|rs| rs.iter().map(|r| bits(r.lr)).collect::<BTreeSet<_>>().len() >= 2);
        if !self.lr_sweep {
            return;
        }
        for (key, rs) in &groups {
            // A group run at one LR only (e.g. the fixed-LR budgets of a speedup sweep) has no η*.
            if rs.iter().map(|r| bits(r.lr)).collect::<BTreeSet<_>>().len() < 2 {
                continue;
            }
            let data: Vec<&&Run> = rs.iter().filter(|r| r.is_data()).collect();
            let pts: Vec<(f64, f64)> = data.iter().map(|r| (r.lr, r.loss)).collect();
            let triples: Vec<(f64, f64, f64)> = data.iter().map(|r| (r.seed, r.lr, r.loss)).collect();
            let (eta_std, loss_std) = seed_spread(&triples);
            let mut by_lr: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
            for r in &data {
                by_lr.entry(bits(r.lr)).or_default().push(if r.loss.is_finite() { r.loss } else { f64::INFINITY });
            }
            let mut curve: Vec<(f64, f64)> =
                by_lr.into_iter().map(|(lr, v)| (unbits(lr), v.iter().sum::<f64>() / v.len() as f64)).collect();
            curve.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
            self.lr.push(LrGroup {
                key: key.clone(),
                label: label(&self.keys, key),
                arch: rs[0].arch.clone(),
                param: rs[0].param.clone(),
                opt: lr_optimum(&pts),
                curve,
                runs: data.len(),
                diverged_runs: data.iter().filter(|r| r.status == "diverged").count(),
                missing: rs.len() - data.len(),
                seeds: data.iter().map(|r| bits(r.seed)).collect::<BTreeSet<_>>().len(),
                eta_std,
                loss_std,
            });
        }
        self.lr.sort_by(|a, b| natural_cmp(&a.key, &b.key));
        for axis in AXES {
            let Some(ai) = self.keys.iter().position(|k| k == axis) else { continue };
            let mut fams: BTreeMap<Vec<String>, Vec<&LrGroup>> = BTreeMap::new();
            for g in &self.lr {
                let mut f = g.key.clone();
                f[ai] = String::new();
                fams.entry(f).or_default().push(g);
            }
            for (fam, gs) in fams {
                let mut points: Vec<(f64, f64, bool, f64)> = gs
                    .iter()
                    .filter_map(|g| {
                        let o = g.opt.as_ref()?;
                        Some((g.key[ai].parse::<f64>().ok()?, o.eta_star, o.at_edge, o.loss_star))
                    })
                    .collect();
                points.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
                if points.len() < 2 {
                    continue;
                }
                let etas: Vec<f64> = points.iter().map(|p| p.1).collect();
                let xy: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.1)).collect();
                let sh = self.runs.iter().find(|r| gs.iter().any(|g| g.key == r.key)).and_then(|r| r.scale_horizon);
                self.drifts.push(Drift {
                    axis: axis.to_string(),
                    label: label(&self.keys, &fam),
                    family: fam,
                    arch: gs[0].arch.clone(),
                    param: gs[0].param.clone(),
                    drift: drift_factor(&etas),
                    slope: log_log_slope(&xy),
                    points,
                    scale_horizon: sh,
                });
            }
        }
    }

    fn comparisons(&mut self) {
        let (vi, ci) = split_keys(&self.keys);
        let mut comps: BTreeMap<(Vec<String>, u64), Comparison> = BTreeMap::new();
        for r in self.runs.iter().filter(|r| r.is_data() && r.steps.is_finite()) {
            let ctx = pick(&r.key, &ci);
            let vkey = pick(&r.key, &vi);
            let vkeys: Vec<String> = pick(&self.keys, &vi);
            let vlabel = if vi.is_empty() { r.arch.clone() } else { label(&vkeys, &vkey) };
            let flags: Vec<String> = vkeys
                .iter()
                .zip(&vkey)
                .filter(|(k, v)| k.starts_with("cfg.model.norm.") && (*v == "1" || *v == "true"))
                .map(|(k, _)| short_key(k))
                .collect();
            let c = comps.entry((ctx.clone(), bits(r.seq_len))).or_insert_with(|| Comparison {
                context: label(&pick(&self.keys, &ci), &ctx),
                seq_len: r.seq_len,
                variants: BTreeMap::new(),
                step_times: BTreeMap::new(),
                run_ids: BTreeMap::new(),
            });
            let v = c.variants.entry(vlabel.clone()).or_insert_with(|| (r.arch.clone(), flags, vkey.clone(), BTreeMap::new()));
            v.3.entry(bits(r.steps)).or_default().entry(bits(r.lr)).or_default().push((r.seed, r.loss));
            if r.status == "done" && r.step_time_s.is_finite() {
                c.step_times.entry(vlabel.clone()).or_default().push(r.step_time_s);
            }
            c.run_ids.entry(vlabel).or_default().push((r.id.clone(), r.steps, r.lr));
        }
        let budgets_vary = self.keys.iter().any(|k| k == STEPS);
        let shape_varies = self.keys.iter().any(|k| k == WIDTH || k == DEPTH);
        for c in comps.values() {
            if c.variants.len() < 2 {
                continue;
            }
            if budgets_vary {
                for (vname, (varch, _, _, vt)) in &c.variants {
                    let Some(rname) = reference_for(varch, &c.variants) else { continue };
                    if rname == vname {
                        continue;
                    }
                    let (rarch, _, _, rt) = &c.variants[rname];
                    let (rs, vs) = (seed_curves(rt), seed_curves(vt));
                    let rmean: Vec<(f64, f64)> = mean_curve(rt).iter().map(|p| (p.0, p.1)).collect();
                    let vmean: Vec<(f64, f64)> = mean_curve(vt).iter().map(|p| (p.0, p.1)).collect();
                    if vmean.len() < 2 {
                        continue;
                    }
                    let med = |n: &str| c.step_times.get(n).and_then(|v| sp::median(v));
                    let step_ratio = match (med(vname), med(rname)) {
                        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
                        _ => None,
                    };
                    for s in sp::speedups(&rmean, &vmean) {
                        let ci = sp::bootstrap_speedup(&rs, &vs, s.budget_ref, BOOTSTRAP_DRAWS, BOOTSTRAP_SEED, BOOTSTRAP_Q);
                        self.speedups.push(SpeedupRow {
                            context: c.context.clone(),
                            variant: vname.clone(),
                            var_arch: varch.clone(),
                            reference: rname.to_string(),
                            ref_arch: rarch.clone(),
                            seq_len: c.seq_len,
                            s,
                            ci,
                            seeds: (rs.len(), vs.len()),
                            step_ratio,
                            wall: step_ratio.map(|r| s.speedup / r),
                        });
                    }
                }
            }
            if !(self.lr_sweep && shape_varies) {
                // The ladder: the largest budget every variant ran (else each one's largest).
                let common: Option<u64> = c
                    .variants
                    .values()
                    .map(|v| v.3.keys().cloned().collect::<BTreeSet<u64>>())
                    .reduce(|a, b| a.intersection(&b).cloned().collect())
                    .and_then(|s| s.into_iter().max_by(|a, b| unbits(*a).partial_cmp(&unbits(*b)).unwrap()));
                let mut rows: Vec<LadderRow> = c
                    .variants
                    .iter()
                    .filter_map(|(name, (arch, flags, _, t))| {
                        let b = common.or_else(|| t.keys().cloned().max_by(|a, b| unbits(*a).partial_cmp(&unbits(*b)).unwrap()))?;
                        let (_, pts) = best_at_budget(t.get(&b)?)?;
                        let losses: Vec<f64> = pts.iter().map(|p| p.1).collect();
                        Some(LadderRow {
                            context: c.context.clone(),
                            variant: name.clone(),
                            arch: arch.clone(),
                            flags: flags.clone(),
                            seq_len: c.seq_len,
                            budget: unbits(b),
                            loss: losses.iter().sum::<f64>() / losses.len() as f64,
                            std: std(&losses),
                            seeds: losses.len(),
                            gain_pct: None,
                        })
                    })
                    .collect();
                rows.sort_by(|a, b| {
                    ladder_rank(&a.arch, &a.flags).partial_cmp(&ladder_rank(&b.arch, &b.flags)).unwrap().then(a.variant.cmp(&b.variant))
                });
                if let Some(base) = rows.first().map(|r| r.loss).filter(|l| l.is_finite()) {
                    for r in rows.iter_mut() {
                        r.gain_pct = Some(100.0 * (base - r.loss) / base);
                    }
                }
                self.ladder.extend(rows);
            }
        }
        self.comparisons = comps.into_values().collect();
        self.comparisons
            .sort_by(|a, b| a.context.cmp(&b.context).then(a.seq_len.partial_cmp(&b.seq_len).unwrap_or(std::cmp::Ordering::Equal)));
        self.speedups.sort_by(|a, b| {
            (a.context.as_str(), a.variant.as_str())
                .cmp(&(b.context.as_str(), b.variant.as_str()))
                .then(a.seq_len.partial_cmp(&b.seq_len).unwrap_or(std::cmp::Ordering::Equal))
                .then(a.s.budget_ref.partial_cmp(&b.s.budget_ref).unwrap_or(std::cmp::Ordering::Equal))
        });
    }

    /// Counts by status and the number of missing runs (neither done nor diverged).
    pub fn counts(&self) -> (BTreeMap<String, usize>, usize) {
        let c = runs::status_counts(&self.runs);
        let missing = self.runs.iter().filter(|r| !r.is_data()).count();
        (c, missing)
    }

    // -----------------------------------------------------------------------------------------
    // Tables

    /// η* per group.
    pub fn lr_table(&self, keep: &dyn Fn(&str) -> bool) -> String {
        let mut headers: Vec<String> = self.keys.iter().map(|k| short_key(k)).collect();
        headers.extend(
            ["η*", "loss at η*", "at edge", "LRs", "diverged", "seeds", "η* std", "loss std", "missing", "paper (η*)"].map(String::from),
        );
        let rows: Vec<Vec<String>> = self
            .lr
            .iter()
            .filter(|g| keep(&g.arch))
            .map(|g| {
                let mut row = g.key.clone();
                match &g.opt {
                    Some(o) => row.extend([
                        format!("{}{}", fmt_lr(o.eta_star), if o.at_edge { " (edge)" } else { "" }),
                        format!("{:.4}", o.loss_star),
                        if o.at_edge { "yes" } else { "no" }.into(),
                        o.points.to_string(),
                    ]),
                    None => row.extend(["all diverged".into(), "—".into(), "—".into(), g.curve.len().to_string()]),
                }
                row.extend([
                    g.diverged_runs.to_string(),
                    g.seeds.to_string(),
                    g.eta_std.map(fmt_lr).unwrap_or("—".into()),
                    g.loss_std.map(|v| format!("{v:.4}")).unwrap_or("—".into()),
                    g.missing.to_string(),
                    paper_eta(&g.arch, &g.param),
                ]);
                row
            })
            .collect();
        md_table(&headers, &rows)
    }

    /// η* drift across each axis (optionally only one axis).
    pub fn drift_table(&self, axis: Option<&str>, keep: &dyn Fn(&str) -> bool) -> String {
        let headers = ["axis", "family", "axis values", "η* per value", "drift max/min", "slope d ln η*/d ln x", "η* at edge", "paper"]
            .map(String::from);
        let rows: Vec<Vec<String>> = self
            .drifts
            .iter()
            .filter(|d| axis.is_none_or(|a| a == d.axis) && keep(&d.arch))
            .map(|d| {
                vec![
                    axis_name(&d.axis).into(),
                    d.label.clone(),
                    d.points.iter().map(|p| fmt_num(p.0)).collect::<Vec<_>>().join(", "),
                    d.points.iter().map(|p| format!("{}{}", fmt_lr(p.1), if p.2 { "*" } else { "" })).collect::<Vec<_>>().join(", "),
                    format!("{:.2}×", d.drift),
                    fmt_signed(d.slope, 3),
                    d.points.iter().filter(|p| p.2).count().to_string(),
                    paper_drift(d),
                ]
            })
            .collect();
        md_table(&headers, &rows)
    }

    /// Speedups (optionally only some variants).
    pub fn speedup_table(&self, keep: &dyn Fn(&str) -> bool) -> String {
        let mut contexts: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
        for s in &self.speedups {
            contexts.entry(format!("{}|{}", s.variant, s.reference)).or_default().insert(bits(s.seq_len));
        }
        let headers = [
            "variant",
            "reference",
            "context",
            "seq_len",
            "B_ref",
            "ref loss",
            "B_var",
            "S = B_ref/B_var",
            "S 5–95%",
            "seeds ref/var",
            "step time var/ref",
            "wall-clock S",
            "paper S",
            "paper step time",
        ]
        .map(String::from);
        let rows: Vec<Vec<String>> = self
            .speedups
            .iter()
            .filter(|s| keep(&s.var_arch))
            .map(|s| {
                let ctxs: Vec<f64> = contexts[&format!("{}|{}", s.variant, s.reference)].iter().map(|b| unbits(*b)).collect();
                let (paper_s, paper_t) = paper_speedup(&s.var_arch, &s.ref_arch, s.seq_len, &ctxs);
                let (bvar, sv) = match s.s.reach {
                    Reach::At(b) => (format!("{b:.0}"), format!("{:.2}×", s.s.speedup)),
                    Reach::AboveMax(b) => (format!("> {b:.0} (max)"), format!("< {:.2}×", s.s.speedup)),
                    Reach::BelowMin(b) => (format!("< {b:.0} (min)"), format!("> {:.2}×", s.s.speedup)),
                };
                vec![
                    s.variant.clone(),
                    s.reference.clone(),
                    if s.context.is_empty() || s.context == "all runs" { "—".into() } else { s.context.clone() },
                    fmt_num(s.seq_len),
                    format!("{:.0}", s.s.budget_ref),
                    format!("{:.4}", s.s.loss_ref),
                    bvar,
                    sv,
                    s.ci.map(|(lo, hi, cens)| {
                        format!(
                            "{lo:.2}–{hi:.2}×{}",
                            if cens > 0.0 { format!(" ({:.0}% at a bound)", 100.0 * cens) } else { String::new() }
                        )
                    })
                    .unwrap_or("— (1 seed)".into()),
                    format!("{}/{}", s.seeds.0, s.seeds.1),
                    s.step_ratio.map(|r| format!("{r:.3}")).unwrap_or("—".into()),
                    s.wall.map(|w| format!("{}{w:.2}×", reach_prefix(s.s.reach))).unwrap_or("—".into()),
                    paper_s,
                    paper_t,
                ]
            })
            .collect();
        md_table(&headers, &rows)
    }

    pub fn ladder_table(&self) -> String {
        let headers = [
            "variant",
            "context",
            "seq_len",
            "budget",
            "final loss",
            "± std",
            "seeds",
            "gain vs first rung",
            "paper gain (anGPT ablation, vs GPT+ w/o QK-norm)",
        ]
        .map(String::from);
        let rows: Vec<Vec<String>> = self
            .ladder
            .iter()
            .map(|r| {
                vec![
                    r.variant.clone(),
                    if r.context == "all runs" { "—".into() } else { r.context.clone() },
                    fmt_num(r.seq_len),
                    format!("{:.0}", r.budget),
                    format!("{:.4}", r.loss),
                    r.std.map(|v| format!("{v:.4}")).unwrap_or("—".into()),
                    r.seeds.to_string(),
                    r.gain_pct.map(|g| format!("{g:+.2}%")).unwrap_or("—".into()),
                    if self.ladder.iter().any(|x| x.arch == "gpt_plus" && x.context == r.context && x.seq_len == r.seq_len) {
                        paper_ladder(&r.arch, &r.flags)
                    } else {
                        "— (needs GPT+)".into()
                    },
                ]
            })
            .collect();
        md_table(&headers, &rows)
    }

    /// One row per derived number (the schema of report.csv / report.parquet).
    pub fn derived(&self) -> Vec<Derived> {
        let mut out = Vec::new();
        for g in &self.lr {
            out.push(Derived {
                kind: "lr".into(),
                group: g.label.clone(),
                arch: g.arch.clone(),
                param: g.param.clone(),
                eta_star: g.opt.as_ref().map(|o| o.eta_star),
                loss_star: g.opt.as_ref().map(|o| o.loss_star),
                at_edge: g.opt.as_ref().map(|o| o.at_edge),
                n: Some(g.runs as f64),
                diverged: Some(g.diverged_runs as f64),
                missing: Some(g.missing as f64),
                seeds: Some(g.seeds as f64),
                eta_std: g.eta_std,
                loss_std: g.loss_std,
                status: Some(match &g.opt {
                    None => "all diverged".into(),
                    Some(o) if o.at_edge => "at edge".into(),
                    Some(_) => "ok".into(),
                }),
                paper: Some(paper_eta(&g.arch, &g.param)),
                ..Default::default()
            });
        }
        for d in &self.drifts {
            out.push(Derived {
                kind: if d.axis == STEPS { "horizon".into() } else { "drift".into() },
                group: d.label.clone(),
                arch: d.arch.clone(),
                param: d.param.clone(),
                axis: Some(axis_name(&d.axis).into()),
                n: Some(d.points.len() as f64),
                drift: Some(d.drift),
                slope: Some(d.slope),
                at_edge: Some(d.points.iter().any(|p| p.2)),
                paper: Some(paper_drift(d)),
                ..Default::default()
            });
        }
        for s in &self.speedups {
            let ctxs: Vec<f64> =
                self.speedups.iter().filter(|x| x.variant == s.variant && x.reference == s.reference).map(|x| x.seq_len).collect();
            out.push(Derived {
                kind: "speedup".into(),
                group: format!(
                    "{} vs {}{}",
                    s.variant,
                    s.reference,
                    if s.context == "all runs" { String::new() } else { format!(" {}", s.context) }
                ),
                arch: s.var_arch.clone(),
                axis: Some("steps".into()),
                x: Some(s.s.budget_ref),
                seq_len: Some(s.seq_len),
                loss_star: Some(s.s.loss_ref),
                budget_var: Some(s.s.reach.budget()),
                speedup: Some(s.s.speedup),
                speedup_lo: s.ci.map(|c| c.0),
                speedup_hi: s.ci.map(|c| c.1),
                wall_speedup: s.wall,
                step_time_ratio: s.step_ratio,
                seeds: Some(s.seeds.1 as f64),
                status: Some(s.s.reach.status().into()),
                paper: Some(paper_speedup(&s.var_arch, &s.ref_arch, s.seq_len, &dedup(ctxs)).0),
                ..Default::default()
            });
        }
        for r in &self.ladder {
            out.push(Derived {
                kind: "ladder".into(),
                group: r.variant.clone(),
                arch: r.arch.clone(),
                x: Some(r.budget),
                seq_len: Some(r.seq_len),
                loss_star: Some(r.loss),
                loss_std: r.std,
                seeds: Some(r.seeds as f64),
                gain_pct: r.gain_pct,
                paper: Some(paper_ladder(&r.arch, &r.flags)),
                ..Default::default()
            });
        }
        out
    }

    // -----------------------------------------------------------------------------------------
    // Charts

    /// Final loss vs LR, one line per value of the swept axis (or per group without an axis).
    pub fn lr_charts(&self, keep: &dyn Fn(&str) -> bool) -> Vec<(String, Chart)> {
        let axis_idx: Vec<usize> = self.keys.iter().enumerate().filter(|(_, k)| AXES.contains(&k.as_str())).map(|(i, _)| i).collect();
        let fam_idx: Vec<usize> = (0..self.keys.len()).filter(|i| !axis_idx.contains(i)).collect();
        let mut fams: BTreeMap<Vec<String>, Vec<&LrGroup>> = BTreeMap::new();
        for g in self.lr.iter().filter(|g| keep(&g.arch)) {
            let f = if axis_idx.is_empty() { Vec::new() } else { pick(&g.key, &fam_idx) };
            fams.entry(f).or_default().push(g);
        }
        let mut out = Vec::new();
        for (fam, mut gs) in fams {
            let axis_keys = pick(&self.keys, &axis_idx);
            gs.sort_by(|a, b| {
                let ka: Vec<f64> = axis_idx.iter().map(|&i| a.key[i].parse().unwrap_or(0.0)).collect();
                let kb: Vec<f64> = axis_idx.iter().map(|&i| b.key[i].parse().unwrap_or(0.0)).collect();
                ka.partial_cmp(&kb).unwrap().then(a.label.cmp(&b.label))
            });
            let fam_label = if axis_idx.is_empty() { "all groups".to_string() } else { label(&pick(&self.keys, &fam_idx), &fam) };
            let mut chart =
                LineChart::new(format!("final val loss vs learning rate — {fam_label}"), "peak learning rate", "final val loss")
                    .log_x()
                    .data_ticks_x();
            let finite: Vec<f64> = gs.iter().flat_map(|g| g.curve.iter().map(|p| p.1)).filter(|v| v.is_finite()).collect();
            // Cut exploded (not diverged) losses: above lo + 3·(upper quartile − lo).
            if let (Some(lo), Some(q75)) = (finite.iter().cloned().reduce(f64::min), quantile(&finite, 0.75)) {
                let hi = finite.iter().cloned().fold(f64::MIN, f64::max).min(lo + 3.0 * (q75 - lo) + 0.05);
                chart = chart.y_range(lo - 0.05 * (hi - lo).max(0.01), hi + 0.08 * (hi - lo).max(0.01));
            }
            for g in &gs {
                let name = if axis_idx.is_empty() { g.label.clone() } else { label(&axis_keys, &pick(&g.key, &axis_idx)) };
                let name = match &g.opt {
                    Some(o) => format!("{name}: η*={}{}", fmt_lr(o.eta_star), if o.at_edge { " (edge)" } else { "" }),
                    None => format!("{name}: all diverged"),
                };
                chart = chart.series(name, g.curve.clone());
            }
            if gs.iter().any(|g| g.seeds > 1) {
                chart = chart.note("Points are seed means; a diverged seed makes its LR diverged.");
            }
            out.push((format!("lr_{}", slug(&fam_label)), Chart::Line(chart)));
        }
        out
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
            let mut chart = LineChart::new(format!("optimal learning rate η* vs {}", axis_name(ax)), axis_title(ax), "η* (parabola fit)")
                .log_x()
                .log_y()
                .data_ticks_x();
            for d in &ds {
                chart = chart.series(
                    format!("{} (drift {:.2}×, slope {})", d.label, d.drift, fmt_signed(d.slope, 2)),
                    d.points.iter().map(|p| (p.0, p.1)).collect(),
                );
            }
            let edges: usize = ds.iter().map(|d| d.points.iter().filter(|p| p.2).count()).sum();
            if edges > 0 {
                chart = chart.note(format!("{edges} η* at the edge of the LR grid (bounds, not fits); see report.md"));
            }
            if ax == STEPS {
                // The paper's slope −1/3 through the first family's geometric centre.
                let p = &ds[0].points;
                let (mx, my) =
                    (p.iter().map(|q| q.0.ln()).sum::<f64>() / p.len() as f64, p.iter().map(|q| q.1.ln()).sum::<f64>() / p.len() as f64);
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
    fn mean_val_curve(&self, ids: &[&str]) -> Vec<(f64, f64)> {
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
                                let f =
                                    |l: &((u64, u64), Vec<&str>)| self.mean_val_curve(&l.1).last().map(|p| p.1).unwrap_or(f64::INFINITY);
                                f(x).partial_cmp(&f(y)).unwrap_or(std::cmp::Ordering::Equal)
                            })
                            .cloned()
                    })
                    .collect();
            }
            lines.sort_by(|a, b| {
                unbits(a.0.0).partial_cmp(&unbits(b.0.0)).unwrap().then(unbits(a.0.1).partial_cmp(&unbits(b.0.1)).unwrap())
            });
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

    fn comparison_slug(c: &Comparison) -> String {
        let ctx = if c.context.is_empty() || c.context == "all runs" { String::new() } else { format!("{}_", slug(&c.context)) };
        format!("{ctx}t{}", fmt_num(c.seq_len))
    }

    fn comparison_name(c: &Comparison) -> String {
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
            let mut chart =
                LineChart::new(format!("final val loss vs training budget — {name}"), "budget (steps, one run each)", "final val loss")
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
        let mut lines: BTreeMap<LineKey, Vec<(f64, f64)>> = BTreeMap::new();
        let mut bounds = 0;
        for s in &rows {
            let e = lines.entry((s.variant.clone(), s.reference.clone(), s.context.clone(), bits(s.seq_len))).or_default();
            if let Reach::At(_) = s.s.reach {
                e.push((s.s.budget_ref, s.s.speedup));
            } else {
                bounds += 1;
            }
        }
        let mut chart = LineChart::new("steps-to-loss speedup S = B_ref / B_var", "reference budget B_ref (steps)", "speedup S")
            .log_x()
            .data_ticks_x()
            .hline(1.0, "S = 1");
        for ((v, r, ctx, t), pts) in lines {
            let ctx = if ctx == "all runs" { String::new() } else { format!(" {ctx}") };
            chart = chart.series(format!("{v} vs {r}{ctx} T={}", fmt_num(unbits(t))), pts);
        }
        if bounds > 0 {
            chart = chart.note(format!("{bounds} comparison(s) outside the variant's budget range are not drawn (bounds in report.md)"));
        }
        vec![("speedup".into(), Chart::Line(chart))]
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
                let ids: Vec<&str> = c
                    .run_ids
                    .get(vn)
                    .map(|x| x.iter().filter(|r| r.1 == b && r.2 == lr).map(|r| r.0.as_str()).collect())
                    .unwrap_or_default();
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
            chart = chart.note("Within one run the cosine schedule favours the end; the per-budget speedup table is the fair number.");
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
            let file = if ctx == "all runs" {
                format!("ladder_t{}", fmt_num(unbits(t)))
            } else {
                format!("ladder_{}_t{}", slug(&ctx), fmt_num(unbits(t)))
            };
            let ctx = if ctx == "all runs" { String::new() } else { format!("{ctx} ") };
            let budgets: BTreeSet<u64> = rows.iter().map(|r| bits(r.budget)).collect();
            let b = if budgets.len() == 1 { format!("budget {}", fmt_num(rows[0].budget)) } else { "largest budget each".into() };
            let mut chart = BarChart::new(
                format!("final val loss per variant — {ctx}T={}, {b}", fmt_num(unbits(t))),
                "final val loss (lower is better)",
            );
            for (i, r) in rows.iter().enumerate() {
                let ann = match r.gain_pct {
                    Some(g) if i > 0 => format!("{:.4} ({g:+.2}%)", r.loss),
                    _ => format!("{:.4}", r.loss),
                };
                chart = chart.push(Bar { label: r.variant.clone(), value: r.loss, err: r.std, annotation: Some(ann), color: Some(i) });
            }
            chart = chart.note(format!("Percentages: loss reduction against the first bar ({}).", rows[0].variant));
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
            let title = format!(
                "learned scales vs step — {vlabel} ({} steps, lr {}, d={}, run {})",
                fmt_num(r.steps),
                fmt_lr(r.lr),
                fmt_num(r.width),
                r.id
            );
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
        v.extend(self.diag_charts(&all));
        let (curves, skipped) = self.curve_charts();
        v.extend(curves);
        (v, skipped)
    }

    /// The whole report.md text; `plots` are the saved PNGs (relative to `dir`).
    pub fn markdown(&self, plots: &[PathBuf], skipped_curves: usize) -> String {
        let all = |_: &str| true;
        let (counts, missing) = self.counts();
        let name = self.dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let mut md = format!("# Sweep report: {name}\n\n");
        let c: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        md += &format!(
            "{} runs: {}. {} missing (not done or diverged; ignored below).\nGroup keys (the varying settings other than LR and seed): {}.\n\n",
            self.runs.len(),
            if c.is_empty() { "none".into() } else { c.join(", ") },
            missing,
            if self.keys.is_empty() {
                "none".into()
            } else {
                self.keys.iter().map(|k| format!("`{}`", short_key(k))).collect::<Vec<_>>().join(", ")
            }
        );
        if !self.speedups.is_empty() {
            md += "## Steps-to-loss speedup (nGPT Fig. 2; anGPT)\n\n";
            md += &self.speedup_table(&all);
            md += "\nB_var: the variant's budget reaching the reference's final loss at B_ref, interpolating log(steps) linearly in final loss between the variant's budgets; no extrapolation (\"> max\": not reached at the largest budget, so S is an upper bound; \"< min\": beaten already at the smallest, a lower bound). ";
            md += &format!(
                "S 5–95%: bootstrap over seeds ({BOOTSTRAP_DRAWS} draws, RNG seed {BOOTSTRAP_SEED}). Wall-clock S = S ÷ (median step time variant / reference). With several LRs per budget each budget uses its best LR.\n"
            );
            md += "Small-scale targets (docs/variants.md §8.1–8.2): S > 1 at the largest budget for every T and growing with T and budget (nGPT); anGPT/GPT+ ≥ 1.2 (paper 1.4) with ≤ 5% step-time overhead.\n\n";
        }
        if self.lr_sweep {
            md += "## Learning-rate transfer: η* per group\n\n";
            md += &self.lr_table(&all);
            md += "\nη*: vertex of a parabola in log LR through the best grid point and its two neighbours (seed-averaged; diverged runs count as +∞). \"edge\": the best LR is the first or last of the grid, so η* is only a bound. η* std: std of the per-seed η*; loss std: std over seeds at the best grid LR.\n\n";
            for ax in AXES {
                if !self.drifts.iter().any(|d| d.axis == ax) {
                    continue;
                }
                if ax == STEPS {
                    md += "## Token horizon: slope of log η* against log steps\n\n";
                } else {
                    md += &format!("## η* drift across {}\n\n", axis_name(ax));
                }
                md += &self.drift_table(Some(ax), &all);
                md += "\n* = η* at the grid edge (a bound). Drift = max η* / min η* across the axis; slope = least-squares d ln η* / d ln x.\n\n";
            }
        }
        if !self.ladder.is_empty() {
            md += "## Final loss per variant (ablation ladder)\n\n";
            md += &self.ladder_table();
            md += "\nEach variant at the largest budget all variants ran, its best LR; gain = loss reduction against the first rung. The paper's gains are third-party readings (docs/variants.md §5.2).\n\n";
        }
        if !self.lr_sweep && self.speedups.is_empty() && self.ladder.is_empty() {
            md += "No LR grid (≥ 2 LRs in a group), budget sweep or variant comparison found: only the plots below.\n\n";
        }
        md += "## Plots\n\n";
        for p in plots {
            let rel = p.strip_prefix(&self.dir).unwrap_or(p);
            let stem = rel.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
            md += &format!("- [{stem}]({}) ([svg]({}))\n", rel.display(), rel.with_extension("svg").display());
        }
        if skipped_curves > 0 {
            md += &format!("- ({skipped_curves} more loss-curve charts not drawn; at most {MAX_CURVE_CHARTS})\n");
        }
        if missing > 0 {
            md += "\n## Missing runs\n\n";
            let m: Vec<String> = self
                .runs
                .iter()
                .filter(|r| !r.is_data())
                .map(|r| format!("`{}` ({}, {})", r.id, r.status, label(&self.keys, &r.key)))
                .collect();
            md += &m.join(", ");
            md += "\n";
        }
        md
    }
}

/// Linear-interpolated quantile of the finite values.
fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().cloned().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pos = q * (v.len() - 1) as f64;
    let (i, f) = (pos.floor() as usize, pos.fract());
    Some(if i + 1 < v.len() { v[i] * (1.0 - f) + v[i + 1] * f } else { v[i] })
}

/// Add loss curves to a chart with the y axis cut at the highest loss after 10% of each
/// curve's steps (the initial drop would flatten everything else); points above the cut are
/// left out. Sparse curves (≤ 25 points, eval steps) get markers.
fn add_curves(mut chart: LineChart, series: Vec<(String, Vec<(f64, f64)>)>) -> LineChart {
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

fn dedup(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v.dedup();
    v
}

fn reach_prefix(r: Reach) -> &'static str {
    match r {
        Reach::At(_) => "",
        Reach::AboveMax(_) => "< ",
        Reach::BelowMin(_) => "> ",
    }
}

/// `curves.parquet` → run id → [(step, val loss)] at eval steps.
fn read_curves(path: &Path) -> Result<BTreeMap<String, Vec<(f64, f64)>>> {
    let df = read_parquet(path)?;
    let ids = df.column("run_id")?.str()?.clone();
    let step = df.column("step")?.cast(&DataType::Float64)?;
    let val = df.column("val_loss")?.cast(&DataType::Float64)?;
    let (step, val) = (step.f64()?, val.f64()?);
    let mut out: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for i in 0..df.height() {
        if let (Some(id), Some(s), Some(v)) = (ids.get(i), step.get(i), val.get(i))
            && v.is_finite()
        {
            out.entry(id.to_string()).or_default().push((s, v));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The papers' numbers

fn paper_eta(arch: &str, param: &str) -> String {
    match (arch, param) {
        (_, "nugpt") => "base η* transfers (νGPT Figs. 1–3)".into(),
        (_, "mup") => "base η* transfers (μP, TP-V)".into(),
        ("gpt", _) | ("gpt_plus", _) => "≈1e-3–3e-3 at 0.5B (nGPT Table 3)".into(),
        ("ngpt", _) => "≈1e-3–6e-3 at 0.5B (nGPT Fig. 7)".into(),
        _ => "—".into(),
    }
}

fn paper_drift(d: &Drift) -> String {
    let p = d.param.as_str();
    match d.axis.as_str() {
        WIDTH => match (d.arch.as_str(), p) {
            (_, "nugpt") => "≤ 1.5–2× over 4× width (νGPT Fig. 2: \"essentially perfect\")".into(),
            (_, "mup") => "≤ 1.5–2× over 4× width (μP transfers)".into(),
            (_, "completep") => "drifts right (νGPT Fig. 7)".into(),
            ("ngpt", _) => "> 2× or monotone drift: no transfer (νGPT Fig. 2)".into(),
            (_, "sp") => "> 2× or monotone drift: no transfer (SP)".into(),
            _ => "—".into(),
        },
        DEPTH => match p {
            "depth_mup" => "drifts right (νGPT Fig. 8)".into(),
            "nugpt" => "≤ 2×, flatter at large depth (νGPT Fig. 3)".into(),
            _ if d.arch == "ngpt" => "≤ 2× (νGPT Fig. 3)".into(),
            _ => "—".into(),
        },
        STEPS => {
            if d.scale_horizon == Some(true) && p == "nugpt" {
                "slope ≈ 0 with m_data^(−1/3) (νGPT)".into()
            } else {
                "slope −1/3 (νGPT Figs. 9, 15); accept −0.5…−0.2".into()
            }
        }
        _ => "—".into(),
    }
}

/// (paper speedup, paper step-time overhead) for a comparison; for nGPT vs GPT the paper's
/// 4×/10×/20× at 1k/4k/8k are matched to the swept contexts by rank when there are three.
fn paper_speedup(var: &str, reference: &str, seq_len: f64, contexts: &[f64]) -> (String, String) {
    match (var, reference) {
        ("ngpt", "gpt") => {
            let s = if contexts.len() == 3 {
                let i = contexts.iter().position(|c| *c == seq_len).unwrap_or(0);
                format!("{} (as the paper's {} context; 4×/10×/20× at 1k/4k/8k)", ["4×", "10×", "20×"][i], ["1k", "4k", "8k"][i])
            } else {
                "4× / 10× / 20× at 1k / 4k / 8k context (nGPT Fig. 2)".into()
            };
            (s, "+60–80% per step at 4k/8k (nGPT §3.1)".into())
        }
        ("angpt", "gpt_plus") => ("1.40× (2.0× w/o QK-norm) (anGPT)".into(), "+2.75% (anGPT, 0.5B on 4×A100)".into()),
        ("ngpt", "gpt_plus") => ("1.29× (1.8× w/o QK-norm) (anGPT)".into(), "+9.6% (anGPT, 0.5B on 4×A100)".into()),
        ("gpt_plus", "gpt") => ("— (GPT+ is the anGPT baseline)".into(), "—".into()),
        _ => ("—".into(), "—".into()),
    }
}

fn paper_ladder(arch: &str, flags: &[String]) -> String {
    let f = |n: &str| flags.iter().any(|x| x == n);
    match arch {
        "gpt_plus" if f("no_qk_norm") => "baseline".into(),
        "gpt_plus" => "+2.1%".into(),
        "ngpt" if f("norm_at_most_one") => "+3.4%".into(),
        "ngpt" => "+3.0%".into(),
        "angpt" => "+3.8%".into(),
        _ => "—".into(),
    }
}

fn axis_name(axis: &str) -> &'static str {
    match axis {
        WIDTH => "width",
        DEPTH => "depth",
        STEPS => "horizon",
        _ => "axis",
    }
}

fn axis_title(axis: &str) -> &'static str {
    match axis {
        WIDTH => "width d_model",
        DEPTH => "depth n_layer",
        STEPS => "training steps",
        _ => "value",
    }
}

fn fmt_lr(v: f64) -> String {
    crate::plot::fmt_sci(v)
}

/// A signed number with `digits` decimals and no "-0.00".
fn fmt_signed(v: f64, digits: usize) -> String {
    let v = if v.abs() < 0.5 * 10f64.powi(-(digits as i32)) { 0.0 } else { v };
    format!("{v:+.digits$}")
}

/// A markdown table; cells' `|` are escaped.
pub fn md_table(headers: &[String], rows: &[Vec<String>]) -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let mut s = format!(
        "| {} |\n|{}|\n",
        headers.iter().map(|h| esc(h)).collect::<Vec<_>>().join(" | "),
        headers.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for r in rows {
        s += &format!("| {} |\n", r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | "));
    }
    if rows.is_empty() {
        s += &format!("| (no data){} |\n", " | ".repeat(headers.len().saturating_sub(1)));
    }
    s
}

/// File-name-safe form of a label.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for ch in s.to_lowercase().chars() {
        if ch.is_ascii_alphanumeric() || ch == '.' {
            out.push(ch);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let t = out.trim_matches('-').to_string();
    let t: String = t.chars().take(80).collect();
    if t.is_empty() { "all".into() } else { t }
}

// ---------------------------------------------------------------------------------------------
// Output

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

/// One derived number (a row of report.csv / report.parquet). `kind`: lr | drift | horizon |
/// speedup | ladder; unused columns are empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Derived {
    pub kind: String,
    pub group: String,
    pub arch: String,
    pub param: String,
    pub axis: Option<String>,
    pub x: Option<f64>,
    pub seq_len: Option<f64>,
    pub eta_star: Option<f64>,
    pub loss_star: Option<f64>,
    pub at_edge: Option<bool>,
    pub n: Option<f64>,
    pub diverged: Option<f64>,
    pub missing: Option<f64>,
    pub seeds: Option<f64>,
    pub eta_std: Option<f64>,
    pub loss_std: Option<f64>,
    pub drift: Option<f64>,
    pub slope: Option<f64>,
    pub budget_var: Option<f64>,
    pub speedup: Option<f64>,
    pub speedup_lo: Option<f64>,
    pub speedup_hi: Option<f64>,
    pub step_time_ratio: Option<f64>,
    pub wall_speedup: Option<f64>,
    pub gain_pct: Option<f64>,
    pub status: Option<String>,
    pub paper: Option<String>,
}

/// The derived rows as a DataFrame (column order = `Derived`'s fields).
pub fn derived_frame(rows: &[Derived]) -> Result<DataFrame> {
    let s = |name: &str, f: &dyn Fn(&Derived) -> Option<String>| Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>());
    let n = |name: &str, f: &dyn Fn(&Derived) -> Option<f64>| Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>());
    let cols = vec![
        s("kind", &|r| Some(r.kind.clone())),
        s("group", &|r| Some(r.group.clone())),
        s("arch", &|r| Some(r.arch.clone())),
        s("param", &|r| Some(r.param.clone())),
        s("axis", &|r| r.axis.clone()),
        n("x", &|r| r.x),
        n("seq_len", &|r| r.seq_len),
        n("eta_star", &|r| r.eta_star),
        n("loss_star", &|r| r.loss_star),
        Column::new("at_edge".into(), rows.iter().map(|r| r.at_edge).collect::<Vec<_>>()),
        n("n", &|r| r.n),
        n("diverged", &|r| r.diverged),
        n("missing", &|r| r.missing),
        n("seeds", &|r| r.seeds),
        n("eta_std", &|r| r.eta_std),
        n("loss_std", &|r| r.loss_std),
        n("drift", &|r| r.drift),
        n("slope", &|r| r.slope),
        n("budget_var", &|r| r.budget_var),
        n("speedup", &|r| r.speedup),
        n("speedup_lo", &|r| r.speedup_lo),
        n("speedup_hi", &|r| r.speedup_hi),
        n("step_time_ratio", &|r| r.step_time_ratio),
        n("wall_speedup", &|r| r.wall_speedup),
        n("gain_pct", &|r| r.gain_pct),
        s("status", &|r| r.status.clone()),
        s("paper", &|r| r.paper.clone()),
    ];
    Ok(DataFrame::new(rows.len(), cols)?)
}

/// A DataFrame as CSV (RFC 4180 quoting; nulls empty; floats in shortest round-trip form).
pub fn to_csv(df: &DataFrame) -> Result<String> {
    let quote = |s: &str| if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() };
    let mut out = df.get_column_names().iter().map(|n| quote(n.as_str())).collect::<Vec<_>>().join(",");
    out.push('\n');
    let cols = df.columns();
    for i in 0..df.height() {
        let cells: Vec<String> = cols
            .iter()
            .map(|c| match c.dtype() {
                DataType::String => c.str().ok().and_then(|s| s.get(i)).map(quote).unwrap_or_default(),
                DataType::Boolean => c.bool().ok().and_then(|s| s.get(i)).map(|b| b.to_string()).unwrap_or_default(),
                _ => c
                    .cast(&DataType::Float64)
                    .ok()
                    .and_then(|c| c.f64().ok().and_then(|f| f.get(i)))
                    .map(|v| format!("{v}"))
                    .unwrap_or_default(),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    Ok(out)
}

/// What `report` returns: the main table to print and the files written.
#[derive(Clone, Debug)]
pub struct ReportSummary {
    /// The headline table (speedups if any, else η* per group, else the ladder).
    pub main_table: String,
    /// The whole report.md.
    pub markdown: String,
    pub report_md: PathBuf,
    pub report_csv: PathBuf,
    pub report_parquet: PathBuf,
    /// PNGs written (each with an SVG beside it).
    pub plots: Vec<PathBuf>,
    pub runs: usize,
    pub missing: usize,
    pub derived_rows: usize,
}

impl fmt::Display for ReportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.main_table)?;
        writeln!(f, "{} runs ({} missing); {} derived numbers", self.runs, self.missing, self.derived_rows)?;
        writeln!(f, "wrote {}, {}, {}", self.report_md.display(), self.report_csv.display(), self.report_parquet.display())?;
        write!(
            f,
            "wrote {} plots (PNG + SVG) under {}",
            self.plots.len(),
            self.plots.first().and_then(|p| p.parent()).map(|p| p.display().to_string()).unwrap_or_else(|| "-".into())
        )
    }
}

/// `normlab report DIR`: read `DIR/results.parquet` (+ `curves.parquet`, run metrics) and
/// write `DIR/report.md`, `DIR/report.csv`, `DIR/report.parquet` and `DIR/plots/*.png|svg`.
pub fn report(dir: &Path) -> Result<ReportSummary> {
    let a = Analysis::load(dir)?;
    let (charts, skipped) = a.all_charts();
    let plots_dir = dir.join("plots");
    let plots = save_charts(&charts, &plots_dir)?;
    let md = a.markdown(&plots, skipped);
    let report_md = dir.join("report.md");
    crate::record::atomic_write(&report_md, md.as_bytes())?;
    let rows = a.derived();
    let mut df = derived_frame(&rows)?;
    let report_csv = dir.join("report.csv");
    crate::record::atomic_write(&report_csv, to_csv(&df)?.as_bytes())?;
    let report_parquet = dir.join("report.parquet");
    write_parquet(&report_parquet, &mut df)?;
    let all = |_: &str| true;
    let main_table = if !a.speedups.is_empty() {
        a.speedup_table(&all)
    } else if a.lr_sweep {
        a.lr_table(&all)
    } else if !a.ladder.is_empty() {
        a.ladder_table()
    } else {
        String::from("(no LR grid, budget sweep or variant comparison in this sweep)")
    };
    let (_, missing) = a.counts();
    Ok(ReportSummary {
        main_table,
        markdown: md,
        report_md,
        report_csv,
        report_parquet,
        plots,
        runs: a.runs.len(),
        missing,
        derived_rows: rows.len(),
    })
}
