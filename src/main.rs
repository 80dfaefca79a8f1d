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

fn main() {
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
                format!("{:?}", cfg.param).to_lowercase(),
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
        Cmd::VerifyReference { dir } => {
            let checks = normlab::reference::verify(&dir).with_context(|| format!("verify-reference {}", dir.display()))?;
            if !normlab::reference::print_report(&checks) {
                std::process::exit(1);
            }
        }
        Cmd::Bench { arch, set, vocab, steps, warmup } => {
            let results = normlab::bench::run(&arch, &set, vocab, steps, warmup, 5)?;
            print_bench(&results);
        }
    }
    Ok(())
}

fn print_bench(results: &[normlab::bench::BenchResult]) {
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
        let ratios: Vec<String> = results[1..]
            .iter()
            .map(|r| format!("{}_vs_{}={:.3}", r.arch.as_str(), base.arch.as_str(), median(&r.times.total) / median(&base.times.total)))
            .collect();
        if !ratios.is_empty() {
            println!("step-time ratios: {}", ratios.join(" "));
        }
    }
}
