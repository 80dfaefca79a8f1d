//! A run directory: the resolved `config.toml`, `metrics.parquet`, `summary.json`,
//! `model.safetensors` (final weights) and `checkpoint/` (resume). Every file is written
//! durably (durable.rs), one process at a time (lock.rs), for one config (identity.rs).

pub mod durable;
pub mod identity;
pub mod lock;

use anyhow::{Context, Result};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub mod progress;
pub mod provenance;
pub mod tensorboard;

/// One row per training step; `val_loss` only where evaluated; `diag` columns at eval points.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Metrics {
    pub step: Vec<u32>,
    pub tokens: Vec<u64>,
    pub lr: Vec<f64>,
    pub train_loss: Vec<f32>,
    pub val_loss: Vec<Option<f32>>,
    pub grad_norm: Vec<f32>,
    pub wall_s: Vec<f64>,
    /// Diagnostics by name, aligned with the rows (None where not measured).
    pub diag: Vec<(String, Vec<Option<f64>>)>,
}

impl Metrics {
    pub fn len(&self) -> usize {
        self.step.len()
    }

    pub fn is_empty(&self) -> bool {
        self.step.is_empty()
    }

    pub fn push(&mut self, step: usize, tokens: u64, lr: f64, train_loss: f32, grad_norm: f32, wall_s: f64) {
        self.step.push(step as u32);
        self.tokens.push(tokens);
        self.lr.push(lr);
        self.train_loss.push(train_loss);
        self.val_loss.push(None);
        self.grad_norm.push(grad_norm);
        self.wall_s.push(wall_s);
        for (_, col) in &mut self.diag {
            col.push(None);
        }
    }

    /// Attach a validation loss and diagnostics to the last row.
    pub fn set_eval(&mut self, val_loss: f32, diags: &[(String, f64)]) {
        if let Some(last) = self.val_loss.last_mut() {
            *last = Some(val_loss);
        }
        self.set_diags(diags);
    }

    /// Attach diagnostics to the last row.
    pub fn set_diags(&mut self, diags: &[(String, f64)]) {
        let n = self.len();
        if n == 0 {
            return;
        }
        for (name, value) in diags {
            let col = match self.diag.iter().position(|(c, _)| c == name) {
                Some(i) => &mut self.diag[i].1,
                None => {
                    self.diag.push((name.clone(), vec![None; n]));
                    &mut self.diag.last_mut().unwrap().1
                }
            };
            col[n - 1] = Some(*value);
        }
    }

    pub fn truncate(&mut self, rows: usize) {
        self.step.truncate(rows);
        self.tokens.truncate(rows);
        self.lr.truncate(rows);
        self.train_loss.truncate(rows);
        self.val_loss.truncate(rows);
        self.grad_norm.truncate(rows);
        self.wall_s.truncate(rows);
        for (_, c) in &mut self.diag {
            c.truncate(rows);
        }
    }

    pub fn to_frame(&self) -> Result<DataFrame> {
        let mut cols = vec![
            Column::new("step".into(), &self.step),
            Column::new("tokens".into(), &self.tokens),
            Column::new("lr".into(), &self.lr),
            Column::new("train_loss".into(), &self.train_loss),
            Column::new("val_loss".into(), &self.val_loss),
            Column::new("grad_norm".into(), &self.grad_norm),
            Column::new("wall_s".into(), &self.wall_s),
        ];
        for (name, col) in &self.diag {
            cols.push(Column::new(format!("diag.{name}").into(), col));
        }
        Ok(DataFrame::new(self.len(), cols)?)
    }

