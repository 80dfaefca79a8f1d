//! The compute ladder of a sweep (variants × sizes grown in width and depth × budgets): per
//! variant and cost axis the compute frontier and its law L = E + A·C^(−α) with intervals, the
//! rollout check, and each variant's multiplier M(L) over the reference (analysis::
//! compute_multiplier). A sweep is a ladder when both the size and the budget vary and the runs
//! recorded their FLOPs. What cannot be computed is said: a variant missing at a size, fewer
//! than 3 sizes, a fit that does not converge, an exponent not resolved, missing seeds.

use super::derive::{best_at_budget, bits, ladder_rank, pick, split_keys, unbits};
use super::tables::fmt_lr;
use super::*;
use crate::analysis::compute_multiplier::{Cell, LawFit, Multiplier, Rollout, RolloutError, fit_ladder, multipliers, rollout, trend};

/// Fewest sizes a variant's law is fitted from.
pub const MIN_SIZES: usize = 3;
/// The multiplier is extrapolated to this many times the ladder's largest compute.
pub const EXTRAPOLATE: f64 = 10.0;

/// What a cell's cost is measured in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CostAxis {
    Flops,
    Steps,
    Tokens,
    Wall,
}

impl CostAxis {
    pub const ALL: [CostAxis; 4] = [CostAxis::Flops, CostAxis::Steps, CostAxis::Tokens, CostAxis::Wall];
    pub fn name(self) -> &'static str {
        match self {
            CostAxis::Flops => "training FLOPs",
            CostAxis::Steps => "steps",
            CostAxis::Tokens => "tokens",
            CostAxis::Wall => "wall-clock s (median step time × steps)",
        }
    }
    pub fn short(self) -> &'static str {
        match self {
            CostAxis::Flops => "compute",
            CostAxis::Steps => "steps",
            CostAxis::Tokens => "tokens",
            CostAxis::Wall => "wall-clock",
        }
    }
}

/// One variant on one cost axis.
#[derive(Clone, Debug)]
pub struct AxisFit {
    pub axis: CostAxis,
    pub cells: Vec<Cell>,
    /// The law, or why there is none (fewer than 3 sizes).
    pub fit: std::result::Result<LawFit, String>,
    pub rollout: std::result::Result<Rollout, String>,
}

/// One variant of the ladder.
#[derive(Clone, Debug)]
pub struct Variant {
    pub label: String,
    pub arch: String,
    pub param: String,
    /// Indices into `ComputeLadder::sizes` the variant has runs at.
    pub sizes: Vec<usize>,
    /// How its learning rate was chosen.
    pub lr_source: String,
    pub axes: Vec<AxisFit>,
}

impl Variant {
    pub fn axis(&self, axis: CostAxis) -> &AxisFit {
        self.axes.iter().find(|a| a.axis == axis).expect("every axis is derived")
    }
}

/// M at one loss level, and whether the variant's own frontier reached it.
#[derive(Clone, Debug)]
pub struct Level {
    pub m: Multiplier,
    pub var_reached: bool,
}

/// A variant against a reference on one cost axis.
#[derive(Clone, Debug)]
pub struct VsReference {
    pub variant: String,
    pub reference: String,
    pub axis: CostAxis,
    /// At the reference's measured frontier losses, lowest compute first.
    pub levels: Vec<Level>,
    /// The lowest loss both frontiers reached (the verdict's level), when M exists there.
    pub common: Option<Multiplier>,
    /// At the loss the reference's law reaches at `EXTRAPOLATE` × the largest cost.
    pub extrapolated: Option<Multiplier>,
    /// d ln M / d ln C_ref across the levels both reached.
    pub trend: Option<(f64, Interval)>,
    /// Why `common` or `extrapolated` is missing (a law whose floor lies above the level).
    pub unreached: Vec<String>,
    /// Why there is no multiplier (a law missing or unresolved).
    pub note: Option<String>,
}

/// Everything the compute ladder derives from a sweep.
#[derive(Clone, Debug)]
pub struct ComputeLadder {
    /// (width, depth) of each size, smallest first.
    pub sizes: Vec<(f64, f64)>,
    pub seq_len: f64,
    pub seeds: Vec<f64>,
    pub reference: Option<String>,
    pub variants: Vec<Variant>,
    pub comparisons: Vec<VsReference>,
    /// Missing variants at sizes, missing seeds, diverged cells: said, not dropped.
    pub problems: Vec<String>,
}

