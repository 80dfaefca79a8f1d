//! `normlab figure`: reproduce a paper figure at small scale (runs or reuses its data, then draws it).

use super::sweep::{SweepRunArgs, run_sweep};
use anyhow::{Context, Result, bail};
use normlab::config::{ArchName, ParamName};
use normlab::figures;
use normlab::probes::coord_check::{CoordCheck, write};
use normlab::record::{RunDir, Status};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct FigureArgs {
    /// Figure name (see --list).
    name: Option<String>,
    #[arg(long)]
    list: bool,
    /// Runs at once for the figure's sweep (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Only draw from existing data; do not train anything.
    #[arg(long)]
    no_run: bool,
}

pub fn run(a: FigureArgs) -> Result<()> {
    let FigureArgs { name, list, jobs, no_run } = a;
    if list || name.is_none() {
        println!("{:<22} {:<34} {:<34} paper", "figure", "data from", "CPU cost (2 cores)");
        for f in figures::list() {
            println!("{:<22} {:<34} {:<34} {}", f.name, f.sweep, f.cpu_cost, f.paper);
        }
        return Ok(());
    }
    let name = name.unwrap();
    let fig = figures::get(&name).with_context(|| format!("unknown figure `{name}` (see `normlab figure --list`)"))?;
    let dest = PathBuf::from("results/figures").join(&name);
    let exe = std::env::current_exe()?;
    if fig.is_sweep() {
        let file = PathBuf::from("sweeps").join(fig.sweep);
        let s = normlab::sweep::spec::Sweep::load(&file, &[])?;
        let out = normlab::sweep::default_out(s.name());
        if !no_run {
            run_sweep(SweepRunArgs::local(file, jobs, out.clone()), exe)?;
        }
        figures::draw(&name, &out, &dest)?;
    } else {
        match name.as_str() {
            "coord-check" => {
                for (arch, param) in [
                    (ArchName::Gpt, ParamName::Sp),
                    (ArchName::Gpt, ParamName::Mup),
                    (ArchName::Ngpt, ParamName::Sp),
                    (ArchName::Ngpt, ParamName::Nugpt),
                ] {
                    let cc = CoordCheck::standard(arch, param, "data/kjv.txt");
                    let data = PathBuf::from("results/coord-check").join(cc.tag());
                    if !no_run {
                        write(&cc.run()?, &data)?;
                    }
                    figures::draw(&name, &data, &dest.join(cc.tag()))?;
                }
            }
            "alignment" => {
                let run = RunDir::new("results/runs/nugpt-alignment");
                if !no_run {
                    train_if_needed(&exe, "experiments/nugpt-alignment.toml", &run)?;
                }
                println!("{}", figures::data::alignment(&run, &dest)?);
            }
            "length-extrapolation" => {
                let mut runs = Vec::new();
                for arch in ["gpt", "ngpt", "gpt_plus", "angpt"] {
                    let run = RunDir::new(format!("results/runs/{arch}-tiny"));
                    if !no_run {
                        train_if_needed(&exe, &format!("experiments/{arch}-tiny.toml"), &run)?;
                    }
                    runs.push((arch, run));
                }
                println!("{}", figures::data::length_extrapolation(&runs, &[1.0, 2.0, 4.0], &dest)?);
            }
            other => bail!("figure `{other}` has no runner"),
        }
    }
    println!("figure {name} → {}", dest.display());
    Ok(())
}

/// Train `config` into `run` unless a finished run is already there.
fn train_if_needed(exe: &Path, config: &str, run: &RunDir) -> Result<()> {
    if run.read_summary().is_some_and(|s| s.status == Status::Done) {
        return Ok(());
    }
    let st = std::process::Command::new(exe).args(["train", config, "--out"]).arg(&run.root).arg("--quiet").status()?;
    if !st.success() {
        bail!("training {config} failed");
    }
    Ok(())
}
