//! Seed bootstrap: 95% intervals for η*, the loss at η*, drift, log-log slope and speedups.
//!
//! **What is resampled: seeds.** Seeds are the independent replications of an experiment;
//! the LR points of one seed are not independent of each other (they share the data order and
//! the initialisation), so resampling single runs would understate the spread. Each draw picks
//! n seeds of a group with replacement and recomputes the statistic from the pooled points of
//! the drawn seeds. Every group is drawn from the same deterministic stream (`RNG_SEED`), so
//! groups with the same seed list draw the same seeds — seed k at width 32 and seed k at
//! width 128 share their data order, and drift and slope keep that pairing.
//!
//! **The interval** is θ̂ ± t₀.₉₇₅,ₙ₋₁ · √(n/(n−1)) · sd(θ*) on a log scale for positive
//! quantities (η*, drift, S), linear otherwise (loss, slope). The bootstrap gives the standard
//! error; the t quantile and the n/(n−1) factor correct for the few seeds a sweep can afford.
//! A plain percentile interval cannot be wider than the range of the seeds' own estimates, and
//! with 3 seeds covers ≈ 75% instead of 95% (tests/statistics.rs shows both). Fewer than two
//! seeds never give an interval: it is `Interval::Unavailable`, printed as such.

use super::lr_optimum::{LrOptimum, lr_optimum};
use super::speedup::{Reach, mean_curve, speedup_at};
use super::{drift_factor, log_log_slope};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::fmt;

/// Bootstrap draws per statistic.
pub const DRAWS: usize = 1000;
/// Seed of the resampling stream (the same for every group, see the module doc).
pub const RNG_SEED: u64 = 7;

/// A 95% interval, or why there is none.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Interval {
    /// Fewer than two seeds (or no draw gave a value).
    Unavailable {
        seeds: usize,
    },
    Range {
        lo: f64,
        hi: f64,
        seeds: usize,
    },
}

/// How a statistic is put on the scale where its interval is symmetric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Log,
    Linear,
}

impl Interval {
    pub fn bounds(&self) -> Option<(f64, f64)> {
        match *self {
            Interval::Range { lo, hi, .. } => Some((lo, hi)),
            Interval::Unavailable { .. } => None,
        }
    }
    pub fn lo(&self) -> Option<f64> {
        self.bounds().map(|b| b.0)
    }
    pub fn hi(&self) -> Option<f64> {
        self.bounds().map(|b| b.1)
    }
    pub fn seeds(&self) -> usize {
        match *self {
            Interval::Range { seeds, .. } | Interval::Unavailable { seeds } => seeds,
        }
    }
    /// "lo–hi" with `f` for each end, or "unavailable (n seed[s])".
    pub fn show(&self, f: impl Fn(f64) -> String) -> String {
        match *self {
            Interval::Range { lo, hi, .. } => format!("{}–{}", f(lo), f(hi)),
            Interval::Unavailable { seeds } => format!("unavailable ({seeds} seed{})", if seeds == 1 { "" } else { "s" }),
        }
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.show(|v| format!("{v:.4}")))
    }
}

/// Two-sided 97.5% quantile of Student's t with `df` degrees of freedom.
pub fn t975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => T[df - 1],
        _ => 1.960 + 2.4 / df as f64, // within 0.002 of the exact quantile above 30
    }
}

/// The interval of `estimate` from its bootstrap replicates (non-finite ones ignored), with
/// `seeds` independent seeds (the smallest group's count when several groups enter).
pub fn interval(estimate: f64, replicates: &[f64], seeds: usize, scale: Scale) -> Interval {
    let tr = |v: f64| if scale == Scale::Log { v.ln() } else { v };
    let back = |v: f64| if scale == Scale::Log { v.exp() } else { v };
    let r: Vec<f64> = replicates.iter().map(|&v| tr(v)).filter(|v| v.is_finite()).collect();
    let est = tr(estimate);
    if seeds < 2 || r.len() < 2 || !est.is_finite() {
        return Interval::Unavailable { seeds };
    }
    let m = r.iter().sum::<f64>() / r.len() as f64;
    let sd = (r.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (r.len() - 1) as f64).sqrt();
    let n = seeds as f64;
    let half = t975(seeds - 1) * (n / (n - 1.0)).sqrt() * sd;
    Interval::Range { lo: back(est - half), hi: back(est + half), seeds }
}

