//! `normlab sweep`: run (or resume) a sweep locally, or plan / submit / merge / diff / status one.

use super::stop_flag;
use anyhow::{Result, bail};
use clap::Subcommand;
use normlab::sweep::{default_out, format_plan, merge, plan, runner, slurm, spec::Sweep};
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    action: Option<SweepCmd>,
    #[command(flatten)]
    run: SweepRunArgs,
}

#[derive(Subcommand)]
enum SweepCmd {
    /// Run (or resume) the sweep locally; the default action.
    Run(SweepRunArgs),
    /// Print the expanded plan: one line per run (id, varying values, estimated cost).
    Plan {
        file: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Write and submit a Slurm job array (one shard per task) plus a dependent merge job.
    Submit {
        file: PathBuf,
        /// Submit to Slurm (the only scheduler supported).
        #[arg(long)]
        slurm: bool,
        #[arg(long, default_value_t = 2)]
        array_size: usize,
        #[arg(long, default_value_t = 1)]
        cpus_per_task: usize,
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only write the sbatch scripts.
        #[arg(long)]
        dry_run: bool,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Extra sbatch options, after `--` (e.g. -- --time=01:00:00 --partition=cpu).
        #[arg(last = true)]
        sbatch: Vec<String>,
    },
    /// Build DIR/results.parquet (+ curves.parquet) from every run directory; idempotent.
    Merge { dir: PathBuf },
    /// Compare two merged sweep directories: same run ids, same statuses, same final losses.
    Diff { a: PathBuf, b: PathBuf },
    /// Counts of done / diverged / failed / partial / not started runs.
    Status {
        /// A sweep file (to count runs not started) or a sweep output directory.
        target: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Args, Clone)]
pub struct SweepRunArgs {
    /// Sweep file; `NAME.toml` is looked up in sweeps/ when the path does not exist.
    file: Option<PathBuf>,
    /// Runs at once (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Threads per run (RAYON_NUM_THREADS of each child).
    #[arg(long, default_value_t = 1)]
    threads_per_run: usize,
    /// Run only shard i of n (0-based), or `auto` inside a Slurm array.
    #[arg(long)]
    shard: Option<String>,
    /// Output directory (default results/sweeps/<name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress bar; one line per finished run.
    #[arg(long)]
    quiet: bool,
    /// Rerun runs recorded as failed.
    #[arg(long)]
    retry_failed: bool,
    /// Rerun runs recorded as diverged, from scratch.
    #[arg(long)]
    restart_diverged: bool,
    /// Print the plan and exit.
    #[arg(long)]
    dry_run: bool,
    /// Override a key of the sweep file (e.g. --set sweep.seeds=[1,2,3]).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

impl SweepRunArgs {
    /// A plain local run of `file` into `out`: what `normlab figure` runs for its data.
    pub fn local(file: PathBuf, jobs: Option<usize>, out: PathBuf) -> Self {
        Self {
            file: Some(file),
            jobs,
            threads_per_run: 1,
            shard: None,
            out: Some(out),
            quiet: false,
            retry_failed: false,
            restart_diverged: false,
            dry_run: false,
            set: vec![],
        }
    }
}

pub fn run(args: SweepArgs) -> Result<()> {
    let exe = std::env::current_exe()?;
    match args.action {
        None => run_sweep(args.run, exe),
        Some(SweepCmd::Run(a)) => run_sweep(a, exe),
        Some(SweepCmd::Plan { file, set, jobs }) => {
            let s = Sweep::load(&file, &set)?;
            let runs = plan::plan(&s)?;
            println!("{}: {}", s.name(), s.file.sweep.description.trim());
            print!("{}", format_plan(&runs, 1, jobs.unwrap_or_else(runner::default_jobs)));
            Ok(())
        }
        Some(SweepCmd::Submit { file, slurm: use_slurm, array_size, cpus_per_task, out, dry_run, set, sbatch }) => {
            if !use_slurm {
                bail!("sweep submit: only Slurm is supported; pass --slurm");
            }
            let s = Sweep::load(&file, &set)?;
            plan::plan(&s)?; // validate before submitting anything
            let out = out.unwrap_or_else(|| default_out(s.name()));
            let o = slurm::SubmitOptions {
                sweep_file: normlab::sweep::spec::resolve_path(&file),
                out,
                array_size,
                cpus_per_task,
                sbatch_args: sbatch,
                exe,
                dry_run,
                sets: set,
            };
            slurm::submit(&o)?;
            Ok(())
        }
        Some(SweepCmd::Merge { dir }) => {
            let df = merge::merge(&dir)?;
            println!("merged {} runs → {}", df.height(), merge::results_path(&dir).display());
            Ok(())
        }
        Some(SweepCmd::Diff { a, b }) => {
            let (ra, rb) = (merge::final_losses(&a)?, merge::final_losses(&b)?);
            let mut bad = 0;
            for (id, la) in &ra {
                match rb.get(id) {
                    Some(lb) if lb == la => {}
                    other => {
                        bad += 1;
                        println!("{id}: {la:?} vs {other:?}");
                    }
                }
            }
            for id in rb.keys().filter(|id| !ra.contains_key(*id)) {
                bad += 1;
                println!("{id}: only in {}", b.display());
            }
            if bad > 0 {
                bail!("{bad} of {} runs differ between {} and {}", ra.len().max(rb.len()), a.display(), b.display());
            }
            println!("identical: {} runs, same ids, statuses and final losses", ra.len());
            Ok(())
        }
        Some(SweepCmd::Status { target, out }) => {
            let (dir, planned) = if target.is_dir() {
                (target, None)
            } else {
                let s = Sweep::load(&target, &[])?;
                let n = plan::plan(&s)?.len();
                (out.unwrap_or_else(|| default_out(s.name())), Some(n))
            };
            for (k, v) in merge::status_counts(&dir, planned) {
                println!("{k:>12}: {v}");
            }
            for (id, why) in merge::damaged_runs(&dir) {
                println!("damaged {id}: {why} (the next `normlab sweep` run redoes it)");
            }
            Ok(())
        }
    }
}

pub fn run_sweep(a: SweepRunArgs, exe: PathBuf) -> Result<()> {
    let Some(file) = a.file else { bail!("sweep: expected a sweep file (e.g. `normlab sweep lr-transfer.toml`)") };
    let s = Sweep::load(&file, &a.set)?;
    let all = plan::plan(&s)?;
    let runs = match &a.shard {
        Some(spec) => {
            let (i, n) = plan::parse_shard(spec)?;
            plan::shard(&all, i, n)
        }
        None => all.clone(),
    };
    let jobs = a.jobs.unwrap_or_else(runner::default_jobs);
    if a.dry_run {
        print!("{}", format_plan(&runs, a.threads_per_run, jobs));
        return Ok(());
    }
    let out = a.out.unwrap_or_else(|| default_out(s.name()));
    std::fs::create_dir_all(&out)?;
    normlab::record::atomic_write(&out.join("sweep.toml"), toml::to_string(&s.file)?.as_bytes())?;
    eprintln!("{}: {} runs ({} in this shard), {} jobs × {} thread(s) → {}", s.name(), all.len(), runs.len(), jobs, a.threads_per_run, out.display());
    let stop = stop_flag()?;
    let o = runner::RunnerOptions {
        out: out.clone(),
        jobs,
        threads_per_run: a.threads_per_run,
        quiet: a.quiet,
        retry_failed: a.retry_failed,
        restart_diverged: a.restart_diverged,
        exe,
    };
    let r = runner::execute(&runs, &o, stop)?;
    let busy = if r.wall_s > 0.0 { r.cpu_s / (r.wall_s * (jobs * a.threads_per_run) as f64) } else { 0.0 };
    println!(
        "{}: {} done, {} diverged, {} failed, {} interrupted, {} already finished; wall {:.1} s, children CPU {:.1} s ({:.0}% of {} cores busy)",
        s.name(),
        r.done,
        r.diverged,
        r.failed,
        r.interrupted,
        r.skipped,
        r.wall_s,
        r.cpu_s,
        100.0 * busy,
        jobs * a.threads_per_run
    );
    if a.shard.is_none() {
        let df = merge::merge(&out)?;
        print_best_lr(&df)?;
        match normlab::report::report(&out) {
            Ok(r) => println!("report: {} ({} plots)", r.report_md.display(), r.plots.len()),
            Err(e) => eprintln!("report failed (the runs and results.parquet are complete): {e:#}"),
        }
    }
    if r.interrupted > 0 {
        std::process::exit(130);
    }
    Ok(())
}

/// Best LR per group of the varying keys other than LR and seed.
fn print_best_lr(df: &polars::prelude::DataFrame) -> Result<()> {
    use normlab::analysis::{lr_points, transfer::lr_optimum};
    if df.column("cfg.optim.lr").is_err() {
        return Ok(());
    }
    // The same group keys as the report (every varying setting except LR and seed).
    let keys = normlab::analysis::runs::group_keys(df)?;
    let mut groups: Vec<_> = lr_points(df, &keys)?.into_iter().collect();
    groups.sort_by(|a, b| normlab::analysis::runs::natural_cmp(&a.0, &b.0));
    println!("\nbest learning rate per group (parabola fit in log LR; * = at the grid edge)");
    let names: Vec<String> = keys.iter().map(|k| normlab::analysis::runs::short_key(k)).collect();
    let widths: Vec<usize> = names.iter().map(|n| n.chars().count().max(10) + 2).collect();
    println!("{}  {:>10} {:>10} {:>5}", names.iter().zip(&widths).map(|(n, w)| format!("{n:>w$}")).collect::<String>(), "eta*", "loss", "n");
    for (k, pts) in groups {
        let cells: String = k.iter().zip(&widths).map(|(v, w)| format!("{v:>w$}")).collect();
        match lr_optimum(&pts) {
            Some(o) => println!("{cells}  {:>9.3e}{} {:>10.4} {:>5}", o.eta_star, if o.at_edge { "*" } else { " " }, o.loss_star, o.points),
            None => println!("{cells}  {:>10} {:>10} {:>5}", "all diverged", "", pts.len()),
        }
    }
    Ok(())
}

