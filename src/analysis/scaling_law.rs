//! A compute frontier and the power law fitted to it: L(C) = E + A·C^(−α).
//!
//! **Frontier**: of a ladder's (cost, loss) cells — every size at every budget — the cells no
//! cheaper (or equally cheap) cell beats: the lowest loss any size reached at that cost.
//!
//! **Fit**: least squares in L. For a fixed α the law is linear in (E, A), so those have a
//! closed form and only α is searched (variable projection): a scan of ln α over
//! `ALPHA_RANGE`, then golden-section refinement around the best grid point. A best α at either
//! end of the range means the data determine no power law (flat, or a step), and the fit is
//! refused rather than reported at the bound; so is a law that does not fall with compute or
//! whose floor E is negative (no cross-entropy is).

use std::fmt;

/// L = E + a·(C/c0)^(−α): `c0` (the geometric mean cost of the fitted points) keeps the
/// coefficient near the losses' scale; A = a·c0^α is the coefficient on C itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PowerLaw {
    pub e: f64,
    pub a: f64,
    pub alpha: f64,
    pub c0: f64,
}

impl PowerLaw {
    /// A of L = E + A·C^(−α).
    pub fn coefficient(&self) -> f64 {
        self.a * self.c0.powf(self.alpha)
    }

    pub fn loss(&self, cost: f64) -> f64 {
        self.e + self.a * (cost / self.c0).powf(-self.alpha)
    }

    /// The cost at which the law reaches `loss`; `None` at or below its floor E (never).
    pub fn cost_at(&self, loss: f64) -> Option<f64> {
        (loss > self.e).then(|| self.c0 * ((loss - self.e) / self.a).powf(-1.0 / self.alpha))
    }
}

/// Why there is no law.
#[derive(Clone, Debug, PartialEq)]
pub enum FitError {
    TooFewPoints {
        points: usize,
    },
    /// The least-squares α lies at the end of the searched range.
    NoInteriorExponent {
        alpha: f64,
    },
    /// The best law rises with compute (A ≤ 0).
    NotDecreasing,
    NegativeFloor {
        e: f64,
    },
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FitError::TooFewPoints { points } => write!(f, "{points} frontier point(s); a law of 3 parameters needs at least {MIN_POINTS}"),
            FitError::NoInteriorExponent { alpha } => {
                write!(f, "did not converge: the best exponent is at the end of the searched range (α = {alpha:.3})")
            }
            FitError::NotDecreasing => write!(f, "did not converge: the best law does not fall with compute (A ≤ 0)"),
            FitError::NegativeFloor { e } => write!(f, "did not converge: the floor E = {e:.3} is negative"),
        }
    }
}

/// Fewest points a fit takes (3 parameters and at least one residual degree of freedom).
pub const MIN_POINTS: usize = 4;
/// The exponents searched.
pub const ALPHA_RANGE: (f64, f64) = (0.005, 3.0);
const GRID: usize = 80;

