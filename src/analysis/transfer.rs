//! Does the optimal learning rate transfer along an axis (width, depth, steps, batch size, …)?
//! Three numbers decide it, each with a 95% seed-bootstrap interval:
//!
//! - **the exponent** s of ln η* = c + s·ln x, fitted over every size at once, each size weighted
//!   by the precision of its η* (so a flat loss curve costs that size, not the verdict), and
//!   compared with the named predictions of the parameterizations (param::claims);
//! - **the transfer regret**: the loss at a larger size trained at the base size's η* minus the
//!   best loss at that size, computed within each seed (a seed's LR points share its data order
//!   and init, so the seed's own offset cancels);
//! - **the verdict** from tolerances declared before the data (`Tolerances`), and, when it is
//!   inconclusive, how many seeds (or how wide a span) would decide it.
//!
//! Resampling: seeds, by id, drawn from the union of the sizes' seeds with the shared stream of
//! `bootstrap`, so seed k of every size enters or leaves a draw together (pairing across sizes).
//! An η* pinned by only three LRs carries its `resolution` (what the LR placement cannot
//! resolve) into the exponent as a model variance that more seeds do not shrink.

use super::bootstrap::{Interval, Scale, interval, seed_draws, t975};
use super::lr_optimum::{Bound, LrOptimum, lr_optimum};
use std::collections::BTreeSet;

/// Tolerances of the transfer verdict, declared before the data (a sweep's `[transfer]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerances {
    /// Largest transfer regret, as a fraction of the best loss, that still counts as transfer.
    pub regret_tol: f64,
    /// Largest |exponent| of η* along the axis that still counts as transfer.
    pub slope_tol: f64,
}

/// README ("Statistics") says why: 1% of the loss is half the smallest per-component gain the
/// papers compare (anGPT's ladder, +2.1%), and |s| ≤ 0.15 keeps η* within 2× over the 64–128×
/// spans the literature transfers across (64^0.15 = 1.9, 128^0.15 = 2.1).
pub const DEFAULT_TOLERANCES: Tolerances = Tolerances { regret_tol: 0.01, slope_tol: 0.15 };

/// One size along the axis: its value and each seed's (lr, final loss; +∞ diverged) points.
#[derive(Clone, Debug, PartialEq)]
pub struct SizeRuns {
    pub x: f64,
    pub seeds: Vec<(u64, Vec<(f64, f64)>)>,
}

impl SizeRuns {
    fn all_points(&self) -> Vec<(f64, f64)> {
        self.seeds.iter().flat_map(|s| s.1.iter().cloned()).collect()
    }
    /// The points of the drawn seed ids that this size ran, with their multiplicity.
    fn drawn(&self, ids: &[u64], draw: &[usize]) -> Vec<Vec<(f64, f64)>> {
        draw.iter().filter_map(|&i| self.seeds.iter().find(|s| s.0 == ids[i]).map(|s| s.1.clone())).collect()
    }
}

/// Seed ids of all sizes, sorted: the bootstrap's resampling units.
fn seed_ids(sizes: &[&SizeRuns]) -> Vec<u64> {
    sizes.iter().flat_map(|s| s.seeds.iter().map(|p| p.0)).collect::<BTreeSet<u64>>().into_iter().collect()
}

/// The seed-noise half-width multiplier of `bootstrap::interval`: θ̂ ± t·√(n/(n−1))·sd.
fn seed_se(sd_boot: f64, seeds: usize) -> f64 {
    let n = seeds as f64;
    (n / (n - 1.0)).sqrt() * sd_boot
}

