//! `normlab sweep`: run (or resume) a sweep locally, or plan / submit / merge / diff / status one.

use super::stop_flag;
use anyhow::{Result, bail};
use clap::Subcommand;
use normlab::backend::{Backend, DeviceSpec};
use normlab::record::provenance::Build;
use normlab::record::provenance::cpu_model;
use normlab::sweep::{builds, default_out, estimate, format_plan, merge, plan, refine, runner, slurm, spec::Sweep};
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    action: Option<SweepCmd>,
    #[command(flatten)]
    run: SweepRunArgs,
}

/// What `sweep submit` and its refine driver (`sweep refine-step`) need to write job arrays.
#[derive(clap::Args)]
pub struct ArrayArgs {
    file: PathBuf,
    #[arg(long, default_value_t = 2)]
    array_size: usize,
    #[arg(long, default_value_t = 1)]
    cpus_per_task: usize,
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only write the sbatch scripts (and, with `[refine]`, the round's run list).
    #[arg(long)]
    dry_run: bool,
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Extra sbatch options, after `--` (e.g. -- --time=01:00:00 --partition=cpu).
    #[arg(last = true)]
    sbatch: Vec<String>,
}

impl ArrayArgs {
    /// The loaded sweep and the submit options for it.
    fn options(self, exe: PathBuf) -> Result<(Sweep, slurm::SubmitOptions)> {
        let s = Sweep::load(&self.file, &self.set)?;
        let out = self.out.unwrap_or_else(|| default_out(s.name()));
        let o = slurm::SubmitOptions {
            sweep_file: normlab::sweep::spec::resolve_path(&self.file),
            out,
            array_size: self.array_size,
            cpus_per_task: self.cpus_per_task,
            sbatch_args: self.sbatch,
            exe,
            dry_run: self.dry_run,
            sets: self.set,
            round: None,
        };
        Ok((s, o))
    }
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
    /// Write and submit a Slurm job array (one shard per task) plus a dependent merge job; with
    /// `[refine]`, the pending round (the grid first) as an array plus the driver job that submits
    /// the next round (`refine-step`). Rerunning it resumes a stopped chain.
    Submit {
        /// Submit to Slurm (the only scheduler supported).
        #[arg(long)]
        slurm: bool,
        #[command(flatten)]
        array: ArrayArgs,
    },
    /// The Slurm driver of a `[refine]` sweep (run by the job `sweep submit` queues after each
    /// round's array): replays the rounds from the finished runs, submits the next pending round
    /// as an array plus the next driver, or, when none is pending, merges and writes the analysis.
    RefineStep {
        #[command(flatten)]
        array: ArrayArgs,
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
    /// With `[refine]`: run only this shard's share of round K (0 = the grid) and exit, without
    /// waiting for other shards (what each Slurm array task runs). Refused while an earlier
    /// round has unfinished runs.
    #[arg(long, value_name = "K")]
    round: Option<usize>,
    /// No progress bar; one line per finished run.
    #[arg(long)]
    quiet: bool,
    /// Rerun runs recorded as failed.
    #[arg(long)]
    retry_failed: bool,
    /// Rerun runs recorded as diverged, from scratch.
    #[arg(long)]
    restart_diverged: bool,
    /// Retrain the runs another build trained (another git commit or dirty state): they are
    /// moved to <out>/other-builds/<build>/ first, nothing is deleted.
    #[arg(long)]
    rerun_other_builds: bool,
    /// Print the plan and exit.
    #[arg(long)]
    dry_run: bool,
    /// Override a key of the sweep file (e.g. --set sweep.seeds=[1,2,3]).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// The device every run trains on (passed to each `train` child).
    #[command(flatten)]
    device: DeviceSpec,
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
            round: None,
            quiet: false,
            retry_failed: false,
            restart_diverged: false,
            rerun_other_builds: false,
            dry_run: false,
            set: vec![],
            device: DeviceSpec::FLEX,
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
                print!("{}", refine::plan_note(&runs, r, &seeds, jobs, &basis));
            }
            Ok(())
        }
        Some(SweepCmd::Submit { slurm: use_slurm, array }) => {
            if !use_slurm {
                bail!("sweep submit: only Slurm is supported; pass --slurm");
            }
            let (s, o) = array.options(exe)?;
            plan::plan(&s)?; // validate before submitting anything
            if s.file.refine.is_some() {
                // One array per round: submit whichever round is pending (the grid on a fresh
                // directory), so rerunning `sweep submit` resumes a stopped chain.
                refine_step(&s, &o, false)
            } else {
                slurm::submit(&o).map(|_| ())
            }
        }
        Some(SweepCmd::RefineStep { array }) => {
            let (s, o) = array.options(exe)?;
            refine_step(&s, &o, true)
        }
        Some(SweepCmd::Merge { dir }) => {
            let df = merged(&dir)?;
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
            let b = builds::of_run_dirs(&dir);
            match b.warning() {
                Some(w) => println!("warning: {w}"),
                None if !b.runs.is_empty() => println!("{:>12}: {}", "build", b.describe()),
                None => {}
            }
            Ok(())
        }
    }
}

