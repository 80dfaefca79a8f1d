//! Resumable checkpoints: model + optimizer + state in a directory sealed by a manifest, the
//! newest two kept (`checkpoint/`, `checkpoint.prev/`), so a torn or corrupt newest one
//! falls back to the previous, and with neither the run restarts from step 0, each time with
//! a warning the summary records.

use super::optim::Optimizer;
use crate::model::Architecture;
use crate::record::durable::{Manifest, explain, sync_dir, sync_file, write_atomic};
use crate::record::{RunDir, checkpoint_dirs};
use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const FILES: [&str; 3] = ["model.bpk", "optim.bpk", "state.json"];

/// Resume state stored next to the burnpack files.
#[derive(Clone, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Number of completed steps.
    pub step: usize,
    pub wall_s: f64,
    pub step_times: Vec<f64>,
    /// The config it was trained with (identity::config_hash); absent in older checkpoints.
    #[serde(default)]
    pub config_hash: Option<String>,
    /// Cool-down branches finished before this step.
    #[serde(default)]
    pub branches: Vec<crate::record::Branch>,
}

/// Write `checkpoint.new/`, seal it with its manifest, then rotate it in: the newest becomes
/// `checkpoint.prev/`. A failed write (a full disk) removes the partial directory and leaves
/// both earlier checkpoints as they were.
pub fn save<A: Architecture>(dir: &RunDir, model: &A, optim: &Optimizer, state: &CheckpointState) -> Result<()> {
    let new = dir.root.join("checkpoint.new");
    let write = || -> Result<()> {
        if new.exists() {
            std::fs::remove_dir_all(&new)?;
        }
        std::fs::create_dir_all(&new)?;
        model.clone().save_file(new.join("model.bpk")).map_err(|e| anyhow!("saving checkpoint model: {e:?}"))?;
        optim.inner.save(new.join("optim.bpk")).map_err(|e| anyhow!("saving checkpoint optimizer: {e:?}"))?;
        write_atomic(&new.join("state.json"), serde_json::to_string(state)?.as_bytes())?;
        for f in &FILES[..2] {
            sync_file(&new.join(f))?;
        }
        Manifest::of_files(&new, &FILES)?.write(&new)
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_dir_all(&new);
        return Err(explain(e, &new));
    }
    let (cur, prev) = (dir.checkpoint(), dir.checkpoint_prev());
    if cur.exists() {
        if prev.exists() {
            std::fs::remove_dir_all(&prev).with_context(|| format!("removing {}", prev.display()))?;
        }
        std::fs::rename(&cur, &prev).with_context(|| format!("renaming {} → {}", cur.display(), prev.display()))?;
    }
    std::fs::rename(&new, &cur).with_context(|| format!("renaming {} → {}", new.display(), cur.display()))?;
    sync_dir(&dir.root)
}

/// Why `path` is not a usable checkpoint, if it is not. `checkpoint.new/` needs its manifest
/// (it is only complete once sealed); older layouts without one are checked by parsing.
fn check(path: &Path, hash: &str) -> Result<CheckpointState> {
    match Manifest::read(path)? {
        Some(m) => m.verify(path)?,
        None if path.ends_with("checkpoint.new") => {
            anyhow::bail!("{}: no manifest (a write was cut short)", path.display())
        }
        None => {}
    }
    let file = path.join("state.json");
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let state: CheckpointState = serde_json::from_str(&text).with_context(|| format!("{}: unreadable", file.display()))?;
    if let Some(h) = &state.config_hash
        && h != hash
    {
        anyhow::bail!("{}: saved by a different config (hash {})", path.display(), &h[..8.min(h.len())]);
    }
    Ok(state)
}

/// Usable checkpoints, newest step first; each rejected one adds a warning.
pub fn candidates(dir: &RunDir, hash: &str, warnings: &mut Vec<String>) -> Vec<(PathBuf, CheckpointState)> {
    let mut ok = Vec::new();
    for path in checkpoint_dirs(dir) {
        if !path.exists() {
            continue;
        }
        match check(&path, hash) {
            Ok(state) => ok.push((path, state)),
            Err(e) => warn(warnings, format!("checkpoint skipped: {e:#}")),
        }
    }
    ok.sort_by_key(|c| std::cmp::Reverse(c.1.step));
    ok
}

pub fn warn(warnings: &mut Vec<String>, w: String) {
    eprintln!("warning: {w}");
    warnings.push(w);
}

/// Load a checkpoint into a freshly initialized model (restored parameters keep their saved
/// ids, so the optimizer, keyed by id, is built after loading).
pub fn load<A: Architecture>(model: A, path: &Path, build: impl FnOnce(&A) -> Optimizer) -> Result<(A, Optimizer)> {
    let file = path.join("model.bpk");
    let model = model.try_load_file(&file).map_err(|e| anyhow!("loading {}: {e:?}", file.display()))?;
    let mut optim = build(&model);
    let file = path.join("optim.bpk");
    optim.inner = optim.inner.load(&file).map_err(|e| anyhow!("loading {}: {e:?}", file.display()))?;
    Ok((model, optim))
}