fn mean_sd(v: &[f64]) -> Option<(f64, f64)> {
    let v: Vec<f64> = v.iter().cloned().filter(|x| x.is_finite()).collect();
    if v.len() < 2 {
        return None;
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    Some((m, (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()))
}

// ---------------------------------------------------------------------------------------------
// The exponent

/// ln η* = c + s·ln x over the sizes, with its interval.
#[derive(Clone, Debug)]
pub struct Exponent {
    pub slope: f64,
    /// Fitted ln η* at the weighted mean of ln x (`u_mean`).
    pub level: f64,
    pub u_mean: f64,
    pub interval: Interval,
    /// The sizes in the fit: (x, η*, weight share).
    pub used: Vec<(f64, f64, f64)>,
    /// Sizes left out, with why (never silently).
    pub excluded: Vec<(f64, String)>,
    /// Standard errors of the slope: seed part (at `interval.seeds()` seeds) and model part.
    pub se_seed: f64,
    pub se_model: f64,
    weights: Vec<f64>,
    model_var: Vec<f64>,
    /// Per draw: (slope, level).
    draws: Vec<(f64, f64)>,
}

/// Why a size cannot enter the exponent, or its η*.
fn usable_optimum(s: &SizeRuns) -> Result<LrOptimum, String> {
    let o = lr_optimum(&s.all_points()).ok_or_else(|| "every run diverged".to_string())?;
    match o.bound {
        Bound::Interior => Ok(o),
        b => Err(format!("η* {}{:.3e} is a grid-edge bound", b.prefix(), o.eta_star)),
    }
}

/// Weighted least squares of y on u: (slope, weighted mean of y, weighted mean of u).
fn weighted_line(u: &[f64], y: &[f64], w: &[f64]) -> (f64, f64, f64) {
    let sw: f64 = w.iter().sum();
    let um = u.iter().zip(w).map(|(u, w)| u * w).sum::<f64>() / sw;
    let ym = y.iter().zip(w).map(|(y, w)| y * w).sum::<f64>() / sw;
    let suu: f64 = u.iter().zip(w).map(|(u, w)| w * (u - um).powi(2)).sum();
    let suy: f64 = u.iter().zip(y).zip(w).map(|((u, y), w)| w * (u - um) * (y - ym)).sum();
    (suy / suu, ym, um)
}

/// The exponent of η* along the axis (`Err`: why there is none, said plainly).
pub fn exponent(sizes: &[SizeRuns], draws: usize) -> Result<Exponent, String> {
    let mut used: Vec<(&SizeRuns, LrOptimum)> = Vec::new();
    let mut excluded = Vec::new();
    for s in sizes {
        match usable_optimum(s) {
            Ok(o) => used.push((s, o)),
            Err(why) => excluded.push((s.x, why)),
        }
    }
    if used.len() < 2 {
        return Err(format!("{} size(s) with an interior η* (an exponent needs ≥ 2)", used.len()));
    }
    let seeds = used.iter().map(|(s, _)| s.seeds.len()).min().unwrap_or(0);
    let refs: Vec<&SizeRuns> = used.iter().map(|p| p.0).collect();
    let ids = seed_ids(&refs);
    let boot: Vec<Vec<f64>> = if seeds < 2 {
        Vec::new()
    } else {
        seed_draws(ids.len(), draws)
            .iter()
            .map(|d| refs.iter().map(|s| lr_optimum(&s.drawn(&ids, d).concat()).map_or(f64::NAN, |o| o.eta_star.ln())).collect())
            .collect()
    };
    let u: Vec<f64> = used.iter().map(|(s, _)| s.x.ln()).collect();
    let y: Vec<f64> = used.iter().map(|(_, o)| o.eta_star.ln()).collect();
    let model_var: Vec<f64> = used.iter().map(|(_, o)| o.model_variance()).collect();
    let seed_var: Vec<f64> = (0..used.len())
        .map(|i| {
            let col: Vec<f64> = boot.iter().map(|b| b[i]).collect();
            mean_sd(&col).map_or(0.0, |(_, sd)| seed_se(sd, seeds).powi(2))
        })
        .collect();
    let weights: Vec<f64> = seed_var.iter().zip(&model_var).map(|(s, m)| 1.0 / (s + m).max(1e-6)).collect();
    let (slope, level, u_mean) = weighted_line(&u, &y, &weights);
    let draws: Vec<(f64, f64)> = boot
        .iter()
        .filter(|b| b.iter().all(|v| v.is_finite()))
        .map(|b| {
            let (s, l, _) = weighted_line(&u, b, &weights);
            (s, l)
        })
        .collect();
    let suu: f64 = u.iter().zip(&weights).map(|(u, w)| w * (u - u_mean).powi(2)).sum();
    let se_model = u.iter().zip(&weights).zip(&model_var).map(|((u, w), m)| (w * (u - u_mean) / suu).powi(2) * m).sum::<f64>().sqrt();
    let sw: f64 = weights.iter().sum();
    let used_out = used.iter().zip(&weights).map(|((s, o), w)| (s.x, o.eta_star, w / sw)).collect();
    let mut e = Exponent {
        slope,
        level,
        u_mean,
        interval: Interval::Unavailable { seeds },
        used: used_out,
        excluded,
        se_seed: 0.0,
        se_model,
        weights,
        model_var,
        draws,
    };
    if let Some((_, sd)) = mean_sd(&e.draws.iter().map(|d| d.0).collect::<Vec<_>>()) {
        e.se_seed = seed_se(sd, seeds);
        let half = half_width(e.se_seed, se_model, seeds);
        e.interval = Interval::Range { lo: slope - half, hi: slope + half, seeds };
    }
    Ok(e)
}

/// 95% half-width from a seed standard error (t with n − 1 degrees of freedom: it was estimated
/// from n seeds) and a model standard error (known, not estimated: z).
pub fn half_width(se_seed: f64, se_model: f64, seeds: usize) -> f64 {
    ((t975(seeds - 1) * se_seed).powi(2) + (1.96 * se_model).powi(2)).sqrt()
}

impl Exponent {
    /// ln η* predicted at x with its interval (log scale): the fitted law extrapolated.
    pub fn predict(&self, x: f64) -> (f64, Interval) {
        let du = x.ln() - self.u_mean;
        let est = self.level + self.slope * du;
        let seeds = self.interval.seeds();
        let reps: Vec<f64> = self.draws.iter().map(|(s, l)| l + s * du).collect();
        let sw: f64 = self.weights.iter().sum();
        let us: Vec<f64> = self.used.iter().map(|p| p.0.ln()).collect();
        let suu: f64 = us.iter().zip(&self.weights).map(|(u, w)| w * (u - self.u_mean).powi(2)).sum();
        let model: f64 =
            us.iter().zip(&self.weights).zip(&self.model_var).map(|((u, w), m)| (w / sw + du * w * (u - self.u_mean) / suu).powi(2) * m).sum::<f64>();
        let ci = match mean_sd(&reps) {
            Some((_, sd)) if seeds >= 2 => {
                let half = half_width(seed_se(sd, seeds), model.sqrt(), seeds);
                Interval::Range { lo: (est - half).exp(), hi: (est + half).exp(), seeds }
            }
            _ => Interval::Unavailable { seeds },
        };
        (est.exp(), ci)
    }
}

// ---------------------------------------------------------------------------------------------
// The transfer regret

/// How the loss at the transferred LR was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegretSource {
    /// Runs at the transferred LR (within 2%).
    Measured,
    /// The larger size's fitted parabola (the LR lies inside its fit window).
    Fitted,
    /// Linear in ln LR between the seed's measured neighbours.
    Interpolated,
    /// Beyond the measured LRs (or next to a diverged one): the regret is only a lower bound.
    AtLeast,
}

impl RegretSource {
    pub fn describe(self) -> &'static str {
        match self {
            RegretSource::Measured => "measured",
            RegretSource::Fitted => "from the fitted curve",
            RegretSource::Interpolated => "interpolated between measured LRs",
            RegretSource::AtLeast => "a lower bound (beyond the measured LRs)",
        }
    }
}

