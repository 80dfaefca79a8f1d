//! `report.html`: one self-contained interactive page per sweep — plotly.js embedded, the
//! plots' traces built in Rust as JSON (`html/`, so tests check them without a browser) and
//! drawn by a few lines of page script (`html.js`). No network at view time.
//!
//! Top to bottom: the verdicts (`Header`), a warning when the runs come from several builds,
//! the transfer panels (one per family: final loss vs LR per size, η* with its interval),
//! η* against each swept axis, the steps-to-loss speedup S, the validation and training loss
//! grouped by config (seed mean and band, with a family / size / LR filter), and the run
//! table (sortable by any column). Intervals are optional everywhere: error bars appear only
//! where an interval exists.

use super::{Analysis, Header, NO_VERDICT, VerdictLine};
use crate::analysis::runs::Run;
use crate::plot::fmt_num;
use crate::record::read_parquet;
use anyhow::{Context, Result};
use polars::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

mod curves;
mod panels;
mod plots;

const PLOTLY_JS: &str = include_str!("../../assets/plotly.min.js");
const PAGE_JS: &str = include_str!("html.js");
/// A training-loss curve keeps at most this many points (every k-th step and the last): the
/// page stays small for long runs, and the shape survives.
pub const MAX_TRAIN_POINTS: usize = 400;

// ---------------------------------------------------------------------------------------------
// Page data

/// One plot: a div `plot-<id>` drawn with `Plotly.newPlot(div, traces, layout)`.
#[derive(Clone, Debug, Serialize)]
pub struct Plot {
    pub id: String,
    pub title: String,
    pub traces: Vec<Value>,
    pub layout: Value,
    /// Subplots (the transfer panels: one per family); 0 for a single plot.
    pub panels: usize,
    /// The page's family / size / LR filter applies (traces carry them in `meta`).
    pub filterable: bool,
}

/// One row of the run table.
#[derive(Clone, Debug, Serialize)]
pub struct RunRow {
    pub id: String,
    pub status: String,
    pub config: String,
    pub lr: Option<f64>,
    pub seed: Option<f64>,
    pub final_val_loss: Option<f64>,
    pub diverged_at: Option<u64>,
    pub error: Option<String>,
    /// The build that trained it ("14263c3", "14263c3+dirty"), when recorded.
    pub build: Option<String>,
}

/// Everything the page shows, embedded as JSON (the verdicts and the build warning are also
/// written into the HTML itself, so they show without script).
#[derive(Clone, Debug, Serialize)]
pub struct Page {
    pub title: String,
    pub verdicts: Vec<VerdictLine>,
    /// Set when the finished runs come from more than one build.
    pub build_warning: Option<String>,
    pub status_counts: BTreeMap<String, usize>,
    /// Problems met while building the page (an unreadable curves table, ...), shown on top.
    pub notes: Vec<String>,
    pub plots: Vec<Plot>,
    pub runs: Vec<RunRow>,
}

/// Per-run extras from `results.parquet` that `Run` does not carry.
#[derive(Clone, Debug, Default)]
struct Extra {
    diverged_at: Option<u64>,
    error: Option<String>,
    build: Option<String>,
}

