//! `normlab train`: one model from an experiment file into a run directory.

use super::stop_flag;
use anyhow::{Result, bail};
use normlab::backend::DeviceSpec;
use normlab::config::RunConfig;
use normlab::data::Dataset;
use normlab::record::Status;
use normlab::train::{TrainOptions, train};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Experiment file (e.g. experiments/gpt-tiny.toml).
    config: PathBuf,
    /// Override a config key: --set optim.lr=3e-3 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Run directory (default: results/runs/<name>-<first 8 hex of the config hash>).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    device: DeviceSpec,
    /// No progress bar; one line per evaluation.
    #[arg(long)]
    quiet: bool,
    /// Start the run directory over from step 0 (deletes its records), even if finished
    /// or holding a different config.
    #[arg(long)]
    force: bool,
    /// Without a terminal (or with --quiet): a progress line every N steps
    /// (default without a terminal: every 10% of the run; with --quiet: none).
    #[arg(long, value_name = "N")]
    log_every: Option<usize>,
}

pub fn run(a: TrainArgs) -> Result<()> {
    let cfg = RunConfig::load(&a.config, &a.set)?;
    // The device first: a machine without one fails here, in a line, before any file is written.
    a.device.open()?;
    let origin = a.config.display().to_string();
    let data = Dataset::load(&cfg.data, &origin)?;
    let hash = normlab::record::identity::config_hash(&cfg);
    let out = a.out.unwrap_or_else(|| PathBuf::from("results/runs").join(format!("{}-{}", cfg.name, &hash[..8])));
    let stop = stop_flag()?;
    eprintln!(
        "{}: {} / {} d={} L={} H={} T={} batch={} vocab={} steps={} → {}",
        cfg.name,
        cfg.arch,
        cfg.param.name,
        cfg.model.d_model,
        cfg.model.n_layer,
        cfg.model.n_head,
        cfg.data.seq_len,
        cfg.data.batch_size,
        data.vocab_size(),
        cfg.train.steps,
        out.display()
    );
    let log_every = a.log_every.unwrap_or(if a.quiet { 0 } else { normlab::record::progress::default_log_every(cfg.train.steps) });
    let opts = TrainOptions { out: out.clone(), device: a.device, quiet: a.quiet, stop: Some(stop), log_every, force: a.force };
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
    Ok(())
}