/// The keys that must be equal across one frontier: the context length and the vocabulary.
const SAME_ACROSS: [&str; 4] = [SEQ_LEN, "cfg.data.path", "cfg.data.tokenizer", "vocab_size"];

/// Text values of `key` in `df` (empty when the column is missing).
fn distinct_values(df: &DataFrame, key: &str) -> BTreeSet<String> {
    let Ok(c) = df.column(key) else { return BTreeSet::new() };
    (0..df.height()).map(|i| runs::cell(c, i)).filter(|v| !v.is_empty()).collect()
}

/// Refuse a table mixing context lengths or vocabularies, naming every key that differs.
fn check_one_context(df: &DataFrame) -> std::result::Result<(), String> {
    let differ: Vec<String> = SAME_ACROSS
        .iter()
        .filter_map(|k| {
            let v = distinct_values(df, k);
            (v.len() > 1).then(|| format!("{} = {}", short_key(k), v.into_iter().collect::<Vec<_>>().join(", ")))
        })
        .collect();
    if differ.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the runs mix context lengths or vocabularies, which one compute frontier cannot: {} (run one ladder per context and vocabulary)",
            differ.join("; ")
        ))
    }
}

/// Per (size index, budget): LR → [(seed, loss)].
type SizeBudgets = BTreeMap<(usize, u64), BTreeMap<u64, Vec<(f64, f64)>>>;

impl ComputeLadder {
    /// `Ok(None)`: not a ladder (sizes or budgets do not vary, or no FLOPs recorded);
    /// `Err`: a ladder that mixes context lengths or vocabularies.
    pub fn derive(a: &Analysis) -> std::result::Result<Option<Self>, String> {
        let data: Vec<&Run> = a.runs.iter().filter(|r| r.is_data()).collect();
        let mut sizes: Vec<(f64, f64)> = data.iter().map(|r| (r.width, r.depth)).collect();
        sizes.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.total_cmp(&y.1)));
        sizes.dedup();
        let budgets: BTreeSet<u64> = data.iter().map(|r| bits(r.steps)).collect();
        if sizes.len() < 2 || budgets.len() < 2 || !data.iter().any(|r| r.flops_per_step.is_finite()) {
            return Ok(None);
        }
        let df = read_parquet(&crate::sweep::merge::results_path(&a.dir)).map_err(|e| format!("{e:#}"))?;
        check_one_context(&df)?;
        let mut seeds: Vec<f64> = data.iter().map(|r| r.seed).collect();
        seeds.sort_by(f64::total_cmp);
        seeds.dedup();
        let (vi, _) = split_keys(&a.keys);
        let vkeys = pick(&a.keys, &vi);
        let mut by_variant: BTreeMap<String, Vec<&Run>> = BTreeMap::new();
        for r in &data {
            let name = if vi.is_empty() { r.arch.clone() } else { label(&vkeys, &pick(&r.key, &vi)) };
            by_variant.entry(name).or_default().push(r);
        }
        let mut problems = Vec::new();
        let size_name = |i: usize| format!("d={} L={}", fmt_num(sizes[i].0), fmt_num(sizes[i].1));
        let mut variants = Vec::new();
        for (name, runs) in &by_variant {
            let size_of = |r: &Run| sizes.iter().position(|s| *s == (r.width, r.depth)).expect("every size is listed");
            let mut table: SizeBudgets = BTreeMap::new();
            for r in runs {
                table.entry((size_of(r), bits(r.steps))).or_default().entry(bits(r.lr)).or_default().push((r.seed, r.loss));
            }
            let have: BTreeSet<usize> = table.keys().map(|k| k.0).collect();
            for (i, _) in sizes.iter().enumerate().filter(|(i, _)| !have.contains(i)) {
                problems.push(format!("{name} has no finished run at {}", size_name(i)));
            }
            let lr_source = lr_source(runs, &table);
            let axes = CostAxis::ALL.iter().map(|&axis| axis_fit(axis, runs, &table, &seeds, &size_of, have.len())).collect();
            problems.extend(cell_problems(name, &table, &seeds, &size_name));
            variants.push(Variant {
                label: name.clone(),
                arch: runs[0].arch.clone(),
                param: runs[0].param.clone(),
                sizes: have.into_iter().collect(),
                lr_source,
                axes,
            });
        }
        variants.sort_by(|x, y| ladder_rank(&x.arch, &[]).total_cmp(&ladder_rank(&y.arch, &[])).then(x.label.cmp(&y.label)));
        let reference = variants.iter().find(|v| v.arch == "gpt").map(|v| v.label.clone());
        let comparisons = vs_references(&variants, reference.as_deref());
        Ok(Some(ComputeLadder { sizes, seq_len: data[0].seq_len, seeds, reference, variants, comparisons, problems }))
    }

    pub fn variant(&self, label: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.label == label)
    }

    pub fn comparison(&self, variant: &str, reference: &str, axis: CostAxis) -> Option<&VsReference> {
        self.comparisons.iter().find(|c| c.variant == variant && c.reference == reference && c.axis == axis)
    }
}

