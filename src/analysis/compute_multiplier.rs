//! A variant's speedup as a compute multiplier read off fitted scaling laws, with seed-bootstrap
//! intervals (bootstrap.rs: the same stream, so variants with the same seeds are drawn paired).
//!
//! Per variant a ladder of cells (size × budget; each cell's cost and each seed's loss) → the
//! compute frontier of the seed means → L(C) = E + A·C^(−α) (scaling_law.rs). Each bootstrap
//! draw resamples the seeds, recomputes every cell's mean, the frontier and the fit, so the
//! choice of frontier cells is part of what is resampled.
//!
//! M(L) = C_ref(L) / C_var(L): how many times the reference's compute the variant needs less to
//! reach loss L. The **rollout** fits a ladder without its largest size and predicts the
//! largest size's frontier losses: the error of the law one size beyond its data.

use super::bootstrap::{Interval, Scale, interval, seed_draws};
use super::log_log_slope;
use super::scaling_law::{FitError, PowerLaw, fit_power_law, frontier};

/// One (size, budget) cell of a variant's ladder.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// Index of the size (0 = smallest).
    pub size: usize,
    /// The cost of the cell on the axis analysed (FLOPs, steps, tokens or seconds).
    pub cost: f64,
    /// Final loss per seed, in the ladder's seed order: NaN = missing, +∞ = diverged.
    pub losses: Vec<f64>,
}

/// Mean of the drawn seeds' losses of each cell: +∞ if a drawn seed diverged, NaN if none ran.
pub fn cell_means(cells: &[Cell], draw: &[usize]) -> Vec<(f64, f64)> {
    cells
        .iter()
        .map(|c| {
            let v: Vec<f64> = draw.iter().filter_map(|&i| c.losses.get(i).copied()).filter(|l| !l.is_nan()).collect();
            let mean = if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 };
            (c.cost, mean)
        })
        .collect()
}

fn all_seeds(cells: &[Cell]) -> Vec<usize> {
    (0..cells.iter().map(|c| c.losses.len()).max().unwrap_or(0)).collect()
}

/// A frontier and the law fitted to it.
struct FrontierFit {
    /// Cell indices, by cost.
    cells: Vec<usize>,
    /// Their (cost, mean loss).
    points: Vec<(f64, f64)>,
    law: Result<PowerLaw, FitError>,
}

/// The frontier of the drawn seeds' means and its law, leaving out the cells of size
/// `without` (the rollout).
fn fit_draw(cells: &[Cell], draw: &[usize], without: Option<usize>) -> FrontierFit {
    let means: Vec<(f64, f64)> =
        cell_means(cells, draw).into_iter().zip(cells).map(|(m, c)| if Some(c.size) == without { (m.0, f64::NAN) } else { m }).collect();
    let front = frontier(&means);
    let points: Vec<(f64, f64)> = front.iter().map(|&i| means[i]).collect();
    FrontierFit { law: fit_power_law(&points), cells: front, points }
}

/// A variant's law with its intervals and every draw's law (for the multipliers).
#[derive(Clone, Debug)]
pub struct LawFit {
    pub law: Result<PowerLaw, FitError>,
    /// Frontier cells of the seed means, by cost, and their (cost, mean loss).
    pub frontier: Vec<usize>,
    pub points: Vec<(f64, f64)>,
    pub seeds: usize,
    pub e: Interval,
    /// Of A (on C itself), on a log scale.
    pub a: Interval,
    pub alpha: Interval,
    /// Each draw's law (`None` where the drawn seeds' frontier had no law).
    pub draws: Vec<Option<PowerLaw>>,
}

impl LawFit {
    /// Draws whose frontier gave no law.
    pub fn failed_draws(&self) -> usize {
        self.draws.iter().filter(|d| d.is_none()).count()
    }

