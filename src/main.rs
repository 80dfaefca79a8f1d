//! The `normlab` command line: parse, dispatch, print.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use normlab::backend::Backend;
use normlab::config::{ArchName, RunConfig};
use normlab::data::Dataset;
use normlab::record::Status;
use normlab::train::{TrainOptions, train};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[derive(Parser)]
#[command(name = "normlab", version, about = "Research harness for normalized transformers")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train one model from an experiment TOML file.
    Train {
        /// Experiment file (e.g. experiments/gpt-tiny.toml).
        config: PathBuf,
        /// Override a config key: --set optim.lr=3e-3 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Run directory (default: results/runs/<name>).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Backend::Flex)]
        backend: Backend,
        /// No progress bar; one line per evaluation.
        #[arg(long)]
        quiet: bool,
    },
    /// Validation loss of a finished run at longer contexts (length extrapolation).
    Eval {
        /// Run directory (holds config.toml and model.safetensors).
        run_dir: PathBuf,
        /// Multiples of the training context, e.g. 1x,2x,4x.
        #[arg(long, default_value = "1x,2x,4x")]
        context: String,
    },
    /// Run a sweep (`normlab sweep lr-transfer.toml`), or plan/submit/merge/status one.
    Sweep(SweepArgs),
    /// Coordinate check: activation size per module against width for the first steps.
    CoordCheck {
        #[arg(long, value_enum, default_value_t = ArchName::Gpt)]
        arch: ArchName,
        #[arg(long, value_enum, default_value_t = normlab::config::ParamName::Sp)]
        param: normlab::config::ParamName,
        #[arg(long, value_delimiter = ',', default_value = "32,64,128,256")]
        widths: Vec<usize>,
        #[arg(long, default_value_t = 5)]
        steps: usize,
        /// A large LR makes mis-scaled updates visible (mup's advice).
        #[arg(long, default_value_t = 1e-2)]
        lr: f64,
        #[arg(long, default_value_t = 16)]
        head_dim: usize,
        #[arg(long, default_value_t = 2)]
        layers: usize,
        #[arg(long, default_value = "data/kjv.txt")]
        corpus: PathBuf,
        /// Output directory (coord_check.parquet, coord_check.png/.svg).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Analyse a merged sweep directory: report.md, report.csv/.parquet and plots.
    Report { dir: PathBuf },
    /// Reproduce a paper figure at small scale: runs (or reuses) its sweep, then draws it.
    Figure {
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
    },
    /// Check the model and optimizer against a golden folder from the PyTorch reference.
    VerifyReference {
        /// Folder with config.json and the safetensors files (e.g. tests/data/reference/gpt-stdrope).
        dir: PathBuf,
    },
    /// Median tokens/s and the step split (forward, backward, optimizer, constraint).
    Bench {
        /// Comma-separated architectures, measured side by side.
        #[arg(long, default_value = "gpt", value_delimiter = ',')]
        arch: Vec<ArchName>,
        /// Override the bench config (d=128 L=4 H=4 T=128 batch 16): --set model.d_model=256.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        #[arg(long, default_value_t = 256)]
        vocab: usize,
        /// Timed steps per architecture.
        #[arg(long, default_value_t = 30)]
        steps: usize,
        #[arg(long, default_value_t = 3)]
        warmup: usize,
    },
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct SweepArgs {
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
struct SweepRunArgs {
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

fn cmd_sweep(args: SweepArgs) -> Result<()> {
    use normlab::sweep::{default_out, format_plan, merge, plan, runner, slurm, spec::Sweep};
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
            Ok(())
        }
    }
}

fn cmd_figure(name: Option<String>, list: bool, jobs: Option<usize>, no_run: bool) -> Result<()> {
    use normlab::figures;
    if list || name.is_none() {
        println!("{:<22} {:<34} {:<34} {}", "figure", "data from", "CPU cost (2 cores)", "paper");
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
            let args = SweepRunArgs {
                file: Some(file),
                jobs,
                threads_per_run: 1,
                shard: None,
                out: Some(out.clone()),
                quiet: false,
                retry_failed: false,
                restart_diverged: false,
                dry_run: false,
                set: vec![],
            };
            run_sweep(args, exe)?;
        }
        figures::draw(&name, &out, &dest)?;
    } else {
        match name.as_str() {
            "coord-check" => {
                use normlab::config::ParamName;
                use normlab::coord_check::{CoordCheck, write};
                for (arch, param) in [(ArchName::Gpt, ParamName::Sp), (ArchName::Gpt, ParamName::Mup), (ArchName::Ngpt, ParamName::Sp), (ArchName::Ngpt, ParamName::Nugpt)] {
                    let tag = format!("{}-{}", arch.as_str(), format!("{param:?}").to_lowercase());
                    let data = PathBuf::from("results/coord-check").join(&tag);
                    if !no_run {
                        let cc = CoordCheck { arch, param, widths: vec![32, 64, 128, 256], steps: 5, lr: 1e-2, head_dim: 16, n_layer: 2, seed: 0, corpus: "data/kjv.txt".into() };
                        write(&cc.run()?, &data)?;
                    }
                    figures::draw(&name, &data, &dest.join(&tag))?;
                }
            }
            "alignment" => {
                let run = normlab::record::RunDir::new("results/runs/nugpt-alignment");
                if !no_run {
                    train_if_needed(&exe, "experiments/nugpt-alignment.toml", &run)?;
                }
                println!("{}", normlab::figure_data::alignment(&run, &dest)?);
            }
            "length-extrapolation" => {
                let mut runs = Vec::new();
                for arch in ["gpt", "ngpt", "gpt_plus", "angpt"] {
                    let run = normlab::record::RunDir::new(format!("results/runs/{arch}-tiny"));
                    if !no_run {
                        train_if_needed(&exe, &format!("experiments/{arch}-tiny.toml"), &run)?;
                    }
                    runs.push((arch, run));
                }
                println!("{}", normlab::figure_data::length_extrapolation(&runs, &[1.0, 2.0, 4.0], &dest)?);
            }
            other => bail!("figure `{other}` has no runner"),
        }
    }
    println!("figure {name} → {}", dest.display());
    Ok(())
}