/// How the variant's learning rates were chosen, from what the runs hold.
fn lr_source(runs: &[&Run], table: &SizeBudgets) -> String {
    let lrs: BTreeSet<u64> = runs.iter().map(|r| bits(r.lr)).collect();
    let searched = table.values().any(|by_lr| by_lr.len() > 1);
    let param = &runs[0].param;
    if searched {
        format!("per-size search: the best of {} LRs (seed mean) at each size and budget", lrs.len())
    } else if lrs.len() == 1 && param != "sp" {
        format!("the {param} rule: base LR {} at every size, scaled per size by the parameterization", fmt_lr(unbits(*lrs.first().unwrap())))
    } else if lrs.len() == 1 {
        format!("one fixed LR {} at every size under SP (no transfer rule, no search)", fmt_lr(unbits(*lrs.first().unwrap())))
    } else {
        "one LR per size, set by hand in the sweep file".into()
    }
}

/// The cells of one variant on one axis (each cell at its best LR) and their law and rollout.
fn axis_fit(axis: CostAxis, runs: &[&Run], table: &SizeBudgets, seeds: &[f64], size_of: &dyn Fn(&Run) -> usize, n_sizes: usize) -> AxisFit {
    let median = |f: &dyn Fn(&Run) -> f64, size: usize| sp::median(&runs.iter().filter(|r| size_of(r) == size).map(|r| f(r)).collect::<Vec<_>>());
    let cells: Vec<Cell> = table
        .iter()
        .filter_map(|(&(size, budget), by_lr)| {
            let (_, pts) = best_at_budget(by_lr)?;
            let steps = unbits(budget);
            let cost = match axis {
                CostAxis::Flops => median(&|r| r.flops_per_step, size)? * steps,
                CostAxis::Steps => steps,
                CostAxis::Tokens => median(&|r| if r.status == "done" { r.tokens / r.steps } else { f64::NAN }, size)? * steps,
                CostAxis::Wall => median(&|r| if r.status == "done" { r.step_time_s } else { f64::NAN }, size)? * steps,
            };
            let losses = seeds.iter().map(|s| pts.iter().find(|p| p.0 == *s).map_or(f64::NAN, |p| p.1)).collect();
            Some(Cell { size, cost, losses })
        })
        .collect();
    let (fit, roll) = if n_sizes < MIN_SIZES {
        let why = format!("no fit: {n_sizes} size(s) with finished runs, a law needs at least {MIN_SIZES}");
        (Err(why.clone()), Err(why))
    } else {
        let roll = rollout(&cells, BOOTSTRAP_DRAWS).map_err(|e| match e {
            RolloutError::NotOnFrontier => "the largest size is on the frontier at no cost, so there is nothing of it to predict".into(),
            RolloutError::NoLaw(f) => format!("no law without the largest size: {f}"),
        });
        (Ok(fit_ladder(&cells, BOOTSTRAP_DRAWS)), roll)
    };
    AxisFit { axis, cells, fit, rollout: roll }
}

