//! The merged results table as typed rows, and the grouping every analysis shares: the group
//! keys are the config columns that vary across the sweep, other than the learning rate and
//! the seed, keeping only columns that split the runs further (so a warm-up that follows the
//! budget, or n_head that follows d_model, does not become a key of its own).

use anyhow::Result;
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

pub const LR: &str = "cfg.optim.lr";
pub const SEED: &str = "cfg.seed";
pub const ARCH: &str = "cfg.arch";
pub const WIDTH: &str = "cfg.model.d_model";
pub const DEPTH: &str = "cfg.model.n_layer";
pub const STEPS: &str = "cfg.train.steps";
pub const SEQ_LEN: &str = "cfg.data.seq_len";
/// The scaled axes of the LR-transfer protocol, in the order they are reported.
pub const AXES: [&str; 3] = [WIDTH, DEPTH, STEPS];

/// Never group keys (identify a run, not a setting).
const NOT_KEYS: [&str; 4] = [LR, SEED, "cfg.name", "cfg.data.cache_dir"];

/// The parameterization column: `cfg.param` (a string) or `cfg.param.name` (from a table).
pub fn param_column(df: &DataFrame) -> Option<&'static str> {
    ["cfg.param.name", "cfg.param"].into_iter().find(|c| df.column(c).map(|c| c.dtype() == &DataType::String).unwrap_or(false))
}

/// Short display name of a config column: cfg.model.d_model → d_model, cfg.param.name → param.
pub fn short_key(key: &str) -> String {
    match key {
        "cfg.param.name" | "cfg.param" => "param".into(),
        WIDTH => "d_model".into(),
        DEPTH => "n_layer".into(),
        STEPS => "steps".into(),
        SEQ_LEN => "seq_len".into(),
        k => {
            let k = k.strip_prefix("cfg.").unwrap_or(k);
            k.strip_prefix("model.norm.").or(k.strip_prefix("param.")).unwrap_or(k).to_string()
        }
    }
}

/// A cell as text: integers without ".0", other numbers in shortest form, null = "".
pub fn cell(c: &Column, i: usize) -> String {
    match c.dtype() {
        DataType::String => c.str().ok().and_then(|s| s.get(i)).unwrap_or("").to_string(),
        _ => match c.cast(&DataType::Float64).ok().and_then(|c| c.f64().ok().and_then(|f| f.get(i))) {
            Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
            Some(v) => format!("{v}"),
            None => String::new(),
        },
    }
}

fn preference(key: &str, param: Option<&str>) -> (u8, String) {
    let rank = if key == ARCH {
        0
    } else if Some(key) == param {
        1
    } else if key.starts_with("cfg.model.norm.") {
        2
    } else if key == WIDTH {
        3
    } else if key == DEPTH {
        4
    } else if key == STEPS {
        5
    } else if key == SEQ_LEN {
        6
    } else {
        7
    };
    (rank, key.to_string())
}

/// The group keys of a results table (see the module doc), in a stable order: arch, param,
/// architecture switches, width, depth, steps, context, then anything else.
pub fn group_keys(df: &DataFrame) -> Result<Vec<String>> {
    let param = param_column(df);
    let mut cands: Vec<(String, Vec<String>)> = Vec::new();
    for c in df.columns() {
        let name = c.name().as_str();
        if !name.starts_with("cfg.") || NOT_KEYS.contains(&name) {
            continue;
        }
        let vals: Vec<String> = (0..df.height()).map(|i| cell(c, i)).collect();
        let distinct: BTreeSet<&String> = vals.iter().filter(|v| !v.is_empty()).collect();
        // The architecture is always a key (labels and figures need it), even when constant.
        if distinct.len() > 1 || (name == ARCH && !distinct.is_empty()) {
            cands.push((name.to_string(), vals));
        }
    }
    cands.sort_by_key(|(k, _)| preference(k, param));
    let mut keys = Vec::new();
    let mut tuples: Vec<Vec<String>> = vec![Vec::new(); df.height()];
    let mut distinct = 1usize;
    for (k, vals) in cands {
        let next: Vec<Vec<String>> = tuples.iter().zip(&vals).map(|(t, v)| t.iter().cloned().chain([v.clone()]).collect()).collect();
        let n = next.iter().collect::<BTreeSet<_>>().len();
        if n > distinct || k == ARCH {
            keys.push(k);
            tuples = next;
            distinct = n;
        }
    }
    Ok(keys)
}