/// The 2.5–97.5% percentile interval of the replicates: kept only to show, in the tests, why
/// `interval` does not use it with few seeds.
pub fn percentile_interval(replicates: &[f64], seeds: usize) -> Interval {
    let mut r: Vec<f64> = replicates.iter().cloned().filter(|v| v.is_finite()).collect();
    if seeds < 2 || r.len() < 2 {
        return Interval::Unavailable { seeds };
    }
    r.sort_by(f64::total_cmp);
    let q = |p: f64| r[((p * (r.len() - 1) as f64).round() as usize).min(r.len() - 1)];
    Interval::Range { lo: q(0.025), hi: q(0.975), seeds }
}

/// `draws` resamples of `n` seed indices with replacement, from the shared stream.
pub fn seed_draws(n: usize, draws: usize) -> Vec<Vec<usize>> {
    let mut rng = SmallRng::seed_from_u64(RNG_SEED);
    (0..draws).map(|_| (0..n).map(|_| rng.random_range(0..n.max(1))).collect()).collect()
}

/// η* of one group with its bootstrap: the point estimate from all seeds and, per draw,
/// (η*, loss at η*) or `None` where the drawn seeds all diverged.
#[derive(Clone, Debug)]
pub struct OptimumBoot {
    pub opt: Option<LrOptimum>,
    pub seeds: usize,
    pub replicates: Vec<Option<(f64, f64)>>,
    pub eta: Interval,
    pub loss: Interval,
}

/// `seeds`: each seed's (lr, final loss) points (non-finite loss = diverged).
pub fn optimum_boot(seeds: &[Vec<(f64, f64)>], draws: usize) -> OptimumBoot {
    let all: Vec<(f64, f64)> = seeds.iter().flatten().cloned().collect();
    let opt = lr_optimum(&all);
    let n = seeds.len();
    let replicates: Vec<Option<(f64, f64)>> = if n < 2 {
        Vec::new()
    } else {
        seed_draws(n, draws)
            .iter()
            .map(|idx| {
                let pts: Vec<(f64, f64)> = idx.iter().flat_map(|&i| seeds[i].iter().cloned()).collect();
                lr_optimum(&pts).map(|o| (o.eta_star, o.loss_star))
            })
            .collect()
    };
    let etas: Vec<f64> = replicates.iter().map(|r| r.map_or(f64::NAN, |r| r.0)).collect();
    let losses: Vec<f64> = replicates.iter().map(|r| r.map_or(f64::NAN, |r| r.1)).collect();
    let (eta, loss) = match &opt {
        Some(o) => (with_resolution(interval(o.eta_star, &etas, n, Scale::Log), o), interval(o.loss_star, &losses, n, Scale::Linear)),
        None => (Interval::Unavailable { seeds: n }, Interval::Unavailable { seeds: n }),
    };
    OptimumBoot { opt, seeds: n, replicates, eta, loss }
}

/// The seed interval of η*, widened where the LR placement resolves nothing (lr_optimum's
/// module doc): pinned exactly by three LRs, a parabola passes through them whatever the curve
/// does between them and the seeds see only seed noise, so η* is known no better than
/// e^(±resolution). With four or more LRs in the fit the seed interval stands (its coverage on
/// parabolic and on asymmetric curves: tests/statistics.rs, tests/transfer_statistics.rs).
pub fn with_resolution(i: Interval, o: &LrOptimum) -> Interval {
    match i {
        Interval::Range { lo, hi, seeds } if o.exactly_pinned() => {
            let r = o.resolution.exp();
            Interval::Range { lo: lo.min(o.eta_star / r), hi: hi.max(o.eta_star * r), seeds }
        }
        i => i,
    }
}

/// Drift and slope of η* across an axis, with intervals. `groups`: (axis value, the group's
/// bootstrap), every group drawn with `optimum_boot` and the same `draws`.
pub fn axis_intervals(groups: &[(f64, &OptimumBoot)]) -> Option<(f64, Interval, f64, Interval)> {
    let est: Vec<(f64, f64)> = groups.iter().map(|(x, g)| Some((*x, g.opt.as_ref()?.eta_star))).collect::<Option<_>>()?;
    let etas: Vec<f64> = est.iter().map(|p| p.1).collect();
    let (drift, slope) = (drift_factor(&etas), log_log_slope(&est));
    let seeds = groups.iter().map(|g| g.1.seeds).min().unwrap_or(0);
    let draws = groups.iter().map(|g| g.1.replicates.len()).min().unwrap_or(0);
    let mut dr = Vec::with_capacity(draws);
    let mut sl = Vec::with_capacity(draws);
    for b in 0..draws {
        let Some(xy) = groups.iter().map(|(x, g)| g.replicates[b].map(|r| (*x, r.0))).collect::<Option<Vec<_>>>() else {
            continue;
        };
        dr.push(drift_factor(&xy.iter().map(|p| p.1).collect::<Vec<_>>()));
        sl.push(log_log_slope(&xy));
    }
    // max/min is ≥ 1 by definition; the symmetric log-scale interval can reach below it when η*
    // is flat across the axis, so its lower end is clipped at 1 (never its upper end).
    let drift_interval = match interval(drift, &dr, seeds, Scale::Log) {
        Interval::Range { lo, hi, seeds } => Interval::Range { lo: lo.max(1.0), hi, seeds },
        other => other,
    };
    Some((drift, drift_interval, slope, interval(slope, &sl, seeds, Scale::Linear)))
}

