//! One entry per paper figure: which sweep produces its data, what it costs on a CPU, what
//! the paper shows, and `draw`, which turns an already-run sweep directory into that figure's
//! plot(s) plus a short markdown snippet (`README.md`) in a destination folder such as
//! `results/figures/<name>/`.
//!
//! Add a figure: add an entry to `FIGURES` and a match arm in `draw` that picks the charts
//! and tables from `report::Analysis` (or reads its own data file, as coord-check does).

pub mod compute_multiplier;
pub mod data;

use crate::analysis::runs::{DEPTH, STEPS, WIDTH};
use crate::config::ParamName;
use crate::plot::{Grid, LineChart, fmt_num};
use crate::record::read_parquet;
use crate::report::verdict::{Verdict, VerdictKind};
use crate::report::{Analysis, Chart, save_charts};
use anyhow::{Result, bail};
use polars::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// A paper figure the harness reproduces at small scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Figure {
    pub name: &'static str,
    pub description: &'static str,
    /// The sweep file under `sweeps/` that produces the data, or a command in backticks for
    /// data that come from another command (coord-check, alignment, eval).
    pub sweep: &'static str,
    /// Rough CPU cost on 2 cores.
    pub cpu_cost: &'static str,
    /// The paper's figure and headline number.
    pub paper: &'static str,
    /// The verdicts it reads (report::verdict); empty when none has an interval rule.
    pub verdicts: &'static [VerdictKind],
}

impl Figure {
    /// Is the data produced by a sweep file (rather than another command)?
    pub fn is_sweep(&self) -> bool {
        self.sweep.ends_with(".toml")
    }
}