/// The regret of transferring η* from `x_base` to `x`.
#[derive(Clone, Debug)]
pub struct Regret {
    pub x_base: f64,
    pub x: f64,
    /// η* at the base size (the LR transferred) and at this size.
    pub lr_base: f64,
    pub eta_star: f64,
    pub nats: f64,
    pub pct: f64,
    pub nats_ci: Interval,
    pub pct_ci: Interval,
    pub source: RegretSource,
    /// The base η* was itself a grid-edge bound.
    pub base_bound: bool,
    /// Seed-noise standard error of pct (at `pct_ci.seeds()`), for power estimates.
    pub pct_se: f64,
}

/// Within each seed: loss at `x_t` minus the seed's best, averaged; and the mean best loss.
fn paired_regret(big: &[Vec<(f64, f64)>], x_t: f64) -> Option<(f64, f64, RegretSource)> {
    let o = lr_optimum(&big.concat())?;
    let mut source = RegretSource::Measured;
    let mut worst = |s: RegretSource| {
        let rank = |s: RegretSource| s as u8;
        if rank(s) > rank(source) {
            source = s;
        }
    };
    let (mut sum, mut best_sum, mut n) = (0.0, 0.0, 0usize);
    for seed in big {
        let mut pts: Vec<(f64, f64)> = seed.iter().map(|&(lr, l)| (lr.ln(), l)).collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        // The seed's offset from the pooled parabola, over the fit window.
        let offset = o.fit.map_or(0.0, |f| {
            let r: Vec<f64> = pts.iter().filter(|p| f.covers(p.0) && p.1.is_finite()).map(|p| p.1 - f.at(p.0)).collect();
            if r.is_empty() { 0.0 } else { r.iter().sum::<f64>() / r.len() as f64 }
        });
        let measured_best = pts.iter().map(|p| p.1).filter(|l| l.is_finite()).fold(f64::INFINITY, f64::min);
        let best = match o.fit {
            Some(f) => (f.at(o.eta_star.ln()) + offset).min(measured_best),
            None => measured_best,
        };
        if !best.is_finite() {
            continue;
        }
        let at: Vec<f64> = pts.iter().filter(|p| (p.0 - x_t).abs() < 0.02).map(|p| p.1).collect();
        let loss = if !at.is_empty() {
            at.iter().sum::<f64>() / at.len() as f64
        } else if let Some(f) = o.fit.filter(|f| f.covers(x_t)) {
            worst(RegretSource::Fitted);
            f.at(x_t) + offset
        } else {
            let lo = pts.iter().rev().find(|p| p.0 < x_t);
            let hi = pts.iter().find(|p| p.0 > x_t);
            match (lo, hi) {
                (Some(a), Some(b)) if a.1.is_finite() && b.1.is_finite() => {
                    worst(RegretSource::Interpolated);
                    a.1 + (b.1 - a.1) * (x_t - a.0) / (b.0 - a.0)
                }
                // Past the edge or next to a diverged LR the loss is at least the nearer
                // finite point's (the curve keeps rising away from the optimum).
                (a, b) => {
                    worst(RegretSource::AtLeast);
                    let near = if x_t > o.eta_star.ln() { a } else { b };
                    near.map_or(best, |p| if p.1.is_finite() { p.1 } else { best })
                }
            }
        };
        sum += loss - best;
        best_sum += best;
        n += 1;
    }
    (n > 0).then(|| (sum / n as f64, best_sum / n as f64, source))
}