/// Bootstrap of the steps-to-loss speedup S at `budget_ref`: each side's seed curves
/// ((budget, loss) per seed) resampled (paired when both sides have the same seed count),
/// mean curves and S recomputed. Returns the interval of S and the fraction of draws where
/// the target fell outside the variant's budgets (counted at their bound).
pub fn speedup_interval(estimate: f64, reference: &[Vec<(f64, f64)>], var: &[Vec<(f64, f64)>], budget_ref: f64, draws: usize) -> (Interval, f64) {
    let seeds = reference.len().min(var.len());
    if seeds < 2 {
        return (Interval::Unavailable { seeds }, 0.0);
    }
    let refs: Vec<&[(f64, f64)]> = reference.iter().map(Vec::as_slice).collect();
    let vars: Vec<&[(f64, f64)]> = var.iter().map(Vec::as_slice).collect();
    // The same stream: equal seed counts draw the same seed indices on both sides (paired).
    let (rd, vd) = (seed_draws(reference.len(), draws), seed_draws(var.len(), draws));
    let mut values = Vec::with_capacity(draws);
    let mut censored = 0usize;
    for (ri, vi) in rd.iter().zip(&vd) {
        let r: Vec<&[(f64, f64)]> = ri.iter().map(|&i| refs[i]).collect();
        let v: Vec<&[(f64, f64)]> = vi.iter().map(|&i| vars[i]).collect();
        if let Some(s) = speedup_at(&mean_curve(&r), &mean_curve(&v), budget_ref) {
            censored += usize::from(!matches!(s.reach, Reach::At(_)));
            values.push(s.speedup);
        }
    }
    let frac = if values.is_empty() { 0.0 } else { censored as f64 / values.len() as f64 };
    (interval(estimate, &values, seeds, Scale::Log), frac)
}

/// The gain of `var` over `base` at one budget, 100·(L̄_base − L̄_var)/L̄_base in %, with its
/// interval. `base` and `var` are (seed, final loss); only seeds both sides ran enter, and a
/// draw resamples those seeds on both sides together (seed k of two variants shares its data
/// order, so the pairing removes the seed's own difficulty from the difference).
pub fn gain_interval(base: &[(f64, f64)], var: &[(f64, f64)], draws: usize) -> Option<(f64, Interval)> {
    let pairs: Vec<(f64, f64)> =
        base.iter().filter_map(|&(s, b)| var.iter().find(|v| v.0 == s).map(|v| (b, v.1))).filter(|p| p.0.is_finite() && p.1.is_finite()).collect();
    if pairs.is_empty() {
        return None;
    }
    // Sums, not means: the counts cancel.
    let gain = |idx: &[usize]| {
        let (b, v) = idx.iter().fold((0.0, 0.0), |(b, v), &i| (b + pairs[i].0, v + pairs[i].1));
        100.0 * (b - v) / b
    };
    let estimate = gain(&(0..pairs.len()).collect::<Vec<_>>());
    let replicates: Vec<f64> = if pairs.len() < 2 { Vec::new() } else { seed_draws(pairs.len(), draws).iter().map(|d| gain(d)).collect() };
    Some((estimate, interval(estimate, &replicates, pairs.len(), Scale::Linear)))
}

/// An interval of S divided by a measured step-time ratio (the wall-clock speedup; the ratio
/// is a median over many steps and treated as exact).
pub fn scaled(i: Interval, divisor: f64) -> Interval {
    match i {
        Interval::Range { lo, hi, seeds } => Interval::Range { lo: lo / divisor, hi: hi / divisor, seeds },
        u => u,
    }
}
