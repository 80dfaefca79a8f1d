//! `normlab report RESULTS_DIR` (also run at the end of a sweep): the merged table
//! (`results.parquet`, `curves.parquet`) → derived numbers (`report.csv`, `report.parquet`),
//! a markdown report with the papers' numbers beside ours (`report.md`), the plots
//! (`plots/*.png|svg`) and one self-contained interactive page (`report.html`).
//!
//! What is computed (docs/variants.md §8):
//! - **LR transfer**, when some group has ≥ 2 learning rates: η* per group (parabola in log LR;
//!   diverged runs count as +∞), the loss at η*, the seed spread; across each swept axis
//!   (width, depth, steps) the drift max η*/min η* and the log-log slope of η* (the horizon
//!   slope when the steps vary).
//! - **Steps-to-loss speedup**, when the budget (`cfg.train.steps`) varies and a reference
//!   architecture is present (GPT; GPT+ for anGPT): S = B_ref / B_var per budget and context,
//!   a bootstrap interval over seeds, and the wall-clock speedup S ÷ step-time ratio. With
//!   several LRs per budget, each budget uses its best LR (seed-mean final loss).
//! - **Ablation ladder**: final loss per variant at the largest common budget.
//! - **Compute ladder**, when sizes and budgets both vary: per variant the compute frontier and
//!   its fitted law L = E + A·C^(−α), the rollout check, and the compute multiplier M(L) over
//!   GPT (and anGPT's over GPT+) in FLOPs, steps, tokens and wall-clock (`compute_ladder.rs`).
//!
//! Runs that are not `done` or `diverged` (pending, partial, failed, interrupted) are not data:
//! they are counted as missing, so a partial sweep still gets a report.

mod charts;
mod compute_ladder;
mod compute_ladder_view;
mod derive;
mod derived;
mod header;
mod html;
pub mod multiplier_verdict;
mod outcome;
mod panels;
mod tables;
mod transfer;
pub mod verdict;

pub use charts::{Chart, save_charts};
pub use compute_ladder::{AxisFit, ComputeLadder, CostAxis, EXTRAPOLATE, Level, MIN_SIZES, Variant, VsReference};
pub use derived::{Derived, derived_frame, to_csv};
pub use header::{Header, NO_VERDICT, VerdictLine};
pub use html::{Page, Plot, RunRow, render as render_html, write_report_html};
pub use panels::{Panel, PanelLine, PanelOptimum, PanelPoint, Panels};
pub use tables::{md_table, slug};

use crate::analysis::bootstrap::{Interval, OptimumBoot, axis_intervals, gain_interval, optimum_boot, scaled, speedup_interval};
use crate::analysis::lr_optimum::LrOptimum;
use crate::analysis::runs::{self, ARCH, AXES, DEPTH, Run, SEQ_LEN, STEPS, WIDTH, group_keys, label, natural_cmp, short_key};
use crate::analysis::speedup::{self as sp, Reach, Speedup};
use crate::analysis::std;
use crate::analysis::transfer::{DEFAULT_TOLERANCES, Exponent, Regret, Tolerances, TransferOutcome};
use crate::param::Prediction;
use crate::plot::{Bar, BarChart, Grid, LineChart, Series, fmt_num};
use crate::record::{Metrics, read_parquet, write_parquet};
use anyhow::{Context, Result};
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// Seed-bootstrap draws and RNG seed of every interval (analysis::bootstrap).
pub const BOOTSTRAP_DRAWS: usize = crate::analysis::bootstrap::DRAWS;
pub const BOOTSTRAP_SEED: u64 = crate::analysis::bootstrap::RNG_SEED;
/// At most this many loss-curve charts per report (the rest are listed as skipped).
pub const MAX_CURVE_CHARTS: usize = 40;

// ---------------------------------------------------------------------------------------------
// Derived numbers