/// The paired transfer regret from `base` to `big` (`Err`: why there is none).
pub fn regret(base: &SizeRuns, big: &SizeRuns, draws: usize) -> Result<Regret, String> {
    let ob = lr_optimum(&base.all_points()).ok_or_else(|| format!("every run at {} diverged", base.x))?;
    let big_seeds: Vec<Vec<(f64, f64)>> = big.seeds.iter().map(|s| s.1.clone()).collect();
    let og = lr_optimum(&big.all_points()).ok_or_else(|| format!("every run at {} diverged", big.x))?;
    let (nats, best, source) = paired_regret(&big_seeds, ob.eta_star.ln()).ok_or_else(|| format!("no finite loss at {}", big.x))?;
    let seeds = base.seeds.len().min(big.seeds.len());
    let ids = seed_ids(&[base, big]);
    let reps: Vec<(f64, f64)> = if seeds < 2 {
        Vec::new()
    } else {
        seed_draws(ids.len(), draws)
            .iter()
            .filter_map(|d| {
                let (b, g) = (base.drawn(&ids, d), big.drawn(&ids, d));
                if b.is_empty() || g.is_empty() {
                    return None;
                }
                let eta = lr_optimum(&b.concat())?.eta_star;
                let (r, best, _) = paired_regret(&g, eta.ln())?;
                Some((r, 100.0 * r / best))
            })
            .collect()
    };
    // A regret is ≥ 0: the symmetric interval's lower end is clipped there.
    let clip = |i: Interval| match i {
        Interval::Range { lo, hi, seeds } => Interval::Range { lo: lo.max(0.0), hi, seeds },
        u => u,
    };
    let pct = 100.0 * nats / best;
    if !nats.is_finite() {
        // Some seed diverged at the transferred LR: no interval is needed to say it costs.
        let inf = Interval::Range { lo: f64::INFINITY, hi: f64::INFINITY, seeds };
        let (lr_base, eta_star, base_bound) = (ob.eta_star, og.eta_star, ob.bound != Bound::Interior);
        return Ok(Regret { x_base: base.x, x: big.x, lr_base, eta_star, nats, pct, nats_ci: inf, pct_ci: inf, source, base_bound, pct_se: 0.0 });
    }
    let pct_reps: Vec<f64> = reps.iter().map(|r| r.1).collect();
    let pct_se = mean_sd(&pct_reps).map_or(f64::NAN, |(_, sd)| seed_se(sd, seeds));
    Ok(Regret {
        x_base: base.x,
        x: big.x,
        lr_base: ob.eta_star,
        eta_star: og.eta_star,
        nats,
        pct,
        nats_ci: clip(interval(nats, &reps.iter().map(|r| r.0).collect::<Vec<_>>(), seeds, Scale::Linear)),
        pct_ci: clip(interval(pct, &pct_reps, seeds, Scale::Linear)),
        source,
        base_bound: ob.bound != Bound::Interior,
        pct_se,
    })
}

