//! `normlab coord-check`: the microsoft/mup coordinate check. For each width, train a few
//! steps on real batches (same seed, same data) and record, for every module output, the RMS
//! of its coordinates and the RMS of its change since step 0 on a fixed batch. Under a
//! width-transferable parameterization the curves are flat in width; under SP they grow.
//! nGPT hidden states have unit norm by construction (coordinates ∝ d^(−1/2)), so for the
//! normalized models the informative columns are the logits and the relative change.

use crate::config::{ArchName, ParamName, RunConfig};
use crate::data::Dataset;
use crate::model::{Architecture, Probe, cross_entropy, tokens, with_arch};
use crate::record::write_parquet;
use crate::train::init_model;
use crate::train::optim::{Optimizer, param_table};
use anyhow::Result;
use burn::optim::GradientsParams;
use burn::prelude::*;
use polars::prelude::*;
use std::path::Path;

#[derive(Clone, Debug)]
pub struct CoordRow {
    pub width: usize,
    pub step: usize,
    pub module: String,
    /// RMS of the module output's coordinates.
    pub rms: f64,
    /// RMS of (output at this step − output at step 0) / RMS at step 0.
    pub rel_change: f64,
}

#[derive(Clone, Debug)]
pub struct CoordCheck {
    pub arch: ArchName,
    pub param: ParamName,
    pub widths: Vec<usize>,
    pub steps: usize,
    pub lr: f64,
    pub head_dim: usize,
    pub n_layer: usize,
    pub seed: u64,
    pub corpus: std::path::PathBuf,
}

impl CoordCheck {
    /// The check behind the coord-check figure (and its test): widths 32–256, 5 steps at the
    /// large LR 1e-2 that makes mis-scaled updates visible, d_head 16, 2 layers, seed 0.
    pub fn standard(arch: ArchName, param: ParamName, corpus: impl Into<std::path::PathBuf>) -> Self {
        Self { arch, param, widths: vec![32, 64, 128, 256], steps: 5, lr: 1e-2, head_dim: 16, n_layer: 2, seed: 0, corpus: corpus.into() }
    }

    /// This check's folder name, `<arch>-<param>` (e.g. `ngpt-nugpt`), in the names of `--arch`/`--param`.
    pub fn tag(&self) -> String {
        format!("{}-{}", self.arch, self.param)
    }

    /// The run config at one width: widening by heads at a fixed head dimension; the base
    /// shape is the smallest width, so the first width has identity multipliers.
    pub fn config(&self, width: usize) -> Result<RunConfig> {
        let base = self.widths.iter().copied().min().unwrap_or(width);
        let text = format!(
            "arch = \"{}\"\nseed = {}\n[param]\nname = \"{}\"\nbase_width = {base}\nbase_depth = {}\nbase_steps = {}\n\
             [model]\nd_model = {width}\nn_layer = {}\nn_head = {}\n[data]\npath = \"{}\"\nseq_len = 64\nbatch_size = 8\n\
             [optim]\nlr = {}\nwarmup_steps = 0\ngrad_clip = 0.0\n[train]\nsteps = {}\n",
            self.arch.as_str(),
            self.seed,
            self.param.as_str(),
            self.n_layer,
            self.steps.max(1),
            self.n_layer,
            width / self.head_dim,
            self.corpus.display(),
            self.lr,
            self.steps.max(1),
        );
        RunConfig::from_toml_str(&text, "coord-check", &[])
    }

    pub fn run(&self) -> Result<Vec<CoordRow>> {
        let mut rows = Vec::new();
        for &w in &self.widths {
            let cfg = self.config(w)?;
            let data = Dataset::load(&cfg.data, "coord-check")?;
            // Its own denormal mode, as `train` sets it: otherwise the result depends on what
            // the last run in this process left in the pool's workers (a flaky test did).
            crate::backend::apply_flush_denormals(cfg.train.flush_denormals);
            rows.extend(with_arch!(cfg.arch, |A| coord_rows::<A>(&cfg, &data, w)));
        }
        Ok(rows)
    }
}

fn coord_rows<A: Architecture>(cfg: &RunConfig, data: &Dataset, width: usize) -> Vec<CoordRow> {
    let device = Device::flex().autodiff();
    let (mut model, scaling) = init_model::<A>(cfg, data.vocab_size(), &device);
    let params = param_table(&model, &scaling);
    let mut opt = Optimizer::new(&params, &cfg.optim);
    let fixed = data.train_batch(cfg.seed ^ 0xC00D, 0);
    let fixed_x = tokens(&fixed.inputs, fixed.batch, fixed.seq_len, &device);
    let mut at_init: Vec<(String, Tensor<3>)> = Vec::new();
    let mut rows = Vec::new();
    for step in 0..=cfg.train.steps {
        let mut probe = Probe::on();
        let _ = model.valid().forward(fixed_x.clone().inner(), &mut probe);
        for (name, t) in probe.records {
            if name.ends_with("_in") || name.ends_with("_cat") || name.ends_with("_hidden") {
                continue; // matrix inputs duplicate other outputs
            }
            let t = t.inner();
            let rms = t.clone().square().mean().sqrt().into_scalar::<f32>() as f64;
            let rel_change = match at_init.iter().find(|(n, _)| *n == name) {
                Some((_, t0)) => {
                    let d = (t.clone() - t0.clone()).square().mean().sqrt().into_scalar::<f32>() as f64;
                    let r0 = t0.clone().square().mean().sqrt().into_scalar::<f32>() as f64;
                    d / r0.max(1e-30)
                }
                None => {
                    at_init.push((name.clone(), t.clone()));
                    0.0
                }
            };
            rows.push(CoordRow { width, step, module: name, rms, rel_change });
        }
        if step == cfg.train.steps {
            break;
        }
        let b = data.train_batch(cfg.seed, step);
        let loss = cross_entropy(
            model.forward(tokens(&b.inputs, b.batch, b.seq_len, &device), &mut Probe::off()),
            tokens(&b.targets, b.batch, b.seq_len, &device),
        );
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = opt.step(model, grads, &params, cfg.optim.lr).0;
    }
    rows
}

/// Least-squares slope of log(value) against log(width) for one module at one step.
pub fn width_slope(rows: &[CoordRow], module: &str, step: usize, value: impl Fn(&CoordRow) -> f64) -> f64 {
    let pts: Vec<(f64, f64)> = rows.iter().filter(|r| r.module == module && r.step == step).map(|r| (r.width as f64, value(r))).collect();
    crate::analysis::log_log_slope(&pts)
}

pub fn to_frame(rows: &[CoordRow]) -> Result<DataFrame> {
    let n = rows.len();
    Ok(DataFrame::new(
        n,
        vec![
            Column::new("width".into(), rows.iter().map(|r| r.width as f64).collect::<Vec<_>>()),
            Column::new("step".into(), rows.iter().map(|r| r.step as f64).collect::<Vec<_>>()),
            Column::new("module".into(), rows.iter().map(|r| r.module.clone()).collect::<Vec<_>>()),
            Column::new("rms".into(), rows.iter().map(|r| r.rms).collect::<Vec<_>>()),
            Column::new("rel_change".into(), rows.iter().map(|r| r.rel_change).collect::<Vec<_>>()),
        ],
    )?)
}

/// Write `coord_check.parquet` (tidy: width, step, module, rms, rel_change) into `dir`.
pub fn write(rows: &[CoordRow], dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    write_parquet(&dir.join("coord_check.parquet"), &mut to_frame(rows)?)
}