static FIGURES: [Figure; 11] = [
    Figure {
        name: "ngpt-fig1",
        description: "validation loss vs step, GPT vs nGPT, at the largest budget of the speedup sweep",
        sweep: "speedup.toml",
        cpu_cost: "shared with ngpt-speedup",
        paper: "nGPT Fig. 1: nGPT at 20k iterations matches GPT at 200k (10×, 1B, 4k context)",
        verdicts: &[VerdictKind::SpeedupLargestBudget],
    },
    Figure {
        name: "ngpt-speedup",
        description: "final loss vs budget, steps-to-loss speedup S per budget and S vs context length T = 64–512",
        sweep: "speedup.toml",
        cpu_cost: "≈ 49 min wall, 97 CPU-min, measured on an idle 2-core AMD EPYC Zen 4 (2026-12-02: 16 WSD runs of 7000 steps with cool-down branches at 875/1750/3500, d=64 L=2, T 64–512 at 2048 tokens/step, 2 seeds: a third would bring it to ≈ 145 CPU-min) + 10 min wall, 15 CPU-min of LR tuning (speedup-lr.toml, 40 runs)",
        paper: "nGPT Fig. 2: 4× / 10× / 20× fewer steps at 1k / 4k / 8k context",
        verdicts: &[VerdictKind::SpeedupContext],
    },
    Figure {
        name: "angpt-ladder",
        description: "final loss per variant: GPT+ w/o QK-norm → GPT+ → nGPT → nGPT ‖w‖≤1 → anGPT (+ speedup over GPT+)",
        sweep: "angpt-ladder.toml",
        cpu_cost: "≈ 12 min wall, 23 CPU-min, measured on a 2-core AMD EPYC Zen 4 (2026-12-02: 18 runs: d=64 L=4 T=128, 1000 steps, 3 seeds)",
        paper: "anGPT: 1.40× over GPT+ (nGPT 1.29×), +2.75% step time; ladder +2.1/+3.0/+3.4/+3.8%",
        verdicts: &[VerdictKind::Ladder],
    },
    Figure {
        name: "nugpt-width",
        description: "final loss vs LR per width and η* vs width: nGPT (SP), νGPT, CompleteP",
        sweep: "lr-transfer.toml",
        cpu_cost: "≈ 21 min measured on a 2-core AMD EPYC Zen 4, 19 min on a 2-core Intel Xeon (2026-12-02: 144 runs, d 32–128, 4 LRs × 3 seeds, + 48 refine)",
        paper: "νGPT Fig. 2: η* drift ≤ 1.5–2× across 4× width for νGPT; nGPT drifts",
        verdicts: &[VerdictKind::Claim { axis: WIDTH, claimant: ParamName::Nugpt }],
    },
    Figure {
        name: "nugpt-depth",
        description: "final loss vs LR per depth and η* vs depth: nGPT, νGPT, Depth-μP",
        sweep: "depth-transfer.toml",
        cpu_cost: "≈ 16 min wall, 30 CPU-min, measured on a 2-core AMD EPYC Zen 4 (2026-12-02: 135 runs: L 2/4/8 at d=64, 5 LRs, 3 seeds)",
        paper: "νGPT Fig. 3: both transfer (≤ 2×), νGPT flatter at depth; Depth-μP drifts right (Fig. 8)",
        verdicts: &[VerdictKind::Claim { axis: DEPTH, claimant: ParamName::Nugpt }],
    },
    Figure {
        name: "nugpt-horizon",
        description: "η* vs training steps (no m_data factor): slope of log η* vs log steps",
        sweep: "horizon.toml",
        cpu_cost: "≈ 13 min wall, 22 CPU-min, measured on a 2-core AMD EPYC Zen 4 (2026-12-02: 120 runs: steps 250–2000, 5 LRs, m_data off/on, 3 seeds)",
        paper: "νGPT Figs. 9, 15: η* ∝ steps^(−1/3) without the token correction",
        verdicts: &[VerdictKind::Claim { axis: STEPS, claimant: ParamName::Nugpt }],
    },
    Figure {
        name: "mup-transfer",
        description: "final loss vs LR per width and η* vs width for GPT under SP and μP",
        sweep: "lr-transfer.toml",
        cpu_cost: "shared with nugpt-width",
        paper: "μP (TP-V; mup README): η* stable across width under μP, drifts under SP",
        verdicts: &[VerdictKind::Claim { axis: WIDTH, claimant: ParamName::Mup }],
    },
    Figure {
        name: "compute-multiplier",
        description: "compute frontiers of GPT, GPT+, nGPT, anGPT over 4 sizes (d 32–80, L 2–5, T = 64) with fitted laws L = E + A·C^(−α), rollout check, and the multiplier M(L) over GPT in FLOPs, steps and wall-clock",
        sweep: "compute-ladder.toml",
        cpu_cost: "54.5 min wall (3271 s), 108 CPU-min on an idle 2-core AMD EPYC Zen 4 (48 WSD runs of 4096 steps with branches at 256–2048, 3 seeds; `sweep plan` estimated 53.4 min) + 9.4 min wall, 17 CPU-min for compute-ladder-lr.toml (64 runs): 64 min in all",
        paper: "anGPT: ≈ 1.4× over GPT+ from 32M to 1B with GPT+'s scaling exponent; nGPT: 4×/10×/20× fewer steps, growing with the run",
        verdicts: &[VerdictKind::MultiplierAnGpt, VerdictKind::MultiplierNGpt],
    },
    Figure {
        name: "coord-check",
        description: "activation RMS per module vs width for the first steps (flat = μP-correct)",
        sweep: "`normlab coord-check` × 4",
        cpu_cost: "≈ 1 min",
        paper: "μP coordinate check (TP-V Fig. 5, mup README): flat curves across width",
        verdicts: &[],
    },
    Figure {
        name: "alignment",
        description: "alignment exponents α̂, ω̂, ν̂ vs step on the base νGPT model",
        sweep: "experiments/nugpt-alignment",
        cpu_cost: "≈ 2 min (1000 steps, d=64 L=4)",
        paper: "νGPT Figs. 4–6: ω̂ ≈ 0.5; α̂, ν̂ high early, settling to 0.5–0.65",
        verdicts: &[],
    },
    Figure {
        name: "length-extrapolation",
        description: "validation loss at 1×, 2×, 4× the training context, GPT vs nGPT",
        sweep: "experiments/*-tiny + `eval`",
        cpu_cost: "≈ 30 min (4 tiny runs) + 1 min of eval",
        paper: "nGPT Fig. 13: nGPT stays flat beyond its training length, GPT blows up",
        verdicts: &[],
    },
];

