//! Slurm job arrays: `normlab sweep submit FILE --slurm` writes an array script whose task k
//! runs `sweep run FILE --shard auto`, submits it, then submits a merge job that depends on
//! the whole array (afterany, so a partial sweep is still merged). Shards coordinate only
//! through the run directories on the shared filesystem.

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
    let array = format!(
        "#!/bin/bash\n#SBATCH --job-name=normlab-sweep\n#SBATCH --array=0-{last}\n#SBATCH --cpus-per-task={cpus}\n\
         #SBATCH --output={logs}/shard-%A_%a.log\n{extra}\
         # Each array task runs one deterministic, cost-balanced shard of the plan.\n\
         cd {cwd}\nexec {exe} sweep run {file} --out {out} --shard auto --jobs {cpus} --quiet{sets}\n",
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
    let sbatch = |args: &[&str]| -> Result<String> {
        let out = Command::new("sbatch").args(args).output().context("running sbatch (is Slurm installed and on PATH?)")?;
        if !out.status.success() {
            bail!("sbatch {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
        }
        let id = String::from_utf8_lossy(&out.stdout).trim().split(';').next().unwrap_or("").to_string();
        Ok(id)
    };
    let array_id = sbatch(&["--parsable", &pa.display().to_string()])?;
    let merge_id = sbatch(&["--parsable", &format!("--dependency=afterany:{array_id}"), &pm.display().to_string()])?;
    println!("submitted array job {array_id} ({} tasks) and merge job {merge_id}", o.array_size);
    Ok(Some((array_id, merge_id)))
}