// ---------------------------------------------------------------------------------------------
// The verdict and its power

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferOutcome {
    Transfers,
    DoesNotTransfer,
    Inconclusive { seeds: usize },
}

impl std::fmt::Display for TransferOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransferOutcome::Transfers => write!(f, "transfers"),
            TransferOutcome::DoesNotTransfer => write!(f, "does not transfer"),
            TransferOutcome::Inconclusive { seeds } => write!(f, "inconclusive at {seeds} seed{}", if *seeds == 1 { "" } else { "s" }),
        }
    }
}

/// The rule, printed with every verdict.
pub fn rule_text(t: Tolerances) -> String {
    format!(
        "\"transfers\" when every regret's 95% upper bound is ≤ {r}% of the best loss and the exponent's interval lies inside ±{s}; \"does not transfer\" when some regret's lower bound is > {r}% or the exponent's interval lies outside ±{s}; \"inconclusive at n seeds\" otherwise",
        r = fmt_pct(100.0 * t.regret_tol),
        s = t.slope_tol
    )
}

fn fmt_pct(p: f64) -> String {
    let s = format!("{p:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The verdict from the regrets (base → each larger size) and the exponent.
pub fn verdict(regrets: &[Regret], exponent: Option<&Exponent>, t: Tolerances) -> TransferOutcome {
    let tol = 100.0 * t.regret_tol;
    let slope = exponent.and_then(|e| e.interval.bounds());
    let seeds = regrets.iter().map(|r| r.pct_ci.seeds()).chain(exponent.map(|e| e.interval.seeds())).min().unwrap_or(0);
    let regret_over = regrets.iter().any(|r| r.pct_ci.lo().is_some_and(|lo| lo > tol));
    let slope_outside = slope.is_some_and(|(lo, hi)| lo > t.slope_tol || hi < -t.slope_tol);
    if seeds >= 2 && (regret_over || slope_outside) {
        return TransferOutcome::DoesNotTransfer;
    }
    let regret_under = !regrets.is_empty()
        && regrets.iter().all(|r| r.source != RegretSource::AtLeast && !r.base_bound && r.pct_ci.hi().is_some_and(|hi| hi <= tol));
    let slope_inside = slope.is_some_and(|(lo, hi)| lo >= -t.slope_tol && hi <= t.slope_tol);
    if seeds >= 2 && regret_under && slope_inside {
        return TransferOutcome::Transfers;
    }
    TransferOutcome::Inconclusive { seeds }
}

/// The power a power estimate aims for.
pub const POWER: f64 = 0.8;

/// Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
#[allow(clippy::excessive_precision)] // Acklam's published coefficients, as published
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] =
        [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.383577518672690e2, -3.066479806614716e1, 2.506628277459239];
    const B: [f64; 5] = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let tail =
        |q: f64| (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0);
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}
/// The most seeds a power estimate proposes.
pub const MAX_SEEDS: usize = 64;

/// The one-sided 80% upper confidence factor of a standard deviation estimated from n values:
/// √((n−1)/χ²₀.₂(n−1)). A spread seen in 3 seeds is often far below the true one, and a power
/// estimate that trusted it would promise decisions that then do not come.
pub fn sd_upper_factor(n: usize) -> f64 {
    // χ² 20% quantiles for 1–10 degrees of freedom, Wilson–Hilferty above.
    const Q: [f64; 10] = [0.0642, 0.4463, 1.0052, 1.6488, 2.3425, 3.0701, 3.8223, 4.5936, 5.3801, 6.1791];
    let df = n.saturating_sub(1).max(1);
    let q = match Q.get(df - 1) {
        Some(q) => *q,
        None => {
            let v = df as f64;
            v * (1.0 - 2.0 / (9.0 * v) - 0.8416 * (2.0 / (9.0 * v)).sqrt()).powi(3)
        }
    };
    (df as f64 / q).sqrt()
}

