//! Sweeps: declarative grids (spec) → a deterministic plan of content-addressed runs (plan) →
//! local parallel execution with resume (runner) or Slurm job arrays (slurm) → one merged
//! Parquet table (merge).

pub mod builds;
pub mod estimate;
pub mod merge;
pub mod plan;
pub mod refine;
pub mod runner;
pub mod schedule;
pub mod slurm;
pub mod spec;
pub mod utilization;

use plan::PlannedRun;
use std::path::{Path, PathBuf};

/// Default output directory of a sweep.
pub fn default_out(name: &str) -> PathBuf {
    Path::new("results/sweeps").join(name)
}

/// The plan table: one line per run (id, the values that vary, cost by FLOP count); the wall
/// estimate is estimate.rs's.
pub fn format_plan(runs: &[PlannedRun]) -> String {
    let mut s = String::new();
    let keys: Vec<String> = runs.first().map(|r| r.varying.iter().map(|(k, _)| k.clone()).collect()).unwrap_or_default();
    s.push_str(&format!("{:<12}  {}  {:>9}\n", "run_id", keys.iter().map(|k| format!("{k:>16}")).collect::<String>(), "est. cpu"));
    for r in runs {
        let vals: String = r.varying.iter().map(|(_, v)| format!("{:>16}", short(v))).collect();
        s.push_str(&format!("{:<12}  {}  {:>8.0}s\n", r.id, vals, r.cost_s));
    }
    s.push_str(&format!("{} runs\n", runs.len()));
    s
}

fn short(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Float(f) => format!("{f}"),
        other => other.to_string(),
    }
}