    /// A law whose exponent's interval lies above 0 (the only one a multiplier is read from).
    pub fn resolved(&self) -> Option<&PowerLaw> {
        self.law.as_ref().ok().filter(|_| self.alpha.lo().is_some_and(|lo| lo > 0.0))
    }
}

/// The law of `cells` with seed-bootstrap intervals for E, A and α.
pub fn fit_ladder(cells: &[Cell], draws: usize) -> LawFit {
    let seeds = cells.iter().map(|c| c.losses.iter().filter(|l| !l.is_nan()).count()).max().unwrap_or(0);
    let FrontierFit { cells: front, points, law } = fit_draw(cells, &all_seeds(cells), None);
    let n = all_seeds(cells).len();
    let draws: Vec<Option<PowerLaw>> =
        if n < 2 { Vec::new() } else { seed_draws(n, draws).iter().map(|d| fit_draw(cells, d, None).law.ok()).collect() };
    let of = |f: fn(&PowerLaw) -> f64| draws.iter().map(|d| d.as_ref().map_or(f64::NAN, f)).collect::<Vec<f64>>();
    let (e, a, alpha) = match &law {
        Ok(l) => (
            interval(l.e, &of(|l| l.e), seeds, Scale::Linear),
            interval(l.coefficient(), &of(PowerLaw::coefficient), seeds, Scale::Log),
            interval(l.alpha, &of(|l| l.alpha), seeds, Scale::Linear),
        ),
        Err(_) => (Interval::Unavailable { seeds }, Interval::Unavailable { seeds }, Interval::Unavailable { seeds }),
    };
    LawFit { law, frontier: front, points, seeds, e, a, alpha, draws }
}

/// The law's loss at each cost with its interval (the band of a frontier plot).
pub fn loss_band(fit: &LawFit, costs: &[f64]) -> Vec<Option<(f64, Interval)>> {
    costs
        .iter()
        .map(|&c| {
            let l = fit.law.as_ref().ok()?;
            let reps: Vec<f64> = fit.draws.iter().map(|d| d.map_or(f64::NAN, |d| d.loss(c))).collect();
            Some((l.loss(c), interval(l.loss(c), &reps, fit.seeds, Scale::Linear)))
        })
        .collect()
}

/// M at one loss level.
#[derive(Clone, Debug, PartialEq)]
pub struct Multiplier {
    pub level: f64,
    /// C_ref(level) of the reference's law.
    pub ref_cost: f64,
    pub m: f64,
    pub ci: Interval,
    /// Draws in which one of the two laws never reaches the level (or had no law).
    pub undefined_draws: usize,
}

fn ratio(r: &PowerLaw, v: &PowerLaw, level: f64) -> Option<f64> {
    Some(r.cost_at(level)? / v.cost_at(level)?)
}

/// M(L) = C_ref(L) / C_var(L) at each level where both point-estimate laws reach it.
pub fn multipliers(reference: &LawFit, var: &LawFit, levels: &[f64]) -> Vec<Multiplier> {
    let (Ok(r), Ok(v)) = (&reference.law, &var.law) else { return Vec::new() };
    let seeds = reference.seeds.min(var.seeds);
    levels
        .iter()
        .filter_map(|&level| {
            let m = ratio(r, v, level)?;
            let reps: Vec<f64> =
                reference.draws.iter().zip(&var.draws).map(|(a, b)| a.zip(*b).and_then(|(a, b)| ratio(&a, &b, level)).unwrap_or(f64::NAN)).collect();
            let undefined_draws = reps.iter().filter(|x| !x.is_finite()).count();
            Some(Multiplier { level, ref_cost: r.cost_at(level)?, m, ci: interval(m, &reps, seeds, Scale::Log), undefined_draws })
        })
        .collect()
}