/// Smallest k > n seeds at which an interval around `estimate` would land on the side of
/// `boundary` the estimate is on with probability `power`: |estimate − boundary| ≥ half-width(k)
/// plus z_power·se(k), where the seed part of the standard error (taken at its 80% upper
/// confidence bound) shrinks as √(n/k) and the model part does not.
pub fn seeds_to_decide(estimate: f64, boundary: f64, seeds: usize, se_seed: f64, se_model: f64, power: f64) -> Option<usize> {
    let room = (estimate - boundary).abs();
    let z = normal_quantile(power);
    let se_seed = se_seed * sd_upper_factor(seeds);
    (seeds.max(2) + 1..=MAX_SEEDS).find(|&k| {
        let se_k = se_seed * (seeds as f64 / k as f64).sqrt();
        half_width(se_k, se_model, k) + z * (se_k.powi(2) + se_model.powi(2)).sqrt() <= room
    })
}

/// What would decide an inconclusive verdict, in words: "≈ k seeds at the current LR
/// placement", and/or "the span would need to reach x = …" for the exponent.
pub fn power_note(regrets: &[Regret], exponent: Option<&Exponent>, t: Tolerances, axis_name: &str) -> String {
    let tol = 100.0 * t.regret_tol;
    let seeds = regrets.iter().map(|r| r.pct_ci.seeds()).chain(exponent.map(|e| e.interval.seeds())).min().unwrap_or(0);
    if seeds < 2 {
        return format!("needs ≥ 2 seeds at every size for an interval (has {seeds})");
    }
    let looks_like_transfer = regrets.iter().all(|r| r.pct <= tol) && exponent.is_none_or(|e| e.slope.abs() <= t.slope_tol);
    // "transfers" needs every criterion decided at once: each gets power^(1/m).
    let m = regrets.len() + usize::from(exponent.is_some());
    let power = if looks_like_transfer { POWER.powf(1.0 / m.max(1) as f64) } else { POWER };
    // Each criterion's seeds, towards the side its estimate is on.
    let regret_k: Vec<Option<usize>> = regrets.iter().map(|r| seeds_to_decide(r.pct, tol, r.pct_ci.seeds(), r.pct_se, 0.0, power)).collect();
    // Inside or outside ±slope_tol, the boundary that decides is the one on the estimate's side.
    let slope_k = exponent.map(|e| seeds_to_decide(e.slope, t.slope_tol.copysign(e.slope), e.interval.seeds(), e.se_seed, e.se_model, power));
    let k = if looks_like_transfer {
        // Every criterion must be decided.
        regret_k.iter().cloned().chain(slope_k).try_fold(0usize, |m, k| k.map(|k| m.max(k)))
    } else {
        // One decided criterion suffices.
        let over: Vec<Option<usize>> = regrets.iter().zip(&regret_k).filter(|(r, _)| r.pct > tol).map(|(_, k)| *k).collect();
        let slope_over = exponent.is_some_and(|e| e.slope.abs() > t.slope_tol);
        over.into_iter().chain(slope_k.filter(|_| slope_over)).flatten().min()
    };
    let mut parts = Vec::new();
    match k {
        Some(k) => parts.push(format!("≈ {k} seeds at the current LR placement ({:.0}% power, from the observed spread)", 100.0 * POWER)),
        None => parts.push(format!("more than {MAX_SEEDS} seeds, or a finer LR placement near η*, at this span")),
    }
    // The exponent's precision grows with the log span: at the current seeds, how far would the
    // largest size have to move for its interval to decide?
    if let Some(e) = exponent {
        let room = (e.slope.abs() - t.slope_tol).abs();
        let se = (e.se_seed.powi(2) + e.se_model.powi(2)).sqrt();
        let need = half_width(e.se_seed, e.se_model, e.interval.seeds()) + normal_quantile(POWER) * se;
        if need > room && room > 0.0 {
            let (lo, hi) = e.used.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
            let reach = lo * (hi / lo).powf(need / room);
            if reach <= 1e4 * hi {
                parts.push(format!("for the exponent alone, the span would need to reach {axis_name} ≈ {} at {seeds} seeds", fmt_size(reach)));
            } else {
                parts.push(format!(
                    "no feasible span decides the exponent at this precision of η* (first pin η* at each {axis_name}: more LRs near it)"
                ));
            }
        }
    }
    parts.join("; ")
}

fn fmt_size(x: f64) -> String {
    if x >= 1e6 { format!("{x:.2e}") } else { format!("{}", x.round() as i64) }
}

/// Named predictions that the exponent's interval excludes.
pub fn excluded<'a>(e: &Exponent, predictions: &'a [(String, f64)]) -> Vec<&'a (String, f64)> {
    match e.interval.bounds() {
        Some((lo, hi)) => predictions.iter().filter(|p| p.1 < lo || p.1 > hi).collect(),
        None => Vec::new(),
    }
}
