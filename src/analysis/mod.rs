//! Turning a merged sweep table into numbers: η* per group (lr_optimum), steps-to-loss
//! speedups (speedup), their seed-bootstrap intervals (bootstrap); runs turns the merged
//! table into typed rows and group keys.

pub mod bootstrap;
pub mod lr_optimum;
pub mod runs;
pub mod speedup;

use anyhow::Result;
use polars::prelude::*;
use std::collections::BTreeMap;

/// Rows of a results table as (group key values, lr, final loss or ∞ if diverged/failed).
pub fn lr_points(df: &DataFrame, group_keys: &[String]) -> Result<BTreeMap<Vec<String>, Vec<(f64, f64)>>> {
    let lr = df.column("cfg.optim.lr")?.cast(&DataType::Float64)?;
    let lr = lr.f64()?;
    let loss = match df.column("final_val_loss") {
        Ok(c) => c.cast(&DataType::Float64)?,
        Err(_) => Column::new("final_val_loss".into(), vec![None::<f64>; df.height()]),
    };
    let loss = loss.f64()?;
    let status = df.column("status")?.str()?;
    let keys: Vec<Column> =
        group_keys.iter().map(|k| df.column(k).map(|c| c.cast(&DataType::String)).and_then(|c| c)).collect::<PolarsResult<_>>()?;
    let mut out: BTreeMap<Vec<String>, Vec<(f64, f64)>> = BTreeMap::new();
    for i in 0..df.height() {
        let st = status.get(i).unwrap_or("");
        if st != "done" && st != "diverged" {
            continue; // pending/failed runs are not data points of the LR curve
        }
        let key: Vec<String> = keys.iter().map(|c| c.str().ok().and_then(|s| s.get(i)).unwrap_or("").to_string()).collect();
        let l = if st == "diverged" { f64::INFINITY } else { loss.get(i).unwrap_or(f64::INFINITY) };
        out.entry(key).or_default().push((lr.get(i).unwrap_or(f64::NAN), l));
    }
    Ok(out)
}

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
