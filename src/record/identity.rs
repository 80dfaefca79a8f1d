//! Which run a directory holds, and whether its records are intact: the config hash, the
//! refusal to train a different config into it, "already finished", and the check of a
//! finished run's records (a damaged one is moved aside and redone, never silently used).

use super::durable::{Manifest, sync_dir, verify_file};
use super::lock::RunLock;
use super::{Metrics, RunDir, Status, Summary};
use crate::config::RunConfig;
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;

/// sha256 of the canonical TOML of the resolved config, `name` excluded (a label, not an input).
pub fn config_hash(cfg: &RunConfig) -> String {
    let mut c = cfg.clone();
    c.name = String::new();
    crate::data::sha256_hex(c.to_toml().as_bytes())
}

fn flatten(v: &toml::Value, prefix: &str, out: &mut BTreeMap<String, String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                flatten(v, &if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// `key: there → here` for every key whose value differs (`name` ignored).
pub fn differing_keys(there: &RunConfig, here: &RunConfig) -> Vec<String> {
    let flat = |c: &RunConfig| {
        let mut m = BTreeMap::new();
        flatten(&toml::Value::try_from(c).expect("a RunConfig serializes"), "", &mut m);
        m.remove("name");
        m
    };
    let (a, b) = (flat(there), flat(here));
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let none = "(unset)".to_string();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}: {} → {}", a.get(k).unwrap_or(&none), b.get(k).unwrap_or(&none)))
        .collect()
}

/// Why a run's records cannot be used, if they cannot: a summary present must parse and
/// match `MANIFEST.json`; metrics must too, and a finished run must have them.
pub fn damage(dir: &RunDir) -> Option<String> {
    let summary = dir.summary();
    let mut finished = false;
    if summary.exists() {
        let read = verify_file(&summary).and_then(|_| {
            let text = std::fs::read_to_string(&summary)?;
            serde_json::from_str::<Summary>(&text).with_context(|| format!("{}: unreadable", summary.display()))
        });
        match read {
            Ok(s) => finished = matches!(s.status, Status::Done | Status::Diverged),
            Err(e) => return Some(format!("{e:#}")),
        }
    }
    if (finished || dir.metrics().exists())
        && let Err(e) = Metrics::read(&dir.metrics())
    {
        return Some(format!("{e:#}"));
    }
    None
}

/// What [`prepare`] found in the run directory.
pub enum Prepared {
    /// Train (from the checkpoint if one is there); `warnings` go into the summary.
    Train { lock: RunLock, warnings: Vec<String> },
    /// The same config finished here before: nothing to do.
    Finished(Box<Summary>),
}

/// Lock the run directory and decide what to do with it before anything is allocated:
/// refuse a different config (unless `force`), report a finished run, move damaged records
/// aside (into `damaged/`, so nothing is deleted unasked), or start over when forced.
pub fn prepare(cfg: &RunConfig, dir: &RunDir, force: bool) -> Result<Prepared> {
    let lock = RunLock::try_acquire(&dir.root)?;
    let mut warnings = Vec::new();
    let cfg_path = dir.config();
    if cfg_path.exists() && !force {
        let text = std::fs::read_to_string(&cfg_path).with_context(|| format!("reading {}", cfg_path.display()))?;
        let there = RunConfig::from_toml_str(&text, &cfg_path.display().to_string(), &[]).with_context(|| {
            format!("{} holds a config this version cannot read; use a new --out, or --force to start it over", dir.root.display())
        })?;
        let diff = differing_keys(&there, cfg);
        if !diff.is_empty() {
            bail!(
                "{} holds a run of a different config ({} key{} differ: {}); \
                 train into a new directory (--out, or omit --out for results/runs/<name>-<hash>/), \
                 or pass --force to start {} over from step 0 (its records are deleted)",
                dir.root.display(),
                diff.len(),
                if diff.len() == 1 { "" } else { "s" },
                diff.join("; "),
                dir.root.display()
            );
        }
    }
    if force {
        start_over(dir)?;
    } else if dir.summary().exists() {
        match damage(dir) {
            None => {
                let s = dir.read_summary().expect("checked readable");
                if matches!(s.status, Status::Done | Status::Diverged) {
                    return Ok(Prepared::Finished(Box::new(s)));
                }
            }
            Some(why) => {
                let moved = move_aside(dir)?;
                let w = format!("records of an earlier finish were damaged ({why}); moved {moved} to damaged/ and trained again");
                eprintln!("warning: {}: {w}", dir.root.display());
                warnings.push(w);
            }
        }
    }
    Ok(Prepared::Train { lock, warnings })
}

/// Move the run records (not the config, not checkpoints) into `damaged/`.
fn move_aside(dir: &RunDir) -> Result<String> {
    let dest = dir.root.join("damaged");
    std::fs::create_dir_all(&dest)?;
    let mut moved = Vec::new();
    for p in [dir.summary(), dir.metrics(), dir.weights(), dir.root.join(super::durable::MANIFEST)] {
        if p.exists() {
            let name = p.file_name().unwrap().to_owned();
            std::fs::rename(&p, dest.join(&name)).with_context(|| format!("moving {} aside", p.display()))?;
            moved.push(name.to_string_lossy().to_string());
        }
    }
    sync_dir(&dir.root)?;
    Ok(moved.join(", "))
}

/// `--force`: remove everything a run wrote, so it starts from step 0.
fn start_over(dir: &RunDir) -> Result<()> {
    for p in [dir.summary(), dir.metrics(), dir.weights(), dir.root.join(super::durable::MANIFEST), dir.root.join("eval.json")] {
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    for d in super::checkpoint_dirs(dir) {
        if d.exists() {
            std::fs::remove_dir_all(&d).with_context(|| format!("removing {}", d.display()))?;
        }
    }
    sync_dir(&dir.root)
}

/// After the final records are durable: seal them with a manifest, then drop the checkpoints.
/// The manifest goes first (it also lists the summary about to be written), so a crash in
/// between leaves an unfinished run that resumes, never a finished one without checksums.
pub fn finish(dir: &RunDir, summary: &Summary) -> Result<()> {
    let summary_bytes = serde_json::to_string_pretty(summary)?;
    let mut m = Manifest::of_files(&dir.root, &["config.toml", "metrics.parquet"])?;
    if dir.weights().exists() {
        m.files.insert("model.safetensors".into(), super::durable::entry_of(&dir.weights())?);
    }
    m.files.insert("summary.json".into(), super::durable::entry_of_bytes(summary_bytes.as_bytes()));
    m.write(&dir.root)?;
    super::durable::write_atomic(&dir.summary(), summary_bytes.as_bytes())?;
    for d in super::checkpoint_dirs(dir) {
        if d.exists() {
            std::fs::remove_dir_all(&d).with_context(|| format!("removing {}", d.display()))?;
        }
    }
    sync_dir(&dir.root)
}
