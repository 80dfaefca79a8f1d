//! Sweep files (`sweeps/*.toml`): a base experiment plus axes that expand into runs.
//!
//! ```toml
//! [sweep]
//! name = "lr-transfer"
//! base = "experiments/gpt-tiny.toml"   # optional; `[base]` below is merged over it
//! seeds = [1337]
//! [base]                               # inline overrides of the base experiment
//! train = { steps = 300 }
//! [grid]                               # cartesian product; nested tables are dotted keys
//! arch = ["gpt", "ngpt"]
//! optim.lr = { log = [1e-4, 3e-2], n = 11 }   # or { linear = [a, b], n = N }, or a list
//! [[zip]]                              # axes that move together (equal lengths)
//! model.d_model = [32, 64, 128]
//! model.n_head = [2, 4, 8]
//! [[when]]                             # conditional overrides, applied in order
//! match = { arch = "ngpt" }
//! set = { optim.warmup_steps = 0, optim.weight_decay = 0.0 }
//! ```

use crate::config::{apply_override, parse_value};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    pub sweep: SweepHeader,
    /// Inline base config (merged over `sweep.base` when both are given).
    #[serde(default)]
    pub base: toml::Table,
    /// Cartesian axes.
    #[serde(default)]
    pub grid: toml::Table,
    /// Groups of axes that move together.
    #[serde(default)]
    pub zip: Vec<toml::Table>,
    /// Conditional overrides.
    #[serde(default)]
    pub when: Vec<When>,
    /// Adaptive η* search after the grid (sweep::refine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refine: Option<Refine>,
    /// Tolerances of the transfer verdict, declared before the data (analysis::transfer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferSpec>,
}

/// `[transfer]`: `regret_tol` (a fraction of the best loss) and `slope_tol` (|exponent| of η*
/// along the swept axis); both required when the table is given, the defaults of
/// `analysis::transfer::DEFAULT_TOLERANCES` apply when it is not.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TransferSpec {
    pub regret_tol: f64,
    pub slope_tol: f64,
}

impl TransferSpec {
    pub fn validate(&self, origin: &str) -> Result<()> {
        for (field, v, what) in
            [("regret_tol", self.regret_tol, "a fraction of the best loss, e.g. 0.01"), ("slope_tol", self.slope_tol, "an exponent, e.g. 0.15")]
        {
            if !(v.is_finite() && v >= 0.0) {
                bail!("{origin}: `transfer.{field}` = {v}: expected a finite number ≥ 0 ({what})");
            }
        }
        Ok(())
    }

    pub fn tolerances(&self) -> crate::analysis::transfer::Tolerances {
        crate::analysis::transfer::Tolerances { regret_tol: self.regret_tol, slope_tol: self.slope_tol }
    }
}

/// `[refine]`: the adaptive η* search after the grid (sweep::refine runs it).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Refine {
    /// Target width of the η* interval as a factor hi/lo (> 1).
    pub target: f64,
    /// Most refine runs in all rounds together.
    pub budget: usize,
    /// New LRs per group per round.
    #[serde(default = "default_points")]
    pub points: usize,
    /// Seeds of every new LR (default: the sweep's seeds).
    #[serde(default)]
    pub seeds: Vec<u64>,
    #[serde(default = "default_rounds")]
    pub rounds: usize,
}

fn default_points() -> usize {
    2
}
fn default_rounds() -> usize {
    3
}

impl Refine {
    /// Check the table against the sweep's own seeds; the error names the file and field.
    pub fn validate(&self, origin: &str, sweep_seeds: &[u64]) -> Result<Vec<u64>> {
        if self.target.is_nan() || self.target <= 1.0 {
            bail!("{origin}: `refine.target` = {}: expected a factor hi/lo > 1 (e.g. 1.5)", self.target);
        }
        if self.points == 0 || self.rounds == 0 {
            bail!("{origin}: `refine.points` and `refine.rounds` must be ≥ 1");
        }
        let seeds = if self.seeds.is_empty() { sweep_seeds.to_vec() } else { self.seeds.clone() };
        if seeds.len() < 2 {
            bail!(
                "{origin}: `refine.seeds` (or `sweep.seeds`) has {} seed(s): an η* interval needs ≥ 2 seeds, so refine could never meet its target",
                seeds.len()
            );
        }
        Ok(seeds)
    }
}