/// Train `config` into `run` unless a finished run is already there.
fn train_if_needed(exe: &PathBuf, config: &str, run: &normlab::record::RunDir) -> Result<()> {
    if run.read_summary().is_some_and(|s| s.status == Status::Done) {
        return Ok(());
    }
    let st = std::process::Command::new(exe).args(["train", config, "--out"]).arg(&run.root).arg("--quiet").status()?;
    if !st.success() {
        bail!("training {config} failed");
    }
    Ok(())
}

fn run_sweep(a: SweepRunArgs, exe: PathBuf) -> Result<()> {
    use normlab::sweep::{default_out, format_plan, merge, plan, runner, spec::Sweep};
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
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, stop.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, stop.clone())?;
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

fn main() {
    normlab::backend::tune_allocator();
    normlab::backend::init_threads();
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Train { config, set, out, backend, quiet } => {
            let cfg = RunConfig::load(&config, &set)?;
            let origin = config.display().to_string();
            let data = Dataset::load(&cfg.data, &origin)?;
            let out = out.unwrap_or_else(|| PathBuf::from("results/runs").join(&cfg.name));
            let stop = Arc::new(AtomicBool::new(false));
            signal_hook::flag::register(signal_hook::consts::SIGINT, stop.clone())?;
            signal_hook::flag::register(signal_hook::consts::SIGTERM, stop.clone())?;
            eprintln!(
                "{}: {} / {} d={} L={} H={} T={} batch={} vocab={} steps={} → {}",
                cfg.name,
                cfg.arch.as_str(),
                format!("{:?}", cfg.param.name).to_lowercase(),
                cfg.model.d_model,
                cfg.model.n_layer,
                cfg.model.n_head,
                cfg.data.seq_len,
                cfg.data.batch_size,
                data.vocab_size(),
                cfg.train.steps,
                out.display()
            );
            let opts = TrainOptions { out: out.clone(), backend, quiet, stop: Some(stop), log_every: 0 };
            let s = train(&cfg, &data, &opts)?;
            match s.status {
                Status::Done => println!(
                    "done: val loss {:.4} (best {:.4}), {} steps, {:.0} tok/s, {:.1} s → {}",
                    s.final_val_loss.unwrap_or(f64::NAN),
                    s.best_val_loss.unwrap_or(f64::NAN),
                    s.steps,
                    s.tokens_per_s,
                    s.wall_s,
                    out.display()
                ),
                Status::Diverged => println!("diverged at step {}", s.diverged_at.unwrap_or(0)),
                Status::Interrupted => {
                    println!("interrupted after {} steps; rerun the same command to resume", s.steps);
                    std::process::exit(130);
                }
                Status::Failed => bail!("run failed"),
            }
        }
        Cmd::Eval { run_dir, context } => {
            let mult = normlab::eval::parse_multiples(&context)?;
            let rows = normlab::eval::eval_contexts(&normlab::record::RunDir::new(&run_dir), &mult)?;
            println!("{:>8} {:>8} {:>10}", "context", "seq_len", "val_loss");
            for r in &rows {
                println!("{:>7}x {:>8} {:>10.4}", r.multiple, r.seq_len, r.val_loss);
            }
            if let Some(r) = rows.first() {
                for (k, v) in &r.diagnostics {
                    println!("{k:>16} {v:.4}");
                }
            }
        }
        Cmd::CoordCheck { arch, param, widths, steps, lr, head_dim, layers, corpus, out } => {
            use normlab::coord_check::{CoordCheck, width_slope, write};
            let cc = CoordCheck { arch, param, widths, steps, lr, head_dim, n_layer: layers, seed: 0, corpus };
            let rows = cc.run()?;
            let out = out.unwrap_or_else(|| {
                PathBuf::from("results/coord-check").join(format!("{}-{}", arch.as_str(), format!("{param:?}").to_lowercase()))
            });
            write(&rows, &out)?;
            let mut modules: Vec<String> = rows.iter().map(|r| r.module.clone()).collect();
            modules.dedup();
            modules.sort();
            modules.dedup();
            println!("log-log slope against width at step {steps} (0 = width-invariant)");
            println!("{:<16} {:>10} {:>12}", "module", "rms", "rel_change");
            for m in &modules {
                println!(
                    "{:<16} {:>10.3} {:>12.3}",
                    m,
                    width_slope(&rows, m, steps, |r| r.rms),
                    width_slope(&rows, m, steps, |r| r.rel_change)
                );
            }
            println!("wrote {}", out.join("coord_check.parquet").display());
        }
        Cmd::Report { dir } => {
            let r = normlab::report::report(&dir)?;
            println!("{}", r.main_table);
            println!("wrote {} ({} plots)", r.report_md.display(), r.plots.len());
        }
        Cmd::Figure { name, list, jobs, no_run } => cmd_figure(name, list, jobs, no_run)?,
        Cmd::VerifyReference { dir } => {
            let checks = normlab::reference::verify(&dir).with_context(|| format!("verify-reference {}", dir.display()))?;
            if !normlab::reference::print_report(&checks) {
                std::process::exit(1);
            }
        }
        Cmd::Sweep(args) => cmd_sweep(args)?,
        Cmd::Bench { arch, set, vocab, steps, warmup } => {
            let results = normlab::bench::run(&arch, &set, vocab, steps, warmup, 5)?;
            print_bench(&results);
        }
    }
    Ok(())
}