/// The slope of ln M against ln C_ref(L) across `levels` (≥ 2 where M exists), with its
/// interval: > 0 means the variant's advantage grows with compute.
pub fn trend(reference: &LawFit, var: &LawFit, levels: &[f64]) -> Option<(f64, Interval)> {
    let slope = |r: &PowerLaw, v: &PowerLaw| -> Option<f64> {
        let pts: Vec<(f64, f64)> = levels.iter().map(|&l| Some((r.cost_at(l)?, ratio(r, v, l)?))).collect::<Option<_>>()?;
        (pts.len() >= 2).then(|| log_log_slope(&pts))
    };
    let est = slope(reference.law.as_ref().ok()?, var.law.as_ref().ok()?)?;
    let reps: Vec<f64> =
        reference.draws.iter().zip(&var.draws).map(|(a, b)| a.zip(*b).and_then(|(a, b)| slope(&a, &b)).unwrap_or(f64::NAN)).collect();
    Some((est, interval(est, &reps, reference.seeds.min(var.seeds), Scale::Linear)))
}

/// One of the largest size's frontier cells against the law of the smaller sizes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RolloutTarget {
    pub cell: usize,
    pub cost: f64,
    pub measured: f64,
    pub predicted: f64,
}

/// The rollout: the law of every size but the largest, against the largest size's frontier cells.
#[derive(Clone, Debug)]
pub struct Rollout {
    pub targets: Vec<RolloutTarget>,
    /// Mean of measured − predicted over the targets (> 0: the law promised too little loss).
    pub error: f64,
    pub ci: Interval,
}

/// Why a rollout was not made.
#[derive(Clone, Debug, PartialEq)]
pub enum RolloutError {
    /// The largest size lies on the frontier at no cost: there is nothing of it to predict.
    NotOnFrontier,
    /// The smaller sizes give no law.
    NoLaw(FitError),
}

pub fn rollout(cells: &[Cell], draws: usize) -> Result<Rollout, RolloutError> {
    let largest = cells.iter().map(|c| c.size).max().ok_or(RolloutError::NotOnFrontier)?;
    let all = all_seeds(cells);
    let targets: Vec<usize> = fit_draw(cells, &all, None).cells.into_iter().filter(|&i| cells[i].size == largest).collect();
    if targets.is_empty() {
        return Err(RolloutError::NotOnFrontier);
    }
    let error_of = |draw: &[usize]| -> Result<(f64, Vec<RolloutTarget>), FitError> {
        let law = fit_draw(cells, draw, Some(largest)).law?;
        let means = cell_means(cells, draw);
        let rows: Vec<RolloutTarget> =
            targets.iter().map(|&i| RolloutTarget { cell: i, cost: means[i].0, measured: means[i].1, predicted: law.loss(means[i].0) }).collect();
        Ok((rows.iter().map(|r| r.measured - r.predicted).sum::<f64>() / rows.len() as f64, rows))
    };
    let (error, rows) = error_of(&all).map_err(RolloutError::NoLaw)?;
    let seeds = cells.iter().map(|c| c.losses.iter().filter(|l| !l.is_nan()).count()).max().unwrap_or(0);
    let reps: Vec<f64> =
        if all.len() < 2 { Vec::new() } else { seed_draws(all.len(), draws).iter().map(|d| error_of(d).map_or(f64::NAN, |e| e.0)).collect() };
    Ok(Rollout { targets: rows, error, ci: interval(error, &reps, seeds, Scale::Linear) })
}

/// α_var / α_ref with its interval (seeds paired): 1 = the same exponent.
pub fn exponent_ratio(reference: &LawFit, var: &LawFit) -> Option<(f64, Interval)> {
    let est = var.law.as_ref().ok()?.alpha / reference.law.as_ref().ok()?.alpha;
    let reps: Vec<f64> = reference.draws.iter().zip(&var.draws).map(|(r, v)| r.zip(*v).map_or(f64::NAN, |(r, v)| v.alpha / r.alpha)).collect();
    Some((est, interval(est, &reps, reference.seeds.min(var.seeds), Scale::Log)))
}