    /// Read back a `metrics.parquet` (used to resume a run), checked against the manifest.
    pub fn read(path: &Path) -> Result<Self> {
        durable::verify_file(path)?;
        let df = read_parquet(path)?;
        let f64s = |name: &str| -> Result<Vec<f64>> {
            Ok(df.column(name)?.cast(&DataType::Float64)?.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
        };
        let mut m = Metrics {
            step: f64s("step")?.iter().map(|v| *v as u32).collect(),
            tokens: f64s("tokens")?.iter().map(|v| *v as u64).collect(),
            lr: f64s("lr")?,
            train_loss: df.column("train_loss")?.f32()?.iter().map(|v| v.unwrap_or(f32::NAN)).collect(),
            val_loss: df.column("val_loss")?.f32()?.iter().collect(),
            grad_norm: df.column("grad_norm")?.f32()?.iter().map(|v| v.unwrap_or(f32::NAN)).collect(),
            wall_s: f64s("wall_s")?,
            diag: Vec::new(),
        };
        for c in df.columns() {
            if let Some(name) = c.name().strip_prefix("diag.") {
                m.diag.push((name.to_string(), c.cast(&DataType::Float64)?.f64()?.iter().collect()));
            }
        }
        Ok(m)
    }
}

/// What a finished (or stopped) run reports.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub status: Status,
    pub final_val_loss: Option<f64>,
    pub best_val_loss: Option<f64>,
    pub final_train_loss: Option<f64>,
    pub steps: usize,
    pub tokens: u64,
    pub tokens_per_s: f64,
    /// Median wall seconds of one optimizer step.
    pub step_time_s: f64,
    pub wall_s: f64,
    pub diverged: bool,
    pub diverged_at: Option<usize>,
    pub seed: u64,
    pub n_params: usize,
    /// Training FLOPs of one optimizer step, counted analytically (`model::flops`); the compute
    /// ladder's cost axis. None: a run that failed before training, or an older build.
    #[serde(default)]
    pub flops_per_step: Option<f64>,
    /// Tokens in the vocabulary the run trained with (None in older summaries).
    #[serde(default)]
    pub vocab_size: Option<usize>,
    pub normlab_version: String,
    pub backend: String,
    pub threads: usize,
    /// Whether subnormal floats were flushed to zero (FTZ+DAZ), read back from the CPU's control
    /// register of the main thread and every rayon worker at the end of training: the one
    /// record of the setting. None: not measured (the run failed before training; older builds).
    #[serde(default)]
    pub flush_denormals: Option<bool>,
    /// Diagnostics measured once at the end (condition numbers, anGPT ν calibration, ...).
    #[serde(default)]
    pub final_diagnostics: std::collections::BTreeMap<String, f64>,
    #[serde(default)]
    pub error: Option<String>,
    /// sha256 of the resolved config (identity::config_hash).
    #[serde(default)]
    pub config_hash: Option<String>,
    /// What recovery did on the way (a torn checkpoint skipped, damaged records redone).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Build, machine and UTC start/end of the run (absent in summaries of older builds).
    #[serde(default)]
    pub provenance: Option<provenance::Provenance>,
    /// WSD cool-down branches (`train.branches`), in budget order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<Branch>,
}

/// A cool-down branch of a WSD run: what a separate WSD run of `steps` steps reports (the two
/// share every step before the branch's cool-down).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Branch {
    pub steps: usize,
    pub final_val_loss: Option<f64>,
    pub final_train_loss: Option<f64>,
    pub diverged: bool,
    /// The trunk's wall seconds at the branch point plus the cool-down's own.
    pub wall_s: f64,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Done,
    Diverged,
    Failed,
    Interrupted,
}

/// Paths inside a run directory.
#[derive(Clone, Debug)]
pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.parquet")
    }
    pub fn summary(&self) -> PathBuf {
        self.root.join("summary.json")
    }
    pub fn weights(&self) -> PathBuf {
        self.root.join("model.safetensors")
    }
    pub fn checkpoint(&self) -> PathBuf {
        self.root.join("checkpoint")
    }
    /// The checkpoint before the newest one (kept as a fallback for a torn newest).
    pub fn checkpoint_prev(&self) -> PathBuf {
        self.root.join("checkpoint.prev")
    }

    /// The summary, if present, readable and matching the manifest.
    pub fn read_summary(&self) -> Option<Summary> {
        durable::verify_file(&self.summary()).ok()?;
        let text = std::fs::read_to_string(self.summary()).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn write_summary(&self, s: &Summary) -> Result<()> {
        atomic_write(&self.summary(), serde_json::to_string_pretty(s)?.as_bytes())
    }

    pub fn write_metrics(&self, m: &Metrics) -> Result<()> {
        let mut df = m.to_frame()?;
        write_parquet(&self.metrics(), &mut df)
    }
}

pub use durable::{tmp_path, write_atomic as atomic_write};

pub fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<()> {
    durable::write_via(path, |tmp| {
        let f = std::fs::File::create(tmp).with_context(|| format!("creating {}", tmp.display()))?;
        ParquetWriter::new(&f).finish(df).map_err(|e| anyhow::anyhow!("writing {}: {e}", tmp.display()))?;
        Ok(())
    })
}

pub fn read_parquet(path: &Path) -> Result<DataFrame> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    ParquetReader::new(f).finish().map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))
}

/// Every checkpoint directory a run may hold: the newest, the previous, one being written.
pub fn checkpoint_dirs(dir: &RunDir) -> [PathBuf; 4] {
    [dir.checkpoint(), dir.root.join("checkpoint.new"), dir.checkpoint_prev(), dir.root.join("checkpoint.old")]
}
