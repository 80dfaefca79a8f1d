//! Local runner: executes planned runs as child processes (`normlab train`), N at a time,
//! each with its own thread budget (RAYON_NUM_THREADS), so runs never share rayon's global
//! pool. Finished runs are skipped, unfinished ones resume from their checkpoint, failures
//! are recorded with their message, and children die with the runner (PR_SET_PDEATHSIG).
//! A run another process holds (its lock, record/lock.rs) is deferred and revisited once free.
//! At a sweep's tail, when fewer runs wait than cores are free, the runs started get the free
//! cores as extra threads ([`threads_at_start`]). The thread count is not part of a run's
//! identity (its id, config hash and checkpoint ignore it) because it changes no result: every
//! parallel kernel splits its work into tasks whose boundaries depend on the data's shape, not
//! on the number of threads, and each output element is reduced in one task in a fixed order
//! (the GEMM crate splits the output, never the inner dimension). tests/threads.rs holds that
//! invariant: the same run at 1 and 2 threads gives bit-identical losses.

use super::plan::PlannedRun;
use crate::backend::{Backend, DeviceSpec};
use crate::record::lock::{BUSY_EXIT, RunLock};
use crate::record::{RunDir, Status, Summary, atomic_write};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct RunnerOptions {
    /// Sweep output directory; runs go to `<out>/runs/<id>/`.
    pub out: PathBuf,
    pub jobs: usize,
    /// Threads of each run while at least as many runs wait as cores are free (the tail may
    /// give more: [`threads_at_start`]); `jobs × threads_per_run` cores are used at most.
    pub threads_per_run: usize,
    pub quiet: bool,
    pub retry_failed: bool,
    pub restart_diverged: bool,
    /// The `normlab` binary to run children with.
    pub exe: PathBuf,
    /// The device each child trains on (`--backend`, `--graphics-api`).
    pub device: DeviceSpec,
}

#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub done: usize,
    pub diverged: usize,
    pub failed: usize,
    pub interrupted: usize,
    pub skipped: usize,
    /// Wall seconds of the whole local execution.
    pub wall_s: f64,
    /// CPU seconds (user + sys) of the children this call reaped: the growth of getrusage's
    /// RUSAGE_CHILDREN over the call, which itself counts every child since process start.
    pub cpu_s: f64,
}

pub fn run_dir(out: &Path, id: &str) -> RunDir {
    RunDir::new(out.join("runs").join(id))
}

/// What to do with a run given what its directory holds.
pub fn needs_run(dir: &RunDir, o: &RunnerOptions) -> bool {
    match dir.read_summary().map(|s| s.status) {
        // Done but with unreadable records: redo it (train moves the damaged files aside).
        Some(Status::Done) => crate::record::identity::damage(dir).is_some(),
        Some(Status::Diverged) => o.restart_diverged,
        Some(Status::Failed) => o.retry_failed,
        Some(Status::Interrupted) | None => true,
    }
}