/// The tolerances `DIR/sweep.toml` declared when the sweep started (the copy every start
/// writes), or `None` when it declares none or cannot be read.
pub fn declared_transfer(dir: &Path) -> Option<TransferSpec> {
    let text = std::fs::read_to_string(dir.join("sweep.toml")).ok()?;
    toml::from_str::<SweepFile>(&text).ok()?.transfer
}

/// A tolerance chosen after seeing the data is not a tolerance: once `finished_runs` > 0, the
/// `[transfer]` table may not differ from the one the output directory's first start declared.
pub fn refuse_changed_tolerances(out: &Path, file: &SweepFile, origin: &str, finished_runs: usize) -> Result<()> {
    if finished_runs == 0 || !out.join("sweep.toml").exists() {
        return Ok(());
    }
    let declared = declared_transfer(out);
    if declared != file.transfer {
        let show = |t: Option<TransferSpec>| match t {
            Some(t) => format!("regret_tol = {}, slope_tol = {}", t.regret_tol, t.slope_tol),
            None => "none (the defaults)".into(),
        };
        bail!(
            "{origin}: `[transfer]` ({}) differs from the tolerances {} declared before its {finished_runs} finished run(s) ({}): a tolerance chosen after the data is not a tolerance. Restore them, or start the sweep over in a new --out",
            show(file.transfer),
            out.join("sweep.toml").display(),
            show(declared)
        );
    }
    Ok(())
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SweepHeader {
    pub name: String,
    /// What the sweep reproduces (free text, shown by `sweep plan`).
    #[serde(default)]
    pub description: String,
    /// Path of a base experiment, relative to the working directory (or to the sweep file).
    #[serde(default)]
    pub base: Option<PathBuf>,
    /// Seeds axis (default: the base config's seed).
    #[serde(default)]
    pub seeds: Vec<u64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    #[serde(rename = "match")]
    pub matches: toml::Table,
    pub set: toml::Table,
}

/// One expanded axis: a dotted config key and its values.
#[derive(Clone, Debug)]
pub struct Axis {
    pub key: String,
    pub values: Vec<toml::Value>,
}

/// A parsed sweep with its origin (for messages) and the base config table.
#[derive(Clone, Debug)]
pub struct Sweep {
    pub path: PathBuf,
    pub file: SweepFile,
    pub base: toml::Table,
    pub grid: Vec<Axis>,
    pub zips: Vec<Vec<Axis>>,
}

/// `NAME.toml` resolves to `sweeps/NAME.toml` when the path itself does not exist.
pub fn resolve_path(p: &Path) -> PathBuf {
    if p.exists() {
        return p.to_path_buf();
    }
    let in_sweeps = Path::new("sweeps").join(p);
    if in_sweeps.exists() { in_sweeps } else { p.to_path_buf() }
}

impl Sweep {
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let path = resolve_path(path);
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(&path).with_context(|| format!("{origin}: cannot read sweep file"))?;
        let file: SweepFile = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        let file = if overrides.is_empty() {
            file
        } else {
            let mut table: toml::Table = toml::from_str(&text)?;
            for ov in overrides {
                apply_override(&mut table, ov)?;
            }
            SweepFile::deserialize(toml::Value::Table(table)).map_err(|e| anyhow::anyhow!("{origin} with --set: {e}"))?
        };
        Self::from_file(path, file, &text)
    }

    fn from_file(path: PathBuf, file: SweepFile, text: &str) -> Result<Self> {
        let origin = path.display().to_string();
        let mut base = match &file.sweep.base {
            Some(b) => {
                let candidates = [b.clone(), path.parent().unwrap_or(Path::new(".")).join(b)];
                let found = candidates
                    .iter()
                    .find(|c| c.exists())
                    .with_context(|| format!("{origin}: `sweep.base` = \"{}\": experiment file not found", b.display()))?;
                let t = std::fs::read_to_string(found)?;
                toml::from_str::<toml::Table>(&t).map_err(|e| anyhow::anyhow!("{}: {e}", found.display()))?
            }
            None => toml::Table::new(),
        };
        merge(&mut base, &file.base);
        let grid = axes(&file.grid, "grid", &origin, text)?;
        let mut zips = Vec::new();
        for (i, z) in file.zip.iter().enumerate() {
            let group = axes(z, &format!("zip[{i}]"), &origin, text)?;
            let lens: Vec<usize> = group.iter().map(|a| a.values.len()).collect();
            if lens.windows(2).any(|w| w[0] != w[1]) {
                let desc: Vec<String> = group.iter().map(|a| format!("{} has {}", a.key, a.values.len())).collect();
                bail!("{origin}: `[[zip]]` #{i}: zipped axes must have equal lengths, but {}", desc.join(", "));
            }
            zips.push(group);
        }
        for (i, w) in file.when.iter().enumerate() {
            if w.matches.is_empty() {
                bail!("{origin}: `[[when]]` #{i}: `match` is empty (expected e.g. match = {{ arch = \"ngpt\" }})");
            }
        }
        if let Some(r) = &file.refine {
            r.validate(&origin, &file.sweep.seeds)?;
        }
        if let Some(t) = &file.transfer {
            t.validate(&origin)?;
        }
        Ok(Self { path, file, base, grid, zips })
    }

    pub fn name(&self) -> &str {
        &self.file.sweep.name
    }
}

