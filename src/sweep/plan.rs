//! Expand a sweep into an ordered, deterministic list of fully resolved runs. A run id is a
//! short hash of the canonical TOML of its resolved config (name excluded), so the same point
//! of any sweep maps to the same directory on any machine.

use super::spec::{Axis, Sweep};
use crate::config::{RunConfig, set_dotted};
use crate::data::sha256_hex;
use anyhow::{Result, anyhow, bail};
use serde::Deserialize;

#[derive(Clone, Debug)]
pub struct PlannedRun {
    pub id: String,
    pub cfg: RunConfig,
    /// The values this run takes on the sweep's axes, in axis order.
    pub varying: Vec<(String, toml::Value)>,
    /// Estimated single-thread CPU seconds.
    pub cost_s: f64,
}

/// The vocabulary the plan's costs assume (the corpus is not read to plan; KJV has 73 characters).
pub const PLAN_VOCAB: usize = 96;

/// Training FLOPs of a run, cool-down branches included (`model::flops`, the one counter).
pub fn train_flops(cfg: &RunConfig) -> f64 {
    crate::model::flops::step_flops(cfg, PLAN_VOCAB).total() * cfg.optimizer_steps() as f64
}

/// Effective single-thread training rate of the flex backend at tiny widths (measured on the
/// 2-core CI machine class; used only for ETAs and shard balance).
pub const FLOPS_PER_THREAD: f64 = 3.0e10;

pub fn run_id(cfg: &RunConfig) -> String {
    let mut c = cfg.clone();
    c.name = String::new();
    sha256_hex(c.to_toml().as_bytes())[..12].to_string()
}

fn get_dotted<'a>(t: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let mut cur = t;
    let parts: Vec<&str> = key.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        cur = cur.get(*p)?.as_table()?;
    }
    cur.get(parts[parts.len() - 1])
}

fn same_value(a: &toml::Value, b: &toml::Value) -> bool {
    match (a.as_float().or(a.as_integer().map(|i| i as f64)), b.as_float().or(b.as_integer().map(|i| i as f64))) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// All points of the sweep, in order: grid axes (first slowest), zip groups, seeds.
pub fn plan(s: &Sweep) -> Result<Vec<PlannedRun>> {
    let origin = s.path.display().to_string();
    // Each "dimension" is a list of assignments: a grid axis is one key, a zip group several.
    let mut dims: Vec<Vec<Vec<(String, toml::Value)>>> = Vec::new();
    for a in &s.grid {
        dims.push(a.values.iter().map(|v| vec![(a.key.clone(), v.clone())]).collect());
    }
    for z in &s.zips {
        let n = z[0].values.len();
        dims.push((0..n).map(|i| z.iter().map(|a: &Axis| (a.key.clone(), a.values[i].clone())).collect()).collect());
    }
    if !s.file.sweep.seeds.is_empty() {
        dims.push(s.file.sweep.seeds.iter().map(|&sd| vec![("seed".to_string(), toml::Value::Integer(sd as i64))]).collect());
    }
    let mut combos: Vec<Vec<(String, toml::Value)>> = vec![vec![]];
    for d in &dims {
        combos = combos.into_iter().flat_map(|c| d.iter().map(move |a| [c.clone(), a.clone()].concat())).collect();
    }
    let mut out = Vec::with_capacity(combos.len());
    let mut seen = std::collections::HashSet::new();
    for combo in combos {
        let mut table = s.base.clone();
        for (k, v) in &combo {
            set_dotted(&mut table, k, v.clone())?;
        }
        let describe = || combo.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ");
        let resolve = |t: &toml::Table| -> Result<RunConfig> {
            let cfg = RunConfig::deserialize(toml::Value::Table(t.clone())).map_err(|e| anyhow!("{origin}: run [{}]: {e}", describe()))?;
            cfg.validate().map_err(|e| anyhow!("{origin}: run [{}]: {e}", describe()))?;
            Ok(cfg)
        };
        let resolved: toml::Table = toml::from_str(&resolve(&table)?.to_toml())?;
        for w in &s.file.when {
            let mut flat = Vec::new();
            flatten(&w.matches, "", &mut flat);
            if flat.iter().all(|(k, v)| get_dotted(&resolved, k).is_some_and(|x| same_value(x, v))) {
                let mut sets = Vec::new();
                flatten(&w.set, "", &mut sets);
                for (k, v) in sets {
                    set_dotted(&mut table, &k, v)?;
                }
            }
        }
        let mut cfg = resolve(&table)?;
        let id = run_id(&cfg);
        if !seen.insert(id.clone()) {
            continue; // two grid points resolved to the same config (e.g. an override erased an axis)
        }
        cfg.name = format!("{}-{id}", s.name());
        let cost_s = train_flops(&cfg) / FLOPS_PER_THREAD;
        out.push(PlannedRun { id, cfg, varying: combo, cost_s });
    }
    if out.is_empty() {
        bail!("{origin}: the sweep expands to no runs");
    }
    Ok(out)
}

fn flatten(t: &toml::Table, prefix: &str, out: &mut Vec<(String, toml::Value)>) {
    for (k, v) in t {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::Table(inner) => flatten(inner, &key, out),
            other => out.push((key, other.clone())),
        }
    }
}

/// A deterministic, cost-balanced shard: runs sorted by cost (then id) go greedily to the
/// least-loaded shard; returns the runs of shard `index` in plan order.
pub fn shard(runs: &[PlannedRun], index: usize, count: usize) -> Vec<PlannedRun> {
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| runs[b].cost_s.partial_cmp(&runs[a].cost_s).unwrap().then(runs[a].id.cmp(&runs[b].id)));
    let mut load = vec![0.0f64; count];
    let mut owner = vec![0usize; runs.len()];
    for i in order {
        let s = (0..count).min_by(|&a, &b| load[a].partial_cmp(&load[b]).unwrap().then(a.cmp(&b))).unwrap();
        load[s] += runs[i].cost_s.max(1e-9);
        owner[i] = s;
    }
    runs.iter().enumerate().filter(|(i, _)| owner[*i] == index).map(|(_, r)| r.clone()).collect()
}

/// Parse `i/n` (0-based) or `auto` (SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT).
pub fn parse_shard(spec: &str) -> Result<(usize, usize)> {
    if spec == "auto" {
        let get = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<usize>().ok());
        let (Some(id), Some(count)) = (get("SLURM_ARRAY_TASK_ID"), get("SLURM_ARRAY_TASK_COUNT")) else {
            bail!("--shard auto: SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT are not set (not inside a Slurm job array?); use --shard i/n");
        };
        let min = get("SLURM_ARRAY_TASK_MIN").unwrap_or(0);
        return check_shard(id - min, count, spec);
    }
    let (i, n) = spec.split_once('/').ok_or_else(|| anyhow!("--shard {spec}: expected i/n (0-based, e.g. 0/4) or auto"))?;
    let i: usize = i.trim().parse().map_err(|_| anyhow!("--shard {spec}: `{i}` is not a shard index"))?;
    let n: usize = n.trim().parse().map_err(|_| anyhow!("--shard {spec}: `{n}` is not a shard count"))?;
    check_shard(i, n, spec)
}

fn check_shard(i: usize, n: usize, spec: &str) -> Result<(usize, usize)> {
    if n == 0 {
        bail!("--shard {spec}: the shard count must be ≥ 1");
    }
    if i >= n {
        bail!("--shard {spec}: index {i} is out of range for {n} shards (0-based: expected 0 ≤ i < {n})");
    }
    Ok((i, n))
}