/// Default parallelism: one single-threaded run per core (tiny models barely use a 2nd thread).
pub fn default_jobs() -> usize {
    std::env::var("SLURM_CPUS_PER_TASK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

/// Threads for a run started now: an even share of the cores no running run uses among the
/// `waiting` runs not yet started (this one included), never fewer than `per_run`. With
/// more runs waiting than cores free this is `per_run`; the last run gets every free core.
pub fn threads_at_start(cores: usize, in_use: usize, waiting: usize, per_run: usize) -> usize {
    (cores.saturating_sub(in_use) / waiting.max(1)).max(per_run.max(1))
}

pub fn execute(runs: &[PlannedRun], o: &RunnerOptions, stop: Arc<AtomicBool>) -> Result<Outcome> {
    let mut outcome = Outcome::default();
    let cpu0 = super::utilization::children_cpu_seconds();
    let mut todo = Vec::new();
    for r in runs {
        let dir = run_dir(&o.out, &r.id);
        if needs_run(&dir, o) {
            if o.restart_diverged && dir.read_summary().is_some_and(|s| s.status == Status::Diverged) {
                remove_unheld(&dir)?;
            }
            if o.retry_failed && dir.read_summary().is_some_and(|s| s.status == Status::Failed) {
                let _ = std::fs::remove_file(dir.summary());
            }
            todo.push(r);
        } else {
            outcome.skipped += 1;
        }
    }
    super::schedule::longest_first(&mut todo);
    // Without a terminal (or quiet): one line per finished run instead of the bar.
    let lines = !crate::record::progress::bars(o.quiet);
    let bar = if lines { ProgressBar::hidden() } else { ProgressBar::new(todo.len() as u64) };
    let (total, mut finished) = (todo.len(), 0usize);
    let (mut cost_done, mut cost_left) = (0.0, todo.iter().map(|r| r.cost_s).sum::<f64>());
    bar.set_style(ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} runs {msg} (eta {eta})").unwrap().progress_chars("=> "));
    let t0 = Instant::now();
    // (child, run, started, threads)
    let mut running: Vec<(Child, &PlannedRun, Instant, usize)> = Vec::new();
    let mut queue = todo.into_iter();
    // Runs another process is training: revisited when their lock is free.
    let mut deferred: Vec<&PlannedRun> = Vec::new();
    let (per_run, cores) = (o.threads_per_run.max(1), o.jobs.max(1) * o.threads_per_run.max(1));
    // Extra tail threads only up to the machine's CPUs (more jobs than CPUs is the user's call).
    let spare = cores.min(super::utilization::machine_cpus().max(per_run));
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        loop {
            let in_use: usize = running.iter().map(|c| c.3).sum();
            if stopping || in_use + per_run > cores {
                break;
            }
            let Some(r) = queue.next().or_else(|| take_free(&mut deferred, &o.out)) else { break };
            let dir = run_dir(&o.out, &r.id);
            if RunLock::is_held(&dir.root) {
                deferred.push(r);
            } else if !needs_run(&dir, o) {
                // Finished by another runner meanwhile.
                outcome.skipped += 1;
                bar.inc(1);
            } else {
                let threads = threads_at_start(spare, in_use, queue.len() + 1, per_run);
                running.push((spawn(r, o, threads)?, r, Instant::now(), threads));
            }
        }
        if running.is_empty() && (deferred.is_empty() || stopping) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        if stopping {
            for (c, ..) in &running {
                unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            }
        }
        let mut i = 0;
        while i < running.len() {
            if let Some(status) = running[i].0.try_wait()? {
                let (_, r, started, _) = running.remove(i);
                if status.code() == Some(BUSY_EXIT) {
                    deferred.push(r);
                    continue;
                }
                let dir = run_dir(&o.out, &r.id);
                let summary = match dir.read_summary() {
                    Some(s) => s,
                    None => record_failure(&dir, r, o.device.backend, status.code(), started.elapsed().as_secs_f64())?,
                };
                match summary.status {
                    Status::Done => outcome.done += 1,
                    Status::Diverged => outcome.diverged += 1,
                    Status::Failed => outcome.failed += 1,
                    Status::Interrupted => outcome.interrupted += 1,
                }
                finished += 1;
                (cost_done, cost_left) = (cost_done + r.cost_s, cost_left - r.cost_s);
                if lines {
                    let (status, val) = (format!("{:?}", summary.status).to_lowercase(), summary.final_val_loss);
                    let (run_s, all_s) = (started.elapsed().as_secs_f64(), t0.elapsed().as_secs_f64());
                    eprintln!("{}", crate::record::progress::run_line(finished, total, &r.id, &status, val, run_s, all_s, cost_done, cost_left));
                }
                bar.inc(1);
            } else {
                i += 1;
            }
        }
        bar.set_message(format!("· {} running, {} done, {} diverged, {} failed", running.len(), outcome.done, outcome.diverged, outcome.failed));
    }
    bar.finish_and_clear();
    outcome.wall_s = t0.elapsed().as_secs_f64();
    outcome.cpu_s = super::utilization::children_cpu_seconds() - cpu0;
    Ok(outcome)
}

/// `--restart-diverged`: delete a diverged run's directory, but never one a live process holds
/// (a second runner may be retraining it already); its lock is held while deleting.
fn remove_unheld(dir: &RunDir) -> Result<()> {
    let _lock = RunLock::try_acquire(&dir.root).with_context(|| format!("--restart-diverged: not deleting {}", dir.root.display()))?;
    std::fs::remove_dir_all(&dir.root).with_context(|| format!("--restart-diverged: deleting {}", dir.root.display()))
}

/// The first deferred run no process holds any more.
fn take_free<'a>(deferred: &mut Vec<&'a PlannedRun>, out: &Path) -> Option<&'a PlannedRun> {
    let i = deferred.iter().position(|r| !RunLock::is_held(&run_dir(out, &r.id).root))?;
    Some(deferred.remove(i))
}