/// Recursively merge `over` into `base` (tables merge, other values replace).
pub fn merge(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Flatten a grid table into axes: nested tables are namespaces, except range specs.
fn axes(table: &toml::Table, section: &str, origin: &str, text: &str) -> Result<Vec<Axis>> {
    let mut out = Vec::new();
    flatten_axes(table, "", section, origin, text, &mut out)?;
    Ok(out)
}

fn flatten_axes(t: &toml::Table, prefix: &str, section: &str, origin: &str, text: &str, out: &mut Vec<Axis>) -> Result<()> {
    for (k, v) in t {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        let loc = || match crate::config::key_line(text, k) {
            Some(l) => format!("{origin}:{l}"),
            None => origin.to_string(),
        };
        let values = match v {
            toml::Value::Array(a) => a.clone(),
            toml::Value::Table(r) if r.contains_key("log") || r.contains_key("linear") => {
                range(r).map_err(|e| anyhow::anyhow!("{}: `{section}.{key}`: {e}", loc()))?
            }
            toml::Value::Table(inner) => {
                flatten_axes(inner, &key, section, origin, text, out)?;
                continue;
            }
            other => vec![other.clone()],
        };
        if values.is_empty() {
            bail!("{}: `{section}.{key}` is an empty axis (expected at least one value)", loc());
        }
        out.push(Axis { key, values });
    }
    Ok(())
}

/// `{ log = [a, b], n = N }` (geometric) or `{ linear = [a, b], n = N }`.
fn range(r: &toml::Table) -> Result<Vec<toml::Value>> {
    let n = r.get("n").and_then(|v| v.as_integer()).ok_or_else(|| anyhow::anyhow!("expected `n = <points>` in a range"))?;
    if n < 1 {
        bail!("expected n ≥ 1 points, got {n}");
    }
    let n = n as usize;
    let (kind, ends) = if let Some(v) = r.get("log") { ("log", v) } else { ("linear", &r["linear"]) };
    let ends: Vec<f64> = ends
        .as_array()
        .filter(|a| a.len() == 2)
        .and_then(|a| a.iter().map(|x| x.as_float().or(x.as_integer().map(|i| i as f64))).collect())
        .ok_or_else(|| anyhow::anyhow!("expected `{kind} = [start, end]` with two numbers"))?;
    let (a, b) = (ends[0], ends[1]);
    if kind == "log" && (a <= 0.0 || b <= 0.0) {
        bail!("log range needs positive ends, got [{a}, {b}]");
    }
    let f = |i: usize| -> f64 {
        let t = if n == 1 { 0.0 } else { i as f64 / (n - 1) as f64 };
        if kind == "log" { (a.ln() + t * (b.ln() - a.ln())).exp() } else { a + t * (b - a) }
    };
    // Round to 4 significant digits so run ids are stable and values readable.
    Ok((0..n).map(|i| toml::Value::Float(round_sig(f(i), 4))).collect())
}

pub fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    let p = digits - 1 - x.abs().log10().floor() as i32;
    let m = 10f64.powi(p);
    (x * m).round() / m
}

/// Parse `KEY=VALUE` into a (dotted key, TOML value) pair.
pub fn kv(s: &str) -> Result<(String, toml::Value)> {
    let (k, v) = s.split_once('=').ok_or_else(|| anyhow::anyhow!("expected KEY=VALUE, got `{s}`"))?;
    Ok((k.trim().to_string(), parse_value(v.trim())))
}