fn print_bench(results: &[normlab::bench::BenchResult]) {
    use normlab::bench::BenchResult;
    use normlab::bench::median;
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>10} {:>11} {:>10}",
        "arch", "tok/s", "step ms", "fwd ms", "bwd ms", "optim ms", "constr ms"
    );
    for r in results {
        let t = &r.times;
        println!(
            "{:<10} {:>10.0} {:>10.1} {:>10.1} {:>10.1} {:>11.1} {:>10.1}",
            r.arch.as_str(),
            r.tokens_per_s(),
            1e3 * median(&t.total),
            1e3 * median(&t.forward),
            1e3 * median(&t.backward),
            1e3 * median(&t.optimizer),
            1e3 * median(&t.constraint)
        );
    }
    if let Some(base) = results.first() {
        let ratio = |a: &BenchResult, b: &BenchResult| {
            format!("{}_vs_{}={:.3}", a.arch.as_str(), b.arch.as_str(), median(&a.times.total) / median(&b.times.total))
        };
        let mut ratios: Vec<String> = results[1..].iter().map(|r| ratio(r, base)).collect();
        // anGPT's target is against GPT+ (its baseline in the paper), not GPT.
        let find = |name: &str| results.iter().find(|r| r.arch.as_str() == name);
        if let (Some(a), Some(p)) = (find("angpt"), find("gpt_plus")) {
            ratios.push(ratio(a, p));
        }
        if !ratios.is_empty() {
            println!("step-time ratios: {}", ratios.join(" "));
        }
    }
}
