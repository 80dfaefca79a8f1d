//! `normlab sweep merge DIR`: one Parquet table of every run under `DIR/runs/` (config
//! columns + final metrics + status), plus the long-format curves. Idempotent: the same run
//! directories always give the same files. A run whose records are unreadable is kept as a
//! row with status `damaged` and its `problem`, and named on stderr: never dropped silently.

use crate::record::{Branch, Metrics, RunDir, Status, Summary, read_parquet, write_parquet};
use anyhow::Result;
use polars::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub fn results_path(out: &Path) -> PathBuf {
    out.join("results.parquet")
}

pub fn curves_path(out: &Path) -> PathBuf {
    out.join("curves.parquet")
}

/// Every run directory (has a config.toml), sorted by id.
pub fn run_dirs(out: &Path) -> Vec<(String, RunDir)> {
    let mut v: Vec<(String, RunDir)> = std::fs::read_dir(out.join("runs"))
        .map(|it| {
            it.filter_map(|e| e.ok())
                .filter(|e| e.path().join("config.toml").exists())
                .map(|e| (e.file_name().to_string_lossy().to_string(), RunDir::new(e.path())))
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn flatten(t: &toml::Table, prefix: &str, out: &mut BTreeMap<String, toml::Value>) {
    for (k, v) in t {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::Table(inner) => flatten(inner, &key, out),
            other => {
                out.insert(key, other.clone());
            }
        }
    }
}

/// A results column, typed by the values it holds: integers Int64, booleans Boolean, strings
/// String; integers mixed with floats become Float64, anything else mixed becomes text.
enum Col {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Str(Vec<Option<String>>),
}

fn text(v: &toml::Value) -> String {
    v.as_str().map(|s| s.to_string()).unwrap_or_else(|| v.to_string())
}

impl Col {
    fn new(v: &toml::Value, n: usize) -> Self {
        match v {
            toml::Value::Integer(_) => Col::Int(vec![None; n]),
            toml::Value::Float(_) => Col::Float(vec![None; n]),
            toml::Value::Boolean(_) => Col::Bool(vec![None; n]),
            _ => Col::Str(vec![None; n]),
        }
    }

    fn set(&mut self, row: usize, v: toml::Value) {
        match (&mut *self, &v) {
            (Col::Int(c), toml::Value::Integer(i)) => c[row] = Some(*i),
            (Col::Float(c), toml::Value::Float(f)) => c[row] = Some(*f),
            (Col::Float(c), toml::Value::Integer(i)) => c[row] = Some(*i as f64),
            (Col::Bool(c), toml::Value::Boolean(b)) => c[row] = Some(*b),
            (Col::Str(c), _) => c[row] = Some(text(&v)),
            (Col::Int(c), toml::Value::Float(_)) => {
                *self = Col::Float(c.iter().map(|x| x.map(|x| x as f64)).collect());
                self.set(row, v);
            }
            _ => {
                *self = Col::Str(self.texts());
                self.set(row, v);
            }
        }
    }

    fn texts(&self) -> Vec<Option<String>> {
        match self {
            Col::Int(c) => c.iter().map(|x| x.map(|x| x.to_string())).collect(),
            Col::Float(c) => c.iter().map(|x| x.map(|x| x.to_string())).collect(),
            Col::Bool(c) => c.iter().map(|x| x.map(|x| x.to_string())).collect(),
            Col::Str(c) => c.clone(),
        }
    }

    fn into_column(self, name: String) -> Column {
        match self {
            Col::Int(v) => Column::new(name.into(), v),
            Col::Float(v) => Column::new(name.into(), v),
            Col::Bool(v) => Column::new(name.into(), v),
            Col::Str(v) => Column::new(name.into(), v),
        }
    }
}

/// A summary.json value as TOML (integers stay integers); None for nulls, arrays, objects.
fn json_value(v: &serde_json::Value) -> Option<toml::Value> {
    match v {
        serde_json::Value::Number(x) => Some(match x.as_i64() {
            Some(i) if !x.is_f64() => toml::Value::Integer(i),
            _ => toml::Value::Float(x.as_f64().unwrap_or(f64::NAN)),
        }),
        serde_json::Value::Bool(b) => Some(toml::Value::Boolean(*b)),
        serde_json::Value::String(s) => Some(toml::Value::String(s.clone())),
        _ => None,
    }
}

/// Build `results.parquet` and `curves.parquet`; returns the results frame.
pub fn merge(out: &Path) -> Result<DataFrame> {
    let runs = run_dirs(out);
    let summaries: Vec<Option<Summary>> = runs.iter().map(|(_, d)| d.read_summary()).collect();
    // A WSD run's cool-down branches are rows of their own (see `branch_summary`).
    let n = runs.len() + summaries.iter().flatten().map(|s| s.branches.len()).sum::<usize>();
    let mut cols: BTreeMap<String, Col> = BTreeMap::new();
    let put = |cols: &mut BTreeMap<String, Col>, row: usize, key: String, v: toml::Value| {
        cols.entry(key).or_insert_with(|| Col::new(&v, n)).set(row, v);
    };
    let mut ids = Vec::with_capacity(n);
    let mut statuses = Vec::with_capacity(n);
    let mut problems: Vec<Option<String>> = Vec::with_capacity(n);
    let mut branch_of: Vec<Option<String>> = Vec::with_capacity(n);
    let (mut c_run, mut c_step, mut c_tok, mut c_train, mut c_val) = (vec![], vec![], vec![], vec![], vec![]);
    let put_summary = |cols: &mut BTreeMap<String, Col>, row: usize, s: &Summary| -> Result<()> {
        let json = serde_json::to_value(s)?;
        for (k, v) in json.as_object().unwrap() {
            if k == "status" || k == "final_diagnostics" {
                continue;
            }
            if k == "provenance" {
                for (pk, pv) in v.as_object().into_iter().flatten() {
                    if let Some(tv) = json_value(pv) {
                        put(cols, row, format!("prov.{pk}"), tv);
                    }
                }
            } else if let Some(tv) = json_value(v) {
                put(cols, row, k.clone(), tv);
            }
        }
        for (k, v) in &s.final_diagnostics {
            put(cols, row, format!("diag.{k}"), toml::Value::Float(*v));
        }
        Ok(())
    };
    let mut row = 0usize;
    for ((id, dir), summary) in runs.iter().zip(&summaries) {
        let mut flat = BTreeMap::new();
        if let Ok(text) = std::fs::read_to_string(dir.config())
            && let Ok(t) = toml::from_str::<toml::Table>(&text)
        {
            flatten(&t, "", &mut flat);
        }
        let problem = crate::record::identity::damage(dir);
        if let Some(p) = &problem {
            eprintln!("warning: run {id} is damaged, its curve is not in curves.parquet (the next `normlab sweep` run redoes it): {p}");
        }
        let status = |s: &Summary| if problem.is_some() { "damaged".into() } else { format!("{:?}", s.status).to_lowercase() };
        ids.push(id.clone());
        branch_of.push(None);
        for (k, v) in &flat {
            put(&mut cols, row, format!("cfg.{k}"), v.clone());
        }
        match summary {
            Some(s) => {
                statuses.push(status(s));
                put_summary(&mut cols, row, s)?;
            }
            None if problem.is_some() => statuses.push("damaged".into()),
            None => statuses.push(if dir.checkpoint().exists() { "partial".into() } else { "pending".into() }),
        }
        problems.push(problem.clone());
        row += 1;
        let int = |k: &str| flat.get(k).and_then(|v| v.as_integer()).unwrap_or(0) as u64;
        let tokens_per_step = int("data.batch_size") * int("data.seq_len");
        for b in summary.iter().flat_map(|s| s.branches.iter().map(move |b| branch_summary(s, b, tokens_per_step))) {
            ids.push(format!("{id}@{}", b.steps));
            branch_of.push(Some(id.clone()));
            for (k, v) in &flat {
                let v = if k == "train.steps" { toml::Value::Integer(b.steps as i64) } else { v.clone() };
                put(&mut cols, row, format!("cfg.{k}"), v);
            }
            statuses.push(status(&b));
            put_summary(&mut cols, row, &b)?;
            problems.push(problem.clone());
            row += 1;
        }
        if dir.metrics().exists()
            && let Ok(m) = Metrics::read(&dir.metrics())
        {
            for i in 0..m.len() {
                c_run.push(id.clone());
                c_step.push(m.step[i]);
                c_tok.push(m.tokens[i]);
                c_train.push(m.train_loss[i]);
                c_val.push(m.val_loss[i]);
            }
        }
    }
    let mut columns = vec![
        Column::new("run_id".into(), &ids),
        Column::new("status".into(), &statuses),
        Column::new("problem".into(), &problems),
        Column::new("branch_of".into(), &branch_of),
    ];
    for (k, c) in cols {
        columns.push(c.into_column(k));
    }
    let mut df = DataFrame::new(n, columns)?;
    std::fs::create_dir_all(out)?;
    write_parquet(&results_path(out), &mut df)?;
    let m = c_run.len();
    let mut curves = DataFrame::new(
        m,
        vec![
            Column::new("run_id".into(), c_run),
            Column::new("step".into(), c_step),
            Column::new("tokens".into(), c_tok),
            Column::new("train_loss".into(), c_train),
            Column::new("val_loss".into(), c_val),
        ],
    )?;
    write_parquet(&curves_path(out), &mut curves)?;
    Ok(df)
}

/// A cool-down branch as the summary a separate WSD run of its length would have written: its
/// budget, losses and wall time; the trunk's step time, seed and provenance. The trunk's end
/// diagnostics are not the branch's, so they are left out.
fn branch_summary(trunk: &Summary, b: &Branch, tokens_per_step: u64) -> Summary {
    Summary {
        status: if b.diverged { Status::Diverged } else { Status::Done },
        final_val_loss: b.final_val_loss,
        best_val_loss: b.final_val_loss,
        final_train_loss: b.final_train_loss,
        steps: b.steps,
        tokens: b.steps as u64 * tokens_per_step,
        wall_s: b.wall_s,
        diverged: b.diverged,
        diverged_at: if b.diverged { trunk.diverged_at.filter(|&d| d < b.steps) } else { None },
        final_diagnostics: Default::default(),
        branches: Vec::new(),
        ..trunk.clone()
    }
}

/// Counts by status, for `normlab sweep status`.
pub fn status_counts(out: &Path, planned: Option<usize>) -> BTreeMap<String, usize> {
    let mut c = BTreeMap::new();
    let runs = run_dirs(out);
    for (_, dir) in &runs {
        let s = match dir.read_summary() {
            _ if crate::record::identity::damage(dir).is_some() => "damaged".into(),
            Some(s) => format!("{:?}", s.status).to_lowercase(),
            None if dir.checkpoint().exists() => "partial".into(),
            None => "started".into(),
        };
        *c.entry(s).or_insert(0) += 1;
    }
    if let Some(p) = planned {
        c.insert("not started".into(), p.saturating_sub(runs.len()));
    }
    c
}

/// Runs whose records are unreadable, with why (for `normlab sweep status`).
pub fn damaged_runs(out: &Path) -> Vec<(String, String)> {
    run_dirs(out).into_iter().filter_map(|(id, d)| crate::record::identity::damage(&d).map(|p| (id, p))).collect()
}

pub fn read_results(out: &Path) -> Result<DataFrame> {
    read_parquet(&results_path(out))
}

/// (status, final val loss bits) per run id, read from the merged table.
pub fn final_losses(out: &Path) -> Result<BTreeMap<String, (String, Option<u64>)>> {
    let df = read_results(out)?;
    let ids = df.column("run_id")?.str()?.clone();
    let st = df.column("status")?.str()?.clone();
    let loss = match df.column("final_val_loss") {
        Ok(c) => c.cast(&DataType::Float64)?.f64()?.clone(),
        Err(_) => Float64Chunked::full_null("final_val_loss".into(), df.height()),
    };
    Ok((0..df.height())
        .map(|i| (ids.get(i).unwrap_or("").to_string(), (st.get(i).unwrap_or("").to_string(), loss.get(i).map(f64::to_bits))))
        .collect())
}