/// η* of one group (one LR curve).
#[derive(Clone, Debug)]
pub struct LrGroup {
    pub key: Vec<String>,
    pub label: String,
    pub arch: String,
    pub param: String,
    pub opt: Option<LrOptimum>,
    /// (lr, seed-mean final loss; +∞ if a seed diverged), sorted by lr.
    pub curve: Vec<(f64, f64)>,
    pub runs: usize,
    pub diverged_runs: usize,
    pub missing: usize,
    pub seeds: usize,
    /// 95% seed-bootstrap intervals of η* and of the loss at η*.
    pub eta_ci: Interval,
    pub loss_ci: Interval,
    pub boot: OptimumBoot,
    /// (seed, its (lr, final loss; +∞ diverged) points): the transfer statistics pair seeds
    /// by id across sizes.
    pub per_seed: Vec<(u64, Vec<(f64, f64)>)>,
}

/// η* across one swept axis for one family (the other keys fixed).
#[derive(Clone, Debug)]
pub struct Drift {
    pub axis: String,
    pub family: Vec<String>,
    pub label: String,
    pub arch: String,
    pub param: String,
    /// (axis value, η*, at grid edge, loss at η*), sorted by axis value.
    pub points: Vec<(f64, f64, bool, f64)>,
    pub drift: f64,
    pub drift_ci: Interval,
    pub slope: f64,
    pub slope_ci: Interval,
    /// η* interval per point (same order as `points`).
    pub eta_ci: Vec<Interval>,
    pub scale_horizon: Option<bool>,
    /// Does η* transfer along the axis: exponent, regrets, verdict (analysis::transfer).
    pub transfer: Transfer,
}

/// The transfer statistics of one family along one axis, judged by the sweep's tolerances.
#[derive(Clone, Debug)]
pub struct Transfer {
    pub exponent: Result<Exponent, String>,
    /// Named predictions of the exponent (param::claims); empty for an unknown parameterization.
    pub predictions: Vec<Prediction>,
    /// From the smallest size to each larger one.
    pub regrets: Vec<Regret>,
    /// Larger sizes without a regret, and why.
    pub regret_missing: Vec<(f64, String)>,
    pub outcome: TransferOutcome,
    /// What would decide an inconclusive outcome.
    pub power: Option<String>,
    /// η* the fitted law predicts at 10× the largest size: (size, η*, interval).
    pub extrapolation: Option<(f64, f64, Interval)>,
}

/// One steps-to-loss comparison.
#[derive(Clone, Debug)]
pub struct SpeedupRow {
    pub context: String,
    pub variant: String,
    pub var_arch: String,
    pub reference: String,
    pub ref_arch: String,
    pub seq_len: f64,
    pub s: Speedup,
    /// 95% seed-bootstrap interval of S, and the fraction of draws out of the budget range.
    pub ci: Interval,
    pub censored: f64,
    /// The interval of the wall-clock speedup (S's ÷ the step-time ratio).
    pub wall_ci: Interval,
    pub seeds: (usize, usize),
    /// median step time variant / reference.
    pub step_ratio: Option<f64>,
    pub wall: Option<f64>,
}

/// Final loss of one variant at one budget (the ablation ladder).
#[derive(Clone, Debug)]
pub struct LadderRow {
    pub context: String,
    pub variant: String,
    pub arch: String,
    pub flags: Vec<String>,
    pub seq_len: f64,
    pub budget: f64,
    pub loss: f64,
    pub std: Option<f64>,
    pub seeds: usize,
    /// 100·(L_first − L)/L_first against the first rung (over the seeds both ran).
    pub gain_pct: Option<f64>,
    /// Its 95% interval, seeds paired (`bootstrap::gain_interval`).
    pub gain_ci: Interval,
    /// (seed, final loss) of every seed.
    pub per_seed: Vec<(f64, f64)>,
}

/// Per (context, seq_len, variant): budget → lr → [(seed, loss)].
type BudgetTable = BTreeMap<u64, BTreeMap<u64, Vec<(f64, f64)>>>;
/// variant label → (arch, set switches, variant key values, budgets).
type Variants = BTreeMap<String, (String, Vec<String>, Vec<String>, BudgetTable)>;

struct Comparison {
    context: String,
    seq_len: f64,
    variants: Variants,
    step_times: BTreeMap<String, Vec<f64>>,
    run_ids: BTreeMap<String, Vec<(String, f64, f64)>>, // variant → (run id, steps, lr)
}