/// Per run id: (step, train loss) at every logged step and (step, val loss) at eval steps.
#[derive(Clone, Debug, Default)]
struct Curves {
    train: BTreeMap<String, Vec<(f64, f64)>>,
    val: BTreeMap<String, Vec<(f64, f64)>>,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// plotly renders a subset of HTML in hover text: user text (run ids, configs, error
/// messages) is escaped so it shows as typed.
fn hover_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn html_escape(s: &str) -> String {
    hover_escape(s).replace('"', "&quot;")
}

/// JSON that can sit inside `<script type="application/json">`: `<` only occurs inside JSON
/// strings, where `\u003c` is the same character, so no `</script>` or `<!--` survives.
pub fn script_safe_json<T: Serialize>(v: &T) -> Result<String> {
    Ok(serde_json::to_string(v)?.replace('<', "\\u003c"))
}

fn read_extras(dir: &Path) -> Result<BTreeMap<String, Extra>> {
    let path = crate::sweep::merge::results_path(dir);
    let df = read_parquet(&path)?;
    let ids = anyhow::Context::with_context(df.column("run_id"), || format!("{}: no run_id column", path.display()))?.str()?.clone();
    let div = match df.column("diverged_at") {
        Ok(c) => Some(c.cast(&DataType::Float64)?.f64()?.clone()),
        Err(_) => None,
    };
    let err = match df.column("error") {
        Ok(c) if c.dtype() == &DataType::String => Some(c.str()?.clone()),
        _ => None,
    };
    let commit = match df.column("prov.git_commit") {
        Ok(c) if c.dtype() == &DataType::String => Some(c.str()?.clone()),
        _ => None,
    };
    let dirty = match df.column("prov.git_dirty") {
        Ok(c) => Some(c.cast(&DataType::Boolean)?.bool()?.clone()),
        Err(_) => None,
    };
    let mut out = BTreeMap::new();
    for i in 0..df.height() {
        let Some(id) = ids.get(i) else { continue };
        let diverged_at = div.as_ref().and_then(|c| c.get(i)).filter(|x| x.is_finite() && *x >= 0.0).map(|x| x as u64);
        let error = err.as_ref().and_then(|c| c.get(i)).map(str::to_string);
        let build = commit
            .as_ref()
            .and_then(|c| c.get(i))
            .map(|c| crate::record::provenance::Build { commit: c.to_string(), dirty: dirty.as_ref().and_then(|d| d.get(i)) }.to_string());
        out.insert(id.to_string(), Extra { diverged_at, error, build });
    }
    Ok(out)
}

fn read_curves(path: &Path) -> Result<Curves> {
    let df = read_parquet(path)?;
    let ids = df.column("run_id")?.str()?.clone();
    let step = df.column("step")?.cast(&DataType::Float64)?;
    let train = df.column("train_loss")?.cast(&DataType::Float64)?;
    let val = df.column("val_loss")?.cast(&DataType::Float64)?;
    let (step, train, val) = (step.f64()?, train.f64()?, val.f64()?);
    let mut c = Curves::default();
    for i in 0..df.height() {
        let (Some(id), Some(s)) = (ids.get(i), step.get(i)) else {
            continue;
        };
        if let Some(t) = train.get(i).filter(|t| t.is_finite()) {
            c.train.entry(id.to_string()).or_default().push((s, t));
        }
        if let Some(v) = val.get(i).filter(|v| v.is_finite()) {
            c.val.entry(id.to_string()).or_default().push((s, v));
        }
    }
    Ok(c)
}

/// Every k-th point and the last, at most `max` in all.
fn thin(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max {
        return points.to_vec();
    }
    let k = points.len().div_ceil(max - 1);
    let mut v: Vec<(f64, f64)> = points.iter().step_by(k).cloned().collect();
    if v.last() != points.last() {
        v.push(*points.last().unwrap());
    }
    v
}

/// "diverged at step 120", "failed: <error>", "" for done runs.
fn status_note(r: &Run, e: &Extra) -> String {
    match r.status.as_str() {
        "done" => String::new(),
        "diverged" => match e.diverged_at {
            Some(s) => format!("diverged at step {s}"),
            None => "diverged".into(),
        },
        s => match &e.error {
            Some(err) => format!("{s}: {err}"),
            None => s.to_string(),
        },
    }
}

impl Analysis {
    fn config_of(&self, r: &Run) -> String {
        let mut parts = vec![crate::analysis::runs::label(&self.keys, &r.key)];
        if r.lr.is_finite() {
            parts.push(format!("lr={}", fmt_num(r.lr)));
        }
        if r.seed.is_finite() {
            parts.push(format!("seed={}", fmt_num(r.seed)));
        }
        parts.join(" ")
    }

    /// Hover text of one run: bold id, config, status note (escaped).
    fn run_hover(&self, r: &Run, e: &Extra) -> String {
        let note = status_note(r, e);
        let mut s = format!("<b>{}</b><br>{}", hover_escape(&r.id), hover_escape(&self.config_of(r)));
        if !note.is_empty() {
            s.push_str(&format!("<br><i>{}</i>", hover_escape(&note)));
        }
        s
    }

    /// The page's data: verdicts, plots, run table, status counts and notes.
    pub fn html_page(&self, header: &Header) -> Result<Page> {
        let mut notes = Vec::new();
        let extras = read_extras(&self.dir)?;
        let curves_path = crate::sweep::merge::curves_path(&self.dir);
        let curves = if curves_path.exists() {
            read_curves(&curves_path).unwrap_or_else(|e| {
                notes.push(format!("{} could not be read, so no training curves: {e:#}", curves_path.display()));
                Curves::default()
            })
        } else {
            Curves::default()
        };
        let mut plots: Vec<Plot> = Vec::new();
        plots.extend(self.panels_plot());
        plots.extend(self.eta_plots());
        plots.extend(self.speedup_plot());
        match &self.compute_ladder {
            Some(Ok(l)) => plots.extend(l.html_plots()),
            Some(Err(why)) => notes.push(format!("compute ladder refused: {why}")),
            None => {}
        }
        let val = ("val", "Validation loss per config: mean over seeds, band = the seeds' min–max (click a legend entry to toggle it)", "val loss");
        plots.extend(self.curve_plot(val, &curves.val, &extras));
        plots.extend(self.curve_plot(("train", "Training loss per config", "train loss"), &curves.train, &extras));
        let none = Extra::default();
        let runs = self
            .runs
            .iter()
            .map(|r| {
                let e = extras.get(&r.id).unwrap_or(&none);
                RunRow {
                    id: r.id.clone(),
                    status: r.status.clone(),
                    config: crate::analysis::runs::label(&self.keys, &r.key),
                    lr: finite(r.lr),
                    seed: finite(r.seed),
                    final_val_loss: finite(r.loss),
                    diverged_at: e.diverged_at,
                    error: e.error.clone(),
                    build: e.build.clone(),
                }
            })
            .collect();
        let title = self.dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| self.dir.display().to_string());
        Ok(Page {
            title,
            verdicts: header.verdicts.clone(),
            build_warning: header.build_warning(),
            status_counts: self.counts().0,
            notes,
            plots,
            runs,
        })
    }
}