pub fn run_sweep(a: SweepRunArgs, exe: PathBuf) -> Result<()> {
    let Some(file) = a.file else { bail!("sweep: expected a sweep file (e.g. `normlab sweep lr-transfer.toml`)") };
    let s = Sweep::load(&file, &a.set)?;
    let all = plan::plan(&s)?;
    let (shard_i, shard_n) = match &a.shard {
        Some(spec) => plan::parse_shard(spec)?,
        None => (0, 1),
    };
    let runs = plan::shard(&all, shard_i, shard_n);
    // One run at a time on a GPU unless asked: its runs share one device, not the cores.
    let jobs = a.jobs.unwrap_or_else(|| if a.device.backend == Backend::Flex { runner::default_jobs() } else { 1 });
    if a.dry_run {
        print!("{}", format_plan(&runs));
        print!("{}", estimate::describe(&runs, &estimate::Basis::Uncalibrated, jobs, a.threads_per_run, &cpu_model()));
        return Ok(());
    }
    let refine = match &s.file.refine {
        Some(t) => Some((t, t.validate(&s.path.display().to_string(), &s.file.sweep.seeds)?)),
        None => None,
    };
    if refine.is_none() && a.round.is_some_and(|k| k > 0) {
        bail!("sweep --round: {} has no [refine] table, so it has no round after the grid (0)", s.path.display());
    }
    // A machine without the device fails here, in one line, not once per run.
    a.device.open()?;
    let out = a.out.unwrap_or_else(|| default_out(s.name()));
    std::fs::create_dir_all(&out)?;
    let finished = all.iter().filter(|r| refine::finished(&out, r)).count();
    normlab::sweep::spec::refuse_changed_tolerances(&out, &s.file, &s.path.display().to_string(), finished)?;
    check_builds(&out, &file, a.rerun_other_builds, a.shard.is_some() || a.round.is_some())?;
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
        device: a.device,
    };
    let mut r = runner::Outcome::default();
    // Every count is summed over the executions, CPU too: each Outcome's cpu_s covers only the
    // children that execution reaped (getrusage RUSAGE_CHILDREN itself is cumulative).
    let mut execute = |todo: &[plan::PlannedRun]| -> Result<bool> {
        let x = runner::execute(todo, &o, stop.clone())?;
        (r.done, r.diverged, r.failed, r.skipped) = (r.done + x.done, r.diverged + x.diverged, r.failed + x.failed, r.skipped + x.skipped);
        (r.wall_s, r.cpu_s, r.interrupted) = (r.wall_s + x.wall_s, r.cpu_s + x.cpu_s, r.interrupted + x.interrupted);
        Ok(x.interrupted == 0)
    };
    let mut summary = None;
    match (&refine, a.round) {
        // One round's share only (a Slurm array task): planned from what is on disk, no waiting.
        (Some((t, seeds)), Some(k)) => match refine::stage(&all, t, seeds, s.name(), &out) {
            refine::Stage::Pending { round, runs, .. } if round == k => {
                execute(&plan::shard(&runs, shard_i, shard_n))?;
            }
            refine::Stage::Pending { round, runs, .. } if round < k => {
                let left = runs.iter().filter(|p| !refine::finished(&out, p)).count();
                bail!("sweep --round {k}: round {round} still has {left} unfinished run(s), so round {k} cannot be planned yet");
            }
            _ => eprintln!("{}: round {k} has no unfinished run; nothing to do", s.name()),
        },
        (None, _) => {
            execute(&runs)?;
        }
        (Some((t, seeds)), None) if shard_n > 1 => {
            // The grid is round 0 of the shard's loop (its share, then a wait for the others).
            summary = Some(refine::refine_shard(&all, t, seeds, s.name(), &out, (shard_i, shard_n, &stop), &mut execute)?);
        }
        (Some((t, seeds)), None) => {
            if execute(&runs)? {
                summary = Some(refine::refine(&all, t, seeds, s.name(), &out, &mut execute)?);
            }
        }
    }
    if let Some(sum) = &summary {
        println!("{sum}");
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
    if a.shard.is_none() && a.round.is_none() {
        finish(&out, summary.as_ref())?;
    } else if summary.is_some() {
        eprintln!("{}: every round is finished; `normlab sweep merge {}` writes the table", s.name(), out.display());
    }
    if r.interrupted > 0 {
        std::process::exit(130);
    }
    Ok(())
}

