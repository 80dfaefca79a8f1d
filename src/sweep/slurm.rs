//! Slurm job arrays: `normlab sweep submit FILE --slurm` writes an array script whose task k
//! runs `sweep run FILE --shard auto`, submits it, then submits a merge job that depends on
//! the whole array (afterany, so a partial sweep is still merged). Shards coordinate only
//! through the run directories on the shared filesystem.
//!
//! With a `[refine]` table each round is one array instead: the grid's array (round 0) runs
//! `sweep run FILE --shard auto --round 0`, and a one-CPU driver job (afterany on the array)
//! runs `sweep refine-step FILE`, which replays the rounds from the run directories
//! (`refine::stage`, the code the local runner uses), submits the next pending round as an
//! array plus the next driver, and once nothing is pending merges and writes the analysis.
//! `<out>/slurm/rounds.tsv` records every array: round, array job, driver job, runs, tasks.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone, Debug)]
pub struct SubmitOptions {
    pub sweep_file: PathBuf,
    pub out: PathBuf,
    pub array_size: usize,
    pub cpus_per_task: usize,
    /// Extra `#SBATCH` options (e.g. `--time=01:00:00`, `--partition=cpu`).
    pub sbatch_args: Vec<String>,
    pub exe: PathBuf,
    /// Only write the scripts.
    pub dry_run: bool,
    /// `--set` overrides of the sweep file, forwarded to every shard.
    pub sets: Vec<String>,
    /// Run only this round of a `[refine]` sweep in each task (`--round K`; 0 = the grid).
    pub round: Option<usize>,
}

fn abs(p: &Path) -> Result<PathBuf> {
    Ok(if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir()?.join(p) })
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The array script and the merge script (text).
pub fn scripts(o: &SubmitOptions) -> Result<(String, String)> {
    let (exe, file, out) = (abs(&o.exe)?, abs(&o.sweep_file)?, abs(&o.out)?);
    let logs = out.join("slurm");
    let extra: String = o.sbatch_args.iter().map(|a| format!("#SBATCH {a}\n")).collect();
    let sets: String = o.sets.iter().map(|s| format!(" --set {}", quote(s))).collect();
    let cwd = std::env::current_dir()?;
    let (name, log, round) = match o.round {
        Some(k) => (format!("normlab-round{k}"), format!("round{k}-%A_%a.log"), format!(" --round {k}")),
        None => ("normlab-sweep".to_string(), "shard-%A_%a.log".to_string(), String::new()),
    };
    let array = format!(
        "#!/bin/bash\n#SBATCH --job-name={name}\n#SBATCH --array=0-{last}\n#SBATCH --cpus-per-task={cpus}\n\
         #SBATCH --output={logs}/{log}\n{extra}\
         # Each array task runs one deterministic, cost-balanced shard of the plan.\n\
         cd {cwd}\nexec {exe} sweep run {file} --out {out} --shard auto --jobs {cpus} --quiet{round}{sets}\n",
        last = o.array_size - 1,
        cpus = o.cpus_per_task,
        logs = logs.display(),
        cwd = quote(&cwd.display().to_string()),
        exe = quote(&exe.display().to_string()),
        file = quote(&file.display().to_string()),
        out = quote(&out.display().to_string()),
    );
    let merge = format!(
        "#!/bin/bash\n#SBATCH --job-name=normlab-merge\n#SBATCH --cpus-per-task=1\n#SBATCH --output={logs}/merge-%j.log\n{extra}\
         cd {cwd}\nexec {exe} sweep merge {out}\n",
        logs = logs.display(),
        cwd = quote(&cwd.display().to_string()),
        exe = quote(&exe.display().to_string()),
        out = quote(&out.display().to_string()),
    );
    Ok((array, merge))
}

/// The driver job of a `[refine]` sweep: one CPU, runs `sweep refine-step` with the same
/// array size, CPUs, `--set`s and sbatch options, so every round is submitted alike.
pub fn driver_script(o: &SubmitOptions) -> Result<String> {
    let (exe, file, out) = (abs(&o.exe)?, abs(&o.sweep_file)?, abs(&o.out)?);
    let logs = out.join("slurm");
    let extra: String = o.sbatch_args.iter().map(|a| format!("#SBATCH {a}\n")).collect();
    let sets: String = o.sets.iter().map(|s| format!(" --set {}", quote(s))).collect();
    let passed: String = o.sbatch_args.iter().map(|a| format!(" {}", quote(a))).collect();
    let cwd = std::env::current_dir()?;
    Ok(format!(
        "#!/bin/bash\n#SBATCH --job-name=normlab-refine\n#SBATCH --cpus-per-task=1\n#SBATCH --output={logs}/driver-%j.log\n{extra}\
         # Plans the next [refine] round from the finished runs and submits it (or merges when done).\n\
         cd {cwd}\nexec {exe} sweep refine-step {file} --out {out} --array-size {n} --cpus-per-task {cpus}{sets} --{passed}\n",
        logs = logs.display(),
        cwd = quote(&cwd.display().to_string()),
        exe = quote(&exe.display().to_string()),
        file = quote(&file.display().to_string()),
        out = quote(&out.display().to_string()),
        n = o.array_size,
        cpus = o.cpus_per_task,
    ))
}

