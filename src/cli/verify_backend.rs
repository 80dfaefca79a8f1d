//! `normlab verify-backend --backend wgpu`: backend parity against flex on this machine (GPT,
//! and nGPT with its constraint step), step by step from the same weights.

use anyhow::Result;
use normlab::backend::DeviceSpec;
use normlab::config::ArchName;
use normlab::conformance::parity::{TOLERANCE, compare, parity_config, print_report};
use normlab::data::Dataset;

#[derive(clap::Args)]
pub struct VerifyBackendArgs {
    /// Architectures to compare.
    #[arg(long, default_value = "gpt,ngpt", value_delimiter = ',')]
    arch: Vec<ArchName>,
    /// Steps of each run.
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// The character corpus the runs train on.
    #[arg(long, default_value = "data/kjv.txt")]
    corpus: String,
    /// Override a key of the parity config (d=32, L=2, H=2, T=32, batch 8, lr 3e-3).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    #[command(flatten)]
    device: DeviceSpec,
}

pub fn run(a: VerifyBackendArgs) -> Result<()> {
    let (device, info) = a.device.open()?;
    println!("verify-backend: flex vs {}", info.describe(a.device.backend));
    let mut results = Vec::new();
    for &arch in &a.arch {
        let cfg = parity_config(arch, &a.corpus, a.steps, &a.set)?;
        let data = Dataset::load(&cfg.data, "verify-backend")?;
        results.push(compare(&cfg, &data, &device)?);
    }
    if !print_report(&results, &TOLERANCE) {
        std::process::exit(1);
    }
    Ok(())
}