/// The (first) verdict figure `name` reads from the sweep analysed in `a`.
pub fn verdict(name: &str, a: &Analysis) -> Option<Verdict> {
    crate::report::verdict::verdict(*get(name)?.verdicts.first()?, a)
}

/// Every registered figure.
pub fn list() -> &'static [Figure] {
    &FIGURES
}

/// The figure called `name`.
pub fn get(name: &str) -> Option<&'static Figure> {
    FIGURES.iter().find(|f| f.name == name)
}

/// Draw figure `name` from the sweep output directory `sweep_out_dir` into `dest`
/// (PNG + SVG per chart and a `README.md` snippet with the relevant table).
pub fn draw(name: &str, sweep_out_dir: &Path, dest: &Path) -> Result<()> {
    let Some(fig) = get(name) else { bail!("unknown figure {name:?}; known: {}", FIGURES.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")) };
    if name == "coord-check" {
        return draw_coord_check(fig, sweep_out_dir, dest);
    }
    if name == "compute-multiplier" {
        return compute_multiplier::draw(fig, sweep_out_dir, dest);
    }
    if !fig.is_sweep() {
        bail!("figure {name} is not yet drawable: its data come from {}, whose output `figures::draw` does not read yet", fig.sweep);
    }
    let a = Analysis::load(sweep_out_dir)?;
    let ngpt = |a: &str| a == "ngpt";
    let gpt = |a: &str| a == "gpt" || a == "gpt_plus";
    let any = |_: &str| true;
    let need = |ok: bool, what: &str| -> Result<()> {
        if !ok {
            bail!(
                "{} has no {what} (group keys: {}); figure {name} expects the data of sweeps/{}",
                sweep_out_dir.display(),
                a.keys.join(", "),
                fig.sweep
            );
        }
        Ok(())
    };
    let (charts, table): (Vec<(String, Chart)>, String) = match name {
        "ngpt-fig1" => {
            let c = a.fig1_charts(&ngpt);
            need(!c.is_empty(), "GPT and nGPT loss curves at a common budget")?;
            (c, a.speedup_table(&ngpt))
        }
        "ngpt-speedup" => {
            need(a.speedups.iter().any(|s| s.var_arch == "ngpt"), "budget sweep with GPT and nGPT")?;
            let mut c = a.budget_charts(&ngpt);
            c.extend(a.speedup_charts(&ngpt));
            c.extend(a.context_charts(&ngpt));
            (c, a.speedup_table(&ngpt))
        }
        "angpt-ladder" => {
            need(!a.ladder.is_empty(), "comparison of several variants")?;
            let mut c = a.ladder_charts();
            c.extend(a.speedup_charts(&any));
            let mut t = a.ladder_table();
            if !a.speedups.is_empty() {
                t += "\n";
                t += &a.speedup_table(&any);
            }
            (c, t)
        }
        "nugpt-width" | "nugpt-depth" | "nugpt-horizon" | "mup-transfer" => {
            let axis = match fig.verdicts.first() {
                Some(VerdictKind::Claim { axis, .. }) => *axis,
                _ => unreachable!("the transfer figures read a claim"),
            };
            let keep: &dyn Fn(&str) -> bool = if name == "mup-transfer" { &gpt } else { &ngpt };
            need(a.drifts.iter().any(|d| d.axis == axis && keep(&d.arch)), "LR grid across that axis for these architectures")?;
            let mut c = a.lr_charts(keep);
            c.extend(a.eta_charts(Some(axis), keep));
            (c, format!("{}\n{}\n{}", a.transfer_table(Some(axis), keep), a.drift_table(Some(axis), keep), a.lr_table(keep)))
        }
        _ => unreachable!("every sweep figure has an arm"),
    };
    // The verdict (its rule is printed with it) heads the figure's table.
    let table = match fig.verdicts.first().and_then(|k| crate::report::verdict::verdict(*k, &a)) {
        Some(v) => format!("{}{table}", v.markdown()),
        None => format!("Verdict: no interval rule for this figure.\n\n{table}"),
    };
    let pngs = save_charts(&charts, dest)?;
    write_snippet(fig, sweep_out_dir, dest, &pngs, &table)
}

fn write_snippet(fig: &Figure, src: &Path, dest: &Path, pngs: &[std::path::PathBuf], table: &str) -> Result<()> {
    let mut md = format!(
        "## {}: {}\n\nPaper: {}.\nData: `{}` (sweep `{}`).\nCost: {}.\n\n",
        fig.name,
        fig.description,
        fig.paper,
        src.display(),
        fig.sweep,
        fig.cpu_cost
    );
    for p in pngs {
        let f = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        md += &format!("![{f}]({f})\n\n");
    }
    md += table;
    crate::record::atomic_write(&dest.join("README.md"), md.as_bytes())
}

/// `coord_check.parquet` (width, step, module, rms): one panel per step, log₂ width on x, log
/// RMS on y, one line per module.
fn draw_coord_check(fig: &Figure, dir: &Path, dest: &Path) -> Result<()> {
    let path = dir.join("coord_check.parquet");
    if !path.exists() {
        bail!("figure coord-check needs {} (run `normlab coord-check --out {}`)", path.display(), dir.display());
    }
    let df = read_parquet(&path)?;
    let f = |n: &str| -> Result<Vec<f64>> { Ok(df.column(n)?.cast(&DataType::Float64)?.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect()) };
    let (width, step, rms) = (f("width")?, f("step")?, f("rms")?);
    let module: Vec<String> = df.column("module")?.str()?.iter().map(|s| s.unwrap_or("").to_string()).collect();
    // step → module → [(width, rms)], modules in first-seen order.
    let mut order: Vec<String> = Vec::new();
    let mut by: BTreeMap<u64, BTreeMap<String, Vec<(f64, f64)>>> = BTreeMap::new();
    for i in 0..df.height() {
        if !order.contains(&module[i]) {
            order.push(module[i].clone());
        }
        by.entry(step[i] as u64).or_default().entry(module[i].clone()).or_default().push((width[i], rms[i]));
    }
    let widths = {
        let mut w: Vec<f64> = width.iter().cloned().filter(|x| x.is_finite()).collect();
        w.sort_by(|a, b| a.partial_cmp(b).unwrap());
        w.dedup();
        w
    };
    let panels: Vec<LineChart> = by
        .iter()
        .map(|(s, mods)| {
            let mut c = LineChart::new(format!("step {s}"), "width d_model (log₂)", "activation RMS").log_x().log_y().data_ticks_x();
            for m in &order {
                if let Some(pts) = mods.get(m) {
                    let mut pts = pts.clone();
                    pts.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
                    c = c.series(m.clone(), pts);
                }
            }
            c
        })
        .collect();
    if panels.is_empty() {
        bail!("{} has no rows", path.display());
    }
    let cols = panels.len().min(3);
    let title =
        format!("coordinate check: activation RMS vs width ({})", dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default());
    let grid = Grid::new(title, panels, cols)
        .note("Flat lines across width = activations keep their size (μP-correct); growing lines = mis-scaled updates.");
    let pngs = save_charts(&[("coord_check".into(), Chart::Grid(grid))], dest)?;
    let table = format!(
        "Widths: {}; steps: {}; modules: {}.\n",
        widths.iter().map(|w| fmt_num(*w)).collect::<Vec<_>>().join(", "),
        by.keys().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
        order.join(", ")
    );
    write_snippet(fig, dir, dest, &pngs, &table)
}
