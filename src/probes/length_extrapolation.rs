//! `normlab eval RUN_DIR --context 2x,4x`: validation loss of a trained run's final weights at
//! longer contexts than it was trained on (nGPT Fig. 13: nGPT should degrade less than GPT).

use crate::config::RunConfig;
use crate::data::Dataset;
use crate::model::{Architecture, with_arch};
use crate::record::{RunDir, atomic_write};
use crate::train::{evaluate, init_model, load_weights};
use anyhow::{Context, Result, bail};
use burn::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct ContextLoss {
    /// The loaded model's diagnostics (same for every row; kept for the JSON record).
    #[serde(skip)]
    pub diagnostics: Vec<(String, f64)>,
    pub multiple: f64,
    pub seq_len: usize,
    pub val_loss: f64,
}

/// Parse "2x,4x" (or "1,2,4") into multiples of the training context.
pub fn parse_multiples(spec: &str) -> Result<Vec<f64>> {
    spec.split(',')
        .map(|s| {
            let s = s.trim().trim_end_matches('x');
            let v: f64 = s.parse().with_context(|| format!("--context: `{s}` is not a number (expected e.g. 2x,4x)"))?;
            if v <= 0.0 {
                bail!("--context: multiples must be positive, got {v}");
            }
            Ok(v)
        })
        .collect()
}

/// Evaluate the run in `dir` at each multiple of its training context; writes `eval.json`.
pub fn eval_contexts(dir: &RunDir, multiples: &[f64]) -> Result<Vec<ContextLoss>> {
    let cfg_path = dir.config();
    let cfg = RunConfig::load(&cfg_path, &[])?;
    if !dir.weights().exists() {
        bail!("{}: no final weights (model.safetensors); has the run finished?", dir.root.display());
    }
    let data = Dataset::load(&cfg.data, &cfg_path.display().to_string())?;
    let rows = with_arch!(cfg.arch, |A| losses_at_contexts::<A>(&cfg, &data, dir, multiples))?;
    atomic_write(&dir.root.join("eval.json"), serde_json::to_string_pretty(&rows)?.as_bytes())?;
    Ok(rows)
}

fn losses_at_contexts<A: Architecture>(cfg: &RunConfig, data: &Dataset, dir: &RunDir, mult: &[f64]) -> Result<Vec<ContextLoss>> {
    let device = Device::flex();
    let (model, _) = init_model::<A>(cfg, data.vocab_size(), &device);
    let model = load_weights(model, dir)?;
    let diagnostics = model.diagnostics();
    let mut out = Vec::new();
    for &m in mult {
        let t = (cfg.data.seq_len as f64 * m).round() as usize;
        if data.val.len() <= t {
            bail!("context {t} ({m}x) is longer than the validation split ({} tokens)", data.val.len());
        }
        out.push(ContextLoss { diagnostics: diagnostics.clone(), multiple: m, seq_len: t, val_loss: evaluate(&model, data, t, &device) });
    }
    Ok(out)
}