/// Everything `report` derives from a sweep directory; `figures` draws from it too.
pub struct Analysis {
    pub dir: PathBuf,
    pub keys: Vec<String>,
    pub runs: Vec<Run>,
    pub lr_sweep: bool,
    pub lr: Vec<LrGroup>,
    pub drifts: Vec<Drift>,
    pub speedups: Vec<SpeedupRow>,
    pub ladder: Vec<LadderRow>,
    /// The transfer tolerances and where they were declared.
    pub tolerances: Tolerances,
    pub tolerance_source: String,
    /// The compute ladder, when sizes and budgets both vary (`Err`: refused, with why).
    pub compute_ladder: Option<std::result::Result<ComputeLadder, String>>,
    comparisons: Vec<Comparison>,
    curves: BTreeMap<String, Vec<(f64, f64)>>,
}

/// What `report` returns: the main table to print and the files written.
#[derive(Clone, Debug)]
pub struct ReportSummary {
    /// The headline table (speedups if any, else η* per group, else the ladder).
    pub main_table: String,
    /// The whole report.md.
    pub markdown: String,
    pub report_md: PathBuf,
    pub report_csv: PathBuf,
    pub report_parquet: PathBuf,
    /// The interactive page (plotly embedded).
    pub report_html: PathBuf,
    /// PNGs written (each with an SVG beside it).
    pub plots: Vec<PathBuf>,
    /// Set when the finished runs come from more than one build.
    pub build_warning: Option<String>,
    pub runs: usize,
    pub missing: usize,
    pub derived_rows: usize,
}

impl fmt::Display for ReportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.main_table)?;
        writeln!(f, "{} runs ({} missing); {} derived numbers", self.runs, self.missing, self.derived_rows)?;
        if let Some(w) = &self.build_warning {
            writeln!(f, "warning: {w}")?;
        }
        writeln!(f, "wrote {}, {}, {}", self.report_md.display(), self.report_csv.display(), self.report_parquet.display())?;
        writeln!(f, "wrote {} (interactive, self-contained)", self.report_html.display())?;
        write!(
            f,
            "wrote {} plots (PNG + SVG) under {}",
            self.plots.len(),
            self.plots.first().and_then(|p| p.parent()).map(|p| p.display().to_string()).unwrap_or_else(|| "-".into())
        )
    }
}

/// `normlab report DIR`: read `DIR/results.parquet` (+ `curves.parquet`, run metrics) and
/// write `DIR/report.md`, `DIR/report.csv`, `DIR/report.parquet`, `DIR/report.html` and
/// `DIR/plots/*.png|svg`.
pub fn report(dir: &Path) -> Result<ReportSummary> {
    let a = Analysis::load(dir)?;
    let (charts, skipped) = a.all_charts();
    let plots_dir = dir.join("plots");
    let plots = save_charts(&charts, &plots_dir)?;
    let header = a.header()?;
    let md = a.markdown(&plots, skipped, &header);
    let report_md = dir.join("report.md");
    crate::record::atomic_write(&report_md, md.as_bytes())?;
    let rows = a.derived();
    let mut df = derived_frame(&rows)?;
    let report_csv = dir.join("report.csv");
    crate::record::atomic_write(&report_csv, to_csv(&df)?.as_bytes())?;
    let report_parquet = dir.join("report.parquet");
    write_parquet(&report_parquet, &mut df)?;
    let report_html = write_report_html(&a, &header)?;
    let all = |_: &str| true;
    let main_table = if let Some(Ok(l)) = &a.compute_ladder {
        l.summary_table()
    } else if !a.speedups.is_empty() {
        a.speedup_table(&all)
    } else if a.lr_sweep {
        a.lr_table(&all)
    } else if !a.ladder.is_empty() {
        a.ladder_table()
    } else {
        String::from("(no LR grid, budget sweep or variant comparison in this sweep)")
    };
    let (_, missing) = a.counts();
    Ok(ReportSummary {
        main_table,
        markdown: md,
        report_md,
        report_csv,
        report_parquet,
        report_html,
        plots,
        build_warning: header.build_warning(),
        runs: a.runs.len(),
        missing,
        derived_rows: rows.len(),
    })
}
