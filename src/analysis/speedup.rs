//! Steps-to-loss speedup (nGPT Fig. 2 protocol, docs/variants.md §8): separate runs per
//! budget B, final validation loss L(B) per run. For a reference budget B_ref, the variant's
//! budget B_var reaching the reference's loss L_ref(B_ref) is found by interpolating
//! log(B) linearly against final loss between the variant's budgets. No extrapolation: a
//! target outside the variant's range is reported as a bound ("> max" / "< min").
//! S = B_ref / B_var.

use std::collections::BTreeMap;

/// Where a variant reaches a target loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reach {
    /// At this (interpolated) budget.
    At(f64),
    /// Not reached within the largest budget (this one): B_var > it, S < B_ref / it.
    AboveMax(f64),
    /// Already beaten at the smallest budget (this one): B_var < it, S > B_ref / it.
    BelowMin(f64),
}

impl Reach {
    /// The budget, or the bound for out-of-range targets.
    pub fn budget(self) -> f64 {
        match self {
            Reach::At(b) | Reach::AboveMax(b) | Reach::BelowMin(b) => b,
        }
    }
    /// How S relates to its printed value: "" (at it), "< " (the target was not reached, so S is
    /// below), "> " (beaten at the smallest budget, so S is above).
    pub fn prefix(self) -> &'static str {
        match self {
            Reach::At(_) => "",
            Reach::AboveMax(_) => "< ",
            Reach::BelowMin(_) => "> ",
        }
    }
    /// "", "> max", "< min".
    pub fn status(self) -> &'static str {
        match self {
            Reach::At(_) => "ok",
            Reach::AboveMax(_) => "> max",
            Reach::BelowMin(_) => "< min",
        }
    }
}

/// Sort by budget, average repeated budgets, drop non-finite losses (diverged runs never
/// reach a target).
fn clean(curve: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut by: BTreeMap<u64, (f64, f64, usize, bool)> = BTreeMap::new();
    for &(b, l) in curve {
        if !(b.is_finite() && b > 0.0) {
            continue;
        }
        let e = by.entry(b.to_bits()).or_insert((b, 0.0, 0, false));
        if l.is_finite() {
            e.1 += l;
            e.2 += 1;
        } else {
            e.3 = true;
        }
    }
    let mut v: Vec<(f64, f64)> = by.into_values().filter(|e| e.2 > 0 && !e.3).map(|e| (e.0, e.1 / e.2 as f64)).collect();
    v.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    v
}

/// The smallest budget at which `curve` (budget, final loss) reaches `target`, interpolating
/// log(budget) linearly in loss between neighbouring budgets. `None` if the curve is empty.
pub fn budget_at_loss(curve: &[(f64, f64)], target: f64) -> Option<Reach> {
    let c = clean(curve);
    let first = *c.first()?;
    if first.1 <= target {
        return Some(if first.1 == target { Reach::At(first.0) } else { Reach::BelowMin(first.0) });
    }
    for w in c.windows(2) {
        let ((b0, l0), (b1, l1)) = (w[0], w[1]);
        if l0 > target && l1 <= target {
            let t = (l0 - target) / (l0 - l1);
            return Some(Reach::At((b0.ln() + t * (b1.ln() - b0.ln())).exp()));
        }
    }
    Some(Reach::AboveMax(c.last().unwrap().0))
}

/// One steps-to-loss comparison at a reference budget.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Speedup {
    pub budget_ref: f64,
    pub loss_ref: f64,
    pub reach: Reach,
    /// B_ref / B_var (for out-of-range targets: the bound B_ref / bound budget).
    pub speedup: f64,
}

/// Speedup of `var` over `reference` at the reference budget `budget_ref` (which must be one
/// of the reference's budgets with a finite loss).
pub fn speedup_at(reference: &[(f64, f64)], var: &[(f64, f64)], budget_ref: f64) -> Option<Speedup> {
    let r = clean(reference);
    let &(_, loss_ref) = r.iter().find(|p| p.0 == budget_ref)?;
    let reach = budget_at_loss(var, loss_ref)?;
    Some(Speedup { budget_ref, loss_ref, reach, speedup: budget_ref / reach.budget() })
}

/// Speedups at every reference budget.
pub fn speedups(reference: &[(f64, f64)], var: &[(f64, f64)]) -> Vec<Speedup> {
    clean(reference).iter().filter_map(|&(b, _)| speedup_at(reference, var, b)).collect()
}

/// The mean curve of several seeds' curves: per budget, the mean over the seeds that ran it
/// (+∞ if any of them diverged).
pub fn mean_curve(seeds: &[&[(f64, f64)]]) -> Vec<(f64, f64)> {
    let mut by: BTreeMap<u64, (f64, f64, usize)> = BTreeMap::new();
    for s in seeds {
        for &(b, l) in s.iter() {
            let e = by.entry(b.to_bits()).or_insert((b, 0.0, 0));
            e.1 += if l.is_finite() { l } else { f64::INFINITY };
            e.2 += 1;
        }
    }
    let mut v: Vec<(f64, f64)> = by.into_values().map(|e| (e.0, e.1 / e.2 as f64)).collect();
    v.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    v
}

/// Median of finite values (`None` if there are none).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().cloned().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) })
}