/// One row of the results table.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub id: String,
    pub status: String,
    /// Values of the group keys, in the order of `group_keys`.
    pub key: Vec<String>,
    pub arch: String,
    pub param: String,
    pub lr: f64,
    pub seed: f64,
    pub steps: f64,
    pub seq_len: f64,
    pub width: f64,
    pub depth: f64,
    /// Final validation loss; +∞ for diverged runs, NaN when missing.
    pub loss: f64,
    pub step_time_s: f64,
    /// Training FLOPs of one step (`flops_per_step`; NaN in tables of older builds).
    pub flops_per_step: f64,
    /// Tokens trained (`tokens`; a cool-down branch's own budget), NaN when missing.
    pub tokens: f64,
    /// `cfg.param.scale_horizon` (νGPT's m_data factor on), when recorded.
    pub scale_horizon: Option<bool>,
}

impl Run {
    /// A data point: finished or diverged (everything else is missing).
    pub fn is_data(&self) -> bool {
        self.status == "done" || self.status == "diverged"
    }
    pub fn get(&self, keys: &[String], key: &str) -> Option<&str> {
        keys.iter().position(|k| k == key).map(|i| self.key[i].as_str())
    }
}

/// Every row of `df` as a `Run`, with `keys` as the group keys.
pub fn runs(df: &DataFrame, keys: &[String]) -> Result<Vec<Run>> {
    let n = df.height();
    let f64_col = |name: &str| -> Vec<f64> {
        match df.column(name).ok().and_then(|c| c.cast(&DataType::Float64).ok()) {
            Some(c) => c.f64().map(|f| f.iter().map(|v| v.unwrap_or(f64::NAN)).collect()).unwrap_or_else(|_| vec![f64::NAN; n]),
            None => vec![f64::NAN; n],
        }
    };
    let str_col = |name: Option<&str>| -> Vec<String> {
        match name.and_then(|n| df.column(n).ok()) {
            Some(c) => (0..n).map(|i| cell(c, i)).collect(),
            None => vec![String::new(); n],
        }
    };
    let ids = str_col(Some("run_id"));
    let status = str_col(Some("status"));
    let arch = str_col(Some(ARCH));
    let param = str_col(param_column(df));
    let (lr, seed, steps, seq, width, depth) = (f64_col(LR), f64_col(SEED), f64_col(STEPS), f64_col(SEQ_LEN), f64_col(WIDTH), f64_col(DEPTH));
    let loss = f64_col("final_val_loss");
    let st = f64_col("step_time_s");
    let (flops, tokens) = (f64_col("flops_per_step"), f64_col("tokens"));
    let sh = f64_col("cfg.param.scale_horizon");
    let key_cols: Vec<Vec<String>> = keys.iter().map(|k| str_col(Some(k))).collect();
    Ok((0..n)
        .map(|i| Run {
            id: ids[i].clone(),
            status: status[i].clone(),
            key: key_cols.iter().map(|c| c[i].clone()).collect(),
            arch: arch[i].clone(),
            param: if param[i].is_empty() { "sp".into() } else { param[i].clone() },
            lr: lr[i],
            seed: seed[i],
            steps: steps[i],
            seq_len: seq[i],
            width: width[i],
            depth: depth[i],
            loss: if status[i] == "diverged" { f64::INFINITY } else { loss[i] },
            step_time_s: st[i],
            flops_per_step: flops[i],
            tokens: tokens[i],
            scale_horizon: if sh[i].is_nan() { None } else { Some(sh[i] != 0.0) },
        })
        .collect())
}

/// Counts of runs by status.
pub fn status_counts(runs: &[Run]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in runs {
        *m.entry(r.status.clone()).or_insert(0) += 1;
    }
    m
}

/// Is this value of a key a boolean flag (merge writes booleans as 0/1)?
fn is_flag(key: &str) -> bool {
    key.starts_with("cfg.model.norm.") || key == "cfg.param.scale_horizon"
}

/// A readable label for key values: "ngpt nugpt no_qk_norm d_model=64". Architecture and
/// parameterization appear as their names, set flags by name (unset flags are omitted),
/// everything else as short=value.
pub fn label(keys: &[String], values: &[String]) -> String {
    let mut parts = Vec::new();
    for (k, v) in keys.iter().zip(values) {
        if v.is_empty() {
            continue;
        }
        if k == ARCH || short_key(k) == "param" {
            parts.push(v.clone());
        } else if is_flag(k) && (v == "0" || v == "false") {
            continue;
        } else if is_flag(k) && (v == "1" || v == "true") {
            parts.push(short_key(k));
        } else {
            parts.push(format!("{}={}", short_key(k), v));
        }
    }
    if parts.is_empty() { "all runs".into() } else { parts.join(" ") }
}

/// Order key tuples naturally: numbers as numbers (32 < 128), text as text.
pub fn natural_cmp(a: &[String], b: &[String]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(p), Ok(q)) => p.partial_cmp(&q).unwrap_or(std::cmp::Ordering::Equal),
            _ => x.cmp(y),
        };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}
