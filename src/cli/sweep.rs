//! `normlab sweep`: run (or resume) a sweep locally, or plan / submit / merge / diff / status one.

use super::stop_flag;
use anyhow::{Result, bail};
use clap::Subcommand;
use normlab::record::provenance::cpu_model;
use normlab::sweep::{default_out, estimate, format_plan, merge, plan, runner, slurm, spec::Sweep};
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
    /// Print the expanded plan: one line per run (id, varying values, estimated cost) and a
    /// wall estimate calibrated by a few seconds' probe of this machine.
    Plan {
        file: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        #[arg(long)]
        jobs: Option<usize>,
        /// Threads per run, as `sweep --threads-per-run` (the probe uses as many).
        #[arg(long, default_value_t = 1)]
        threads_per_run: usize,
        /// Skip the probe: the estimate is the FLOP count at a fixed rate, marked uncalibrated.
        #[arg(long)]
        no_probe: bool,
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
        Some(SweepCmd::Plan { file, set, jobs, threads_per_run, no_probe }) => {
            let s = Sweep::load(&file, &set)?;
            let runs = plan::plan(&s)?;
            println!("{}: {}", s.name(), s.file.sweep.description.trim());
            let jobs = jobs.unwrap_or_else(runner::default_jobs);
            print!("{}", format_plan(&runs));
            let basis = if no_probe { estimate::Basis::Uncalibrated } else { estimate::probe(&runs, &exe, threads_per_run)? };
            print!("{}", estimate::describe(&runs, &basis, jobs, threads_per_run, &cpu_model()));
            if let Some(r) = &s.file.refine {
                let seeds = r.validate(&s.path.display().to_string(), &s.file.sweep.seeds)?;
                print!("{}", normlab::sweep::refine::plan_note(&runs, r, &seeds, jobs));
            }
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
            if s.file.refine.is_some() {
                eprintln!(
                    "note: only the grid is submitted; [refine] rounds are not Slurm job arrays yet. After the merge job, \
                     `normlab sweep {} --out {}` runs them locally (finished grid runs are skipped).",
                    file.display(),
                    o.out.display()
                );
            }
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
        print!("{}", format_plan(&runs));
        print!("{}", estimate::describe(&runs, &estimate::Basis::Uncalibrated, jobs, a.threads_per_run, &cpu_model()));
        return Ok(());
    }
    let out = a.out.unwrap_or_else(|| default_out(s.name()));
    std::fs::create_dir_all(&out)?;
    normlab::record::atomic_write(&out.join("sweep.toml"), toml::to_string(&s.file)?.as_bytes())?;
    let points: Vec<_> = all.iter().map(|r| r.varying.clone()).collect();
    normlab::record::tensorboard::write_experiment(&out, s.name(), &points)?;
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
    let mut r = runner::execute(&runs, &o, stop.clone())?;
    // Adaptive η* search: only over a whole, uninterrupted grid (it reads every group's runs).
    if let Some(refine) = s.file.refine.as_ref().filter(|_| a.shard.is_none() && r.interrupted == 0) {
        let seeds = refine.validate(&s.path.display().to_string(), &s.file.sweep.seeds)?;
        let summary = normlab::sweep::refine::refine(&all, refine, &seeds, s.name(), &out, |todo| {
            let x = runner::execute(todo, &o, stop.clone())?;
            (r.done, r.diverged, r.failed, r.skipped) = (r.done + x.done, r.diverged + x.diverged, r.failed + x.failed, r.skipped + x.skipped);
            (r.wall_s, r.cpu_s, r.interrupted) = (r.wall_s + x.wall_s, x.cpu_s, x.interrupted);
            Ok(x.interrupted == 0)
        })?;
        println!("{summary}");
    } else if s.file.refine.is_some() && a.shard.is_some() {
        eprintln!("{}: [refine] is skipped with --shard (it needs every group's results); run it unsharded after merging", s.name());
    }
    let cpus = normlab::sweep::utilization::machine_cpus();
    let busy = normlab::sweep::utilization::busy_fraction(r.cpu_s, r.wall_s, cpus);
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
        cpus
    );
    if a.shard.is_none() {
        merge::merge(&out)?;
        print_best_lr(&out)?;
        match normlab::report::report(&out) {
            Ok(r) => println!("report: {} ({} plots), {}", r.report_md.display(), r.plots.len(), r.report_html.display()),
            Err(e) => eprintln!("report failed (the runs and results.parquet are complete): {e:#}"),
        }
    }
    if r.interrupted > 0 {
        std::process::exit(130);
    }
    Ok(())
}

/// η* with its 95% interval per group, and the drift with its interval per family and axis.
fn print_best_lr(out: &std::path::Path) -> Result<()> {
    let a = normlab::report::Analysis::load(out)?;
    if !a.lr_sweep {
        return Ok(());
    }
    let all = |_: &str| true;
    println!("\nη* per group (quadratic in log LR; ≥/≤ = a bound at the grid edge; 95% seed-bootstrap intervals)");
    println!("{}", a.lr_table(&all));
    if !a.drifts.is_empty() {
        println!("η* drift per family (max/min across the axis, 95% interval)");
        println!("{}", a.drift_table(None, &all));
    }
    Ok(())
}