/// Seeds missing from a cell and diverged cells, by name.
fn cell_problems(name: &str, table: &SizeBudgets, seeds: &[f64], size_name: &dyn Fn(usize) -> String) -> Vec<String> {
    let mut out = Vec::new();
    for (&(size, budget), by_lr) in table {
        let Some((_, pts)) = best_at_budget(by_lr) else { continue };
        let missing: Vec<String> = seeds.iter().filter(|s| !pts.iter().any(|p| p.0 == **s)).map(|s| fmt_num(*s)).collect();
        let at = format!("{name} {} at {} steps", size_name(size), fmt_num(unbits(budget)));
        if !missing.is_empty() {
            out.push(format!("{at}: seed(s) {} missing (its mean is over the others)", missing.join(", ")));
        }
        if pts.iter().any(|p| !p.1.is_finite()) {
            out.push(format!("{at}: diverged in some seed (the cell is diverged, never on the frontier)"));
        }
    }
    out
}

/// Every variant against GPT, and anGPT also against GPT+ (its paper's reference), per axis.
fn vs_references(variants: &[Variant], reference: Option<&str>) -> Vec<VsReference> {
    let plus = variants.iter().find(|v| v.arch == "gpt_plus").map(|v| v.label.as_str());
    let mut out = Vec::new();
    for v in variants {
        let refs: Vec<&str> = [reference, if v.arch == "angpt" { plus } else { None }].into_iter().flatten().filter(|r| *r != v.label).collect();
        for r in refs {
            let rv = variants.iter().find(|x| x.label == r).expect("a reference is a variant");
            for axis in CostAxis::ALL {
                out.push(compare(rv, v, axis));
            }
        }
    }
    out
}

fn compare(reference: &Variant, var: &Variant, axis: CostAxis) -> VsReference {
    let mut c = VsReference {
        variant: var.label.clone(),
        reference: reference.label.clone(),
        axis,
        levels: Vec::new(),
        common: None,
        extrapolated: None,
        trend: None,
        unreached: Vec::new(),
        note: None,
    };
    let (ra, va) = (reference.axis(axis), var.axis(axis));
    let (rf, vf) = match (&ra.fit, &va.fit) {
        (Ok(r), Ok(v)) => (r, v),
        (Err(e), _) => return VsReference { note: Some(format!("{}: {e}", reference.label)), ..c },
        (_, Err(e)) => return VsReference { note: Some(format!("{}: {e}", var.label)), ..c },
    };
    for (who, f) in [(&reference.label, rf), (&var.label, vf)] {
        if let Err(e) = &f.law {
            return VsReference { note: Some(format!("{who}'s law: {e}")), ..c };
        }
        if f.resolved().is_none() {
            let why = format!("{who}'s exponent is not resolved (α 95% {} includes 0): no multiplier from it", f.alpha.show(|v| format!("{v:.3}")));
            return VsReference { note: Some(why), ..c };
        }
    }
    let (rl, vl): (Vec<f64>, Vec<f64>) = (rf.points.iter().map(|p| p.1).collect(), vf.points.iter().map(|p| p.1).collect());
    let var_best = vl.iter().cloned().fold(f64::INFINITY, f64::min);
    let common_level = rl.iter().cloned().fold(f64::INFINITY, f64::min).max(var_best);
    let both: Vec<f64> = rl.iter().cloned().filter(|&l| l >= common_level).collect();
    c.trend = trend(rf, vf, &both);
    let c_max = ra.cells.iter().chain(&va.cells).map(|x| x.cost).fold(0.0, f64::max);
    let (Ok(r), Ok(v)) = (&rf.law, &vf.law) else { unreachable!("checked above") };
    let at = |level: f64, what: &str, unreached: &mut Vec<String>| {
        let m = multipliers(rf, vf, &[level]).pop();
        if m.is_none() {
            let (who, e) = if r.cost_at(level).is_none() { (&reference.label, r.e) } else { (&var.label, v.e) };
            unreached.push(format!("{what} (loss {level:.4}): {who}'s law never reaches it (its floor E = {e:.4})"));
        }
        m
    };
    for &level in &rl {
        if let Some(m) = at(level, "a loss the reference measured", &mut c.unreached) {
            c.levels.push(Level { var_reached: m.level >= var_best, m });
        }
    }
    c.common = at(common_level, "the lowest loss both reached", &mut c.unreached);
    c.extrapolated = at(r.loss(EXTRAPOLATE * c_max), &format!("the extrapolation to {}× the largest cost", fmt_num(EXTRAPOLATE)), &mut c.unreached);
    if c.levels.is_empty() {
        c.note = Some("the variant's law never reaches the reference's measured losses".into());
    }
    c
}