/// Indices of the frontier cells among (cost, loss), by increasing cost; non-finite losses
/// (diverged or missing cells) never enter.
pub fn frontier(cells: &[(f64, f64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..cells.len()).filter(|&i| cells[i].0.is_finite() && cells[i].0 > 0.0 && cells[i].1.is_finite()).collect();
    order.sort_by(|&i, &j| cells[i].0.total_cmp(&cells[j].0).then(cells[i].1.total_cmp(&cells[j].1)));
    let mut best = f64::INFINITY;
    order.retain(|&i| {
        let keep = cells[i].1 < best;
        best = best.min(cells[i].1);
        keep
    });
    order
}

/// (E, a, residual sum of squares) of the best line L = E + a·x, x = (C/c0)^(−α), at a given α
/// (`logc` = ln(C/c0)), from one pass of sums.
fn linear_part(alpha: f64, logc: &[f64], ls: &[f64]) -> (f64, f64, f64) {
    let (mut sx, mut sl, mut sxx, mut sxl, mut sll) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (lc, l) in logc.iter().zip(ls) {
        let x = (-alpha * lc).exp();
        (sx, sl, sxx, sxl, sll) = (sx + x, sl + l, sxx + x * x, sxl + x * l, sll + l * l);
    }
    let n = ls.len() as f64;
    let (vxx, vxl, vll) = (sxx - sx * sx / n, sxl - sx * sl / n, sll - sl * sl / n);
    let a = if vxx > 0.0 { vxl / vxx } else { 0.0 };
    ((sl - a * sx) / n, a, (vll - a * vxl).max(0.0))
}

/// The least-squares law through `points` (cost, loss).
pub fn fit_power_law(points: &[(f64, f64)]) -> Result<PowerLaw, FitError> {
    let pts: Vec<(f64, f64)> = points.iter().cloned().filter(|p| p.0 > 0.0 && p.0.is_finite() && p.1.is_finite()).collect();
    if pts.len() < MIN_POINTS {
        return Err(FitError::TooFewPoints { points: pts.len() });
    }
    let c0 = (pts.iter().map(|p| p.0.ln()).sum::<f64>() / pts.len() as f64).exp();
    let logc: Vec<f64> = pts.iter().map(|p| (p.0 / c0).ln()).collect();
    let ls: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let at = |ln_alpha: f64| linear_part(ln_alpha.exp(), &logc, &ls);
    let (lo, hi) = (ALPHA_RANGE.0.ln(), ALPHA_RANGE.1.ln());
    let step = (hi - lo) / (GRID - 1) as f64;
    let rss: Vec<f64> = (0..GRID).map(|k| at(lo + k as f64 * step).2).collect();
    let k = (0..GRID).min_by(|&i, &j| rss[i].total_cmp(&rss[j])).unwrap();
    if k == 0 || k == GRID - 1 {
        return Err(FitError::NoInteriorExponent { alpha: (lo + k as f64 * step).exp() });
    }
    // Golden section on the bracket around the best grid point.
    let (mut a, mut b) = (lo + (k - 1) as f64 * step, lo + (k + 1) as f64 * step);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut x1, mut x2) = (b - g * (b - a), a + g * (b - a));
    let (mut f1, mut f2) = (at(x1).2, at(x2).2);
    for _ in 0..45 {
        if f1 <= f2 {
            (b, x2, f2) = (x2, x1, f1);
            x1 = b - g * (b - a);
            f1 = at(x1).2;
        } else {
            (a, x1, f1) = (x1, x2, f2);
            x2 = a + g * (b - a);
            f2 = at(x2).2;
        }
    }
    let ln_alpha = 0.5 * (a + b);
    let (e, coef, _) = at(ln_alpha);
    if coef <= 0.0 {
        return Err(FitError::NotDecreasing);
    }
    if e < 0.0 {
        return Err(FitError::NegativeFloor { e });
    }
    Ok(PowerLaw { e, a: coef, alpha: ln_alpha.exp(), c0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_law_is_recovered_and_inverted() {
        let truth = PowerLaw { e: 1.1, a: 0.0, alpha: 0.0, c0: 1.0 };
        let law = |c: f64| truth.e + 40.0 * c.powf(-0.28);
        let pts: Vec<(f64, f64)> = (0..8).map(|k| 1e9 * 3f64.powi(k)).map(|c| (c, law(c))).collect();
        let f = fit_power_law(&pts).unwrap();
        assert!((f.e - 1.1).abs() < 1e-6 && (f.alpha - 0.28).abs() < 1e-6 && (f.coefficient() / 40.0 - 1.0).abs() < 1e-4, "{f:?}");
        let c = f.cost_at(law(2e11)).unwrap();
        assert!((c / 2e11 - 1.0).abs() < 1e-4, "{c}");
        assert_eq!(f.cost_at(1.1), None);
        assert_eq!(f.cost_at(1.0), None);
    }

    #[test]
    fn flat_rising_and_too_short_data_give_no_law() {
        let costs: Vec<f64> = (0..6).map(|k| 1e9 * 2f64.powi(k)).collect();
        let rising: Vec<(f64, f64)> = costs.iter().map(|&c| (c, 1.0 + 1e-10 * c)).collect();
        assert!(matches!(fit_power_law(&rising), Err(FitError::NotDecreasing | FitError::NoInteriorExponent { .. })), "{:?}", fit_power_law(&rising));
        // Straight in ln C: the power law's best exponent runs to 0.
        let log_law: Vec<(f64, f64)> = costs.iter().map(|&c| (c, 5.0 - 0.1 * c.ln())).collect();
        assert!(matches!(fit_power_law(&log_law), Err(FitError::NoInteriorExponent { .. })), "{:?}", fit_power_law(&log_law));
        assert_eq!(fit_power_law(&rising[..3]), Err(FitError::TooFewPoints { points: 3 }));
        // A law whose floor would be negative.
        let neg: Vec<(f64, f64)> = costs.iter().map(|&c| (c, -0.5 + 30.0 * c.powf(-0.1))).collect();
        assert!(matches!(fit_power_law(&neg), Err(FitError::NegativeFloor { .. })), "{:?}", fit_power_law(&neg));
    }

    #[test]
    fn the_frontier_keeps_each_cost_s_best_loss_only_when_it_beats_every_cheaper_cell() {
        let cells = [(1.0, 3.0), (2.0, 2.5), (2.0, 2.4), (3.0, 2.6), (4.0, 2.0), (5.0, f64::INFINITY), (6.0, f64::NAN), (7.0, 1.9)];
        assert_eq!(frontier(&cells), vec![0, 2, 4, 7]);
        assert!(frontier(&[]).is_empty());
    }
}