fn sbatch(args: &[&str]) -> Result<String> {
    let out = Command::new("sbatch").args(args).output().context("running sbatch (is Slurm installed and on PATH?)")?;
    if !out.status.success() {
        bail!("sbatch {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().split(';').next().unwrap_or("").to_string())
}

/// Write the scripts under `<out>/slurm/`, submit both; returns (array job id, merge job id).
pub fn submit(o: &SubmitOptions) -> Result<Option<(String, String)>> {
    if o.array_size == 0 {
        bail!("--array-size must be ≥ 1");
    }
    let (array, merge) = scripts(o)?;
    let dir = abs(&o.out)?.join("slurm");
    std::fs::create_dir_all(&dir)?;
    let (pa, pm) = (dir.join("array.sbatch"), dir.join("merge.sbatch"));
    std::fs::write(&pa, array)?;
    std::fs::write(&pm, merge)?;
    println!("wrote {} and {}", pa.display(), pm.display());
    if o.dry_run {
        return Ok(None);
    }
    let array_id = sbatch(&["--parsable", &pa.display().to_string()])?;
    let merge_id = sbatch(&["--parsable", &format!("--dependency=afterany:{array_id}"), &pm.display().to_string()])?;
    println!("submitted array job {array_id} ({} tasks) and merge job {merge_id}", o.array_size);
    Ok(Some((array_id, merge_id)))
}

/// The rounds submitted so far, from `<out>/slurm/rounds.tsv`: (round, array job, driver job).
pub fn submitted_rounds(out: &Path) -> Vec<(usize, String, String)> {
    let text = std::fs::read_to_string(out.join("slurm").join("rounds.tsv")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Some((f.first()?.parse().ok()?, f.get(1)?.to_string(), f.get(2)?.to_string()))
        })
        .collect()
}

/// Submit one round of a `[refine]` sweep: its runs (ids listed in `round-K.ids`) as an array
/// of at most `o.array_size` tasks, each running its shard of round `round`, and the driver
/// after it. Returns (array job id, driver job id), or None with `dry_run`.
pub fn submit_round(o: &SubmitOptions, round: usize, runs: &[super::plan::PlannedRun]) -> Result<Option<(String, String)>> {
    if o.array_size == 0 {
        bail!("--array-size must be ≥ 1");
    }
    let tasks = o.array_size.min(runs.len()).max(1);
    let ro = SubmitOptions { array_size: tasks, round: Some(round), ..o.clone() };
    let (array, _) = scripts(&ro)?;
    let out = abs(&o.out)?;
    let dir = out.join("slurm");
    std::fs::create_dir_all(&dir)?;
    let (pa, pd, pi) = (dir.join(format!("round-{round}.sbatch")), dir.join("driver.sbatch"), dir.join(format!("round-{round}.ids")));
    std::fs::write(&pa, array)?;
    std::fs::write(&pd, driver_script(o)?)?;
    let ids: String = runs.iter().map(|r| format!("{}\tlr={}\tseed={}\n", r.id, r.cfg.optim.lr, r.cfg.seed)).collect();
    crate::record::atomic_write(&pi, ids.as_bytes())?;
    println!("round {round}: {} run(s) as an array of {tasks} task(s): wrote {} and {}", runs.len(), pa.display(), pd.display());
    if o.dry_run {
        return Ok(None);
    }
    let array_id = sbatch(&["--parsable", &pa.display().to_string()])?;
    let driver_id = sbatch(&["--parsable", &format!("--dependency=afterany:{array_id}"), &pd.display().to_string()])?;
    let mut log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("rounds.tsv"))?;
    use std::io::Write;
    writeln!(log, "{round}\t{array_id}\t{driver_id}\t{}\t{tasks}", runs.len())?;
    println!("submitted round {round}: array job {array_id} ({tasks} tasks) and driver job {driver_id}");
    Ok(Some((array_id, driver_id)))
}