/// On resume: warn when finished runs come from another build than this binary's, or, with
/// `--rerun-other-builds`, move them (and unfinished runs of an unrecorded build) aside so
/// they are trained again. Refused for one shard or round: the moves must happen once, before
/// any shard starts.
fn check_builds(out: &std::path::Path, file: &std::path::Path, rerun: bool, partial: bool) -> Result<()> {
    let current = Build::current();
    if rerun {
        if partial {
            bail!(
                "--rerun-other-builds moves runs of the whole sweep, so it runs without --shard/--round: `normlab sweep {} --rerun-other-builds` once, then the shards",
                file.display()
            );
        }
        let moved = builds::set_aside_other_builds(out, &current)?;
        if !moved.moved.is_empty() {
            let mut by: std::collections::BTreeMap<&str, usize> = Default::default();
            for (_, b, _) in &moved.moved {
                *by.entry(b.as_str()).or_default() += 1;
            }
            let list: Vec<String> = by.iter().map(|(b, n)| format!("{b}: {n}")).collect();
            eprintln!(
                "--rerun-other-builds: moved {} run(s) of other builds ({}) to {}; this binary ({current}) trains them again",
                moved.moved.len(),
                list.join(", "),
                out.join("other-builds").display()
            );
        }
        return Ok(());
    }
    let b = builds::of_run_dirs(out);
    let others = b.other_than(&current);
    if !others.is_empty() {
        eprintln!(
            "warning: {} finished run(s) in {} come from another build than this binary ({current}): {}. Runs trained now will be merged with them; `normlab sweep {} --rerun-other-builds` retrains them with this binary (moving the old ones aside).",
            others.len(),
            out.display(),
            b.describe(),
            file.display()
        );
    }
    Ok(())
}

/// `sweep::merge::merge`, and a warning on stderr when the runs come from more than one build.
fn merged(out: &std::path::Path) -> Result<polars::prelude::DataFrame> {
    let df = merge::merge(out)?;
    if let Some(w) = normlab::sweep::builds::of_results(&df)?.warning() {
        eprintln!("warning: {}: {w}", out.display());
    }
    Ok(df)
}

/// What every finished sweep ends with: the merged table, η* per group, the report, and for a
/// `[refine]` sweep `<out>/refine.txt` (the rounds' summary and the η* table), so a local and a
/// Slurm run of one sweep can be compared file to file.
fn finish(out: &std::path::Path, summary: Option<&refine::Summary>) -> Result<()> {
    merged(out)?;
    let table = print_best_lr(out)?;
    if let Some(sum) = summary {
        normlab::record::atomic_write(&out.join("refine.txt"), format!("{sum}\n\n{}\n", table.unwrap_or_default()).as_bytes())?;
    }
    match normlab::report::report(out) {
        Ok(r) => println!("report: {} ({} plots), {}", r.report_md.display(), r.plots.len(), r.report_html.display()),
        Err(e) => eprintln!("report failed (the runs and results.parquet are complete): {e:#}"),
    }
    Ok(())
}

/// One step of a `[refine]` sweep on Slurm: submit the pending round (the grid first) as an
/// array with the driver after it, or finish when no round is pending. As the driver, a round
/// whose array already ran twice without finishing is not submitted a third time.
fn refine_step(s: &Sweep, o: &slurm::SubmitOptions, as_driver: bool) -> Result<()> {
    let Some(t) = &s.file.refine else { bail!("sweep refine-step: {} has no [refine] table", s.path.display()) };
    let seeds = t.validate(&s.path.display().to_string(), &s.file.sweep.seeds)?;
    let all = plan::plan(s)?;
    match refine::stage(&all, t, &seeds, s.name(), &o.out) {
        refine::Stage::Pending { round, runs, budget_left } => {
            let left: Vec<&str> = runs.iter().filter(|p| !refine::finished(&o.out, p)).map(|p| p.id.as_str()).collect();
            let tries = slurm::submitted_rounds(&o.out).iter().filter(|(k, _, _)| *k == round).count();
            if as_driver && tries >= 2 {
                bail!(
                    "round {round}: {tries} arrays ran and {} run(s) are still unfinished ({}); see {}/slurm/round{round}-*.log, \
                     then `normlab sweep submit {} --slurm --out {}` resumes from here",
                    left.len(),
                    left.join(", "),
                    o.out.display(),
                    s.path.display(),
                    o.out.display()
                );
            }
            if round > 0 {
                eprintln!(
                    "refine round {round}: {} run(s) around the current η*, {} unfinished ({budget_left} of the budget left)",
                    runs.len(),
                    left.len()
                );
            }
            slurm::submit_round(o, round, &runs)?;
            Ok(())
        }
        refine::Stage::Finished(sum) => {
            println!("{sum}");
            if o.dry_run {
                return Ok(());
            }
            finish(&o.out, Some(&sum))
        }
    }
}

/// η* with its 95% interval per group, and the drift with its interval per family and axis;
/// returns the η* table (None when the sweep does not vary the LR).
fn print_best_lr(out: &std::path::Path) -> Result<Option<String>> {
    let a = normlab::report::Analysis::load(out)?;
    if !a.lr_sweep {
        return Ok(None);
    }
    let all = |_: &str| true;
    let table = a.lr_table(&all);
    println!("\nη* per group (quadratic in log LR; ≥/≤ = a bound at the grid edge; 95% seed-bootstrap intervals)");
    println!("{table}");
    if !a.drifts.is_empty() {
        println!("η* drift per family (max/min across the axis, 95% interval)");
        println!("{}", a.drift_table(None, &all));
    }
    Ok(Some(table))
}