/// The verdict block: one item per verdict, or the sentence saying none applies.
fn verdict_html(page: &Page) -> String {
    let mut h = String::from("<section id=\"verdicts\">\n<h2>Verdicts</h2>\n");
    if page.verdicts.is_empty() {
        h += &format!("<p class=\"no-verdict\">{}</p>\n", html_escape(NO_VERDICT));
    } else {
        h += "<ul>\n";
        for v in &page.verdicts {
            h += &format!(
                "<li class=\"verdict\"><b>{}: <span class=\"outcome\">{}</span></b><div class=\"rule\">Rule: {}</div><div class=\"evidence\">Evidence: {}</div>",
                html_escape(&v.title),
                html_escape(&v.outcome),
                html_escape(&v.rule),
                html_escape(&v.evidence)
            );
            if let Some(p) = &v.power {
                h += &format!("<div class=\"power\">Power: {}</div>", html_escape(p));
            }
            h += "</li>\n";
        }
        h += "</ul>\n";
    }
    h += "</section>\n";
    if let Some(w) = &page.build_warning {
        h += &format!("<p id=\"mixed-builds\" class=\"warning\"><b>Mixed builds:</b> {}</p>\n", html_escape(w));
    }
    h
}

/// The whole HTML document for `page`.
pub fn render(page: &Page) -> Result<String> {
    let data = script_safe_json(page)?;
    let title = html_escape(&format!("normlab report: {}", page.title));
    let head = verdict_html(page);
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n{head}<p id=\"summary\"></p>\n<div id=\"notes\"></div>\n\
         <main id=\"plots\"></main>\n<h2>Runs</h2>\n<p class=\"hint\">Click a column header to sort by it.</p>\n<table id=\"runs\"></table>\n\
         <script>{PLOTLY_JS}</script>\n<script id=\"normlab-data\" type=\"application/json\">{data}</script>\n<script>{PAGE_JS}</script>\n</body>\n</html>\n"
    ))
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}\
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}.note{background:#fff3cd;padding:.5em;border:1px solid #e0c36b}\
#verdicts{border:2px solid #4a6fa5;border-radius:4px;padding:.2em 1em .6em;background:#f4f7fb}#verdicts h2{margin-top:.4em}\
#verdicts ul{padding-left:1.2em;margin:.3em 0}.verdict{margin:.4em 0}.verdict .rule,.verdict .evidence,.verdict .power{font-size:.9em;color:#444}\
.warning{background:#fde2e2;border:1px solid #d66;padding:.5em}.hint{font-size:.85em;color:#666}\
.filter{margin:.3em 0 .6em;font-size:.9em}.filter label{margin-right:1em}\
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}th{cursor:pointer;background:#f3f3f3}\
tr.diverged td{background:#fde2e2}tr.failed td,tr.interrupted td,tr.partial td,tr.pending td,tr.damaged td{background:#eee;color:#666}";

/// Write `dir/report.html` for the analysed sweep; returns its path.
pub fn write_report_html(a: &Analysis, header: &Header) -> Result<std::path::PathBuf> {
    let page = a.html_page(header)?;
    let path = a.dir.join("report.html");
    crate::record::atomic_write(&path, render(&page)?.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn embedded_plotly_is_the_recorded_version_and_cannot_end_its_script_early() {
        assert!(PLOTLY_JS.starts_with("/**\n* plotly.js v4.1.2\n"), "{}", &PLOTLY_JS[..60]);
        assert_eq!(PLOTLY_JS.len(), 4_834_409);
        assert!(!PLOTLY_JS.to_ascii_lowercase().contains("</script"));
        assert!(!PAGE_JS.to_ascii_lowercase().contains("</script"));
    }

    #[test]
    fn json_in_a_script_element_keeps_its_strings_and_loses_every_angle_bracket() {
        let nasty = "</script><script>alert(1)</script><!--";
        let s = script_safe_json(&json!({ "id": nasty })).unwrap();
        assert!(!s.contains('<'), "{s}");
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["id"], nasty);
    }

    #[test]
    fn thinning_keeps_the_first_and_last_points_and_the_cap() {
        let pts: Vec<(f64, f64)> = (0..1001).map(|i| (i as f64, 1.0 / (1.0 + i as f64))).collect();
        let t = thin(&pts, 400);
        assert!(t.len() <= 400, "{}", t.len());
        assert_eq!((t[0], *t.last().unwrap()), (pts[0], pts[1000]));
        assert!(t.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(thin(&pts[..10], 400).len(), 10);
    }
}
