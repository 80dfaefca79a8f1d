//! Turning a merged sweep table into numbers: η* per group (lr_optimum), steps-to-loss
//! speedups (speedup), their seed-bootstrap intervals (bootstrap), compute frontiers with
//! fitted scaling laws (scaling_law) and the compute multipliers read off them
//! (compute_multiplier); runs turns the merged table into typed rows and group keys.

pub mod bootstrap;
pub mod compute_multiplier;
pub mod lr_optimum;
pub mod runs;
pub mod scaling_law;
pub mod speedup;
pub mod transfer;

/// max η* / min η* across the values of a swept axis.
pub fn drift_factor(etas: &[f64]) -> f64 {
    let max = etas.iter().cloned().fold(f64::MIN, f64::max);
    let min = etas.iter().cloned().fold(f64::MAX, f64::min);
    max / min
}

/// Least-squares slope of ln y against ln x (e.g. ln η* against ln steps).
pub fn log_log_slope(xy: &[(f64, f64)]) -> f64 {
    let pts: Vec<(f64, f64)> = xy.iter().map(|&(x, y)| (x.ln(), y.ln())).collect();
    let n = pts.len() as f64;
    let (mx, my) = (pts.iter().map(|p| p.0).sum::<f64>() / n, pts.iter().map(|p| p.1).sum::<f64>() / n);
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx
}

/// Sample standard deviation (`None` for fewer than 2 finite values).
pub fn std(values: &[f64]) -> Option<f64> {
    let v: Vec<f64> = values.iter().cloned().filter(|x| x.is_finite()).collect();
    if v.len() < 2 {
        return None;
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    Some((v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt())
}
