//! Turning a merged sweep table into numbers: η* per group (transfer) and steps-to-loss
//! speedups (speedup); runs turns the merged table into typed rows and group keys.

pub mod runs;
pub mod speedup;
pub mod transfer;

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
    let keys: Vec<Column> = group_keys.iter().map(|k| df.column(k).map(|c| c.cast(&DataType::String)).and_then(|c| c)).collect::<PolarsResult<_>>()?;
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