fn spawn(r: &PlannedRun, o: &RunnerOptions, threads: usize) -> Result<Child> {
    let dir = run_dir(&o.out, &r.id);
    std::fs::create_dir_all(&dir.root).with_context(|| format!("creating {}", dir.root.display()))?;
    atomic_write(&dir.config(), r.cfg.to_toml().as_bytes())?;
    crate::record::tensorboard::write_run_hparams(&dir.root, &r.varying)?;
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.root.join("train.log"))?;
    let mut cmd = Command::new(&o.exe);
    cmd.arg("train")
        .arg(dir.config())
        .arg("--out")
        .arg(&dir.root)
        .arg("--quiet")
        .args(o.device.to_args())
        .env("RAYON_NUM_THREADS", threads.to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // The child dies with the runner (kill -9 of the sweep leaves no orphan training on).
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd.spawn().with_context(|| format!("starting {}", o.exe.display()))
}

/// A child that ended without a summary: record it as failed with the tail of its log.
fn record_failure(dir: &RunDir, r: &PlannedRun, backend: Backend, code: Option<i32>, wall_s: f64) -> Result<Summary> {
    let log = std::fs::read_to_string(dir.root.join("train.log")).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(5).collect();
    let msg = format!("exit code {:?}: {}", code, tail.into_iter().rev().collect::<Vec<_>>().join(" | "));
    let s = Summary {
        status: Status::Failed,
        final_val_loss: None,
        best_val_loss: None,
        final_train_loss: None,
        steps: 0,
        tokens: 0,
        tokens_per_s: 0.0,
        step_time_s: 0.0,
        wall_s,
        diverged: false,
        diverged_at: None,
        seed: r.cfg.seed,
        n_params: 0,
        flops_per_step: None,
        vocab_size: None,
        normlab_version: env!("CARGO_PKG_VERSION").into(),
        backend: backend.as_str().into(),
        threads: 0,
        flush_denormals: None,
        final_diagnostics: Default::default(),
        error: Some(msg),
        config_hash: Some(crate::record::identity::config_hash(&r.cfg)),
        warnings: Vec::new(),
        provenance: None,
        branches: Vec::new(),
    };
    dir.write_summary(&s)?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::threads_at_start;

    #[test]
    fn tail_runs_share_the_free_cores() {
        // 8 cores, 1 thread per run: a full queue gets 1 thread each.
        assert_eq!(threads_at_start(8, 0, 20, 1), 1);
        assert_eq!(threads_at_start(8, 7, 13, 1), 1);
        // The last run gets every free core; the last two share them; the remainder stays free
        // for the next start (3 waiting on 8 free: 2 each, then 3, then 3).
        assert_eq!(threads_at_start(8, 0, 1, 1), 8);
        assert_eq!(threads_at_start(8, 6, 1, 1), 2);
        assert_eq!(threads_at_start(8, 0, 2, 1), 4);
        assert_eq!(threads_at_start(8, 0, 3, 1), 2);
        assert_eq!(threads_at_start(8, 2, 2, 1), 3);
        // Never below --threads-per-run, even when the cores are all in use.
        assert_eq!(threads_at_start(8, 8, 1, 2), 2);
        assert_eq!(threads_at_start(2, 1, 1, 1), 1);
    }
}
