//! `normlab verify-reference`: the model and optimizer against golden PyTorch folders, on any
//! backend (the same tolerances everywhere).

use anyhow::{Context, Result};
use normlab::backend::DeviceSpec;
use normlab::conformance::{print_report, verify};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct VerifyReferenceArgs {
    /// Folders with config.json and the safetensors files (e.g. tests/data/reference/gpt-stdrope);
    /// several in one process share the device's compiled kernels.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    #[command(flatten)]
    device: DeviceSpec,
}

pub fn run(a: VerifyReferenceArgs) -> Result<()> {
    let (device, info) = a.device.open()?;
    println!("verify-reference on {}", info.describe(a.device.backend));
    let mut failed = Vec::new();
    for dir in &a.dirs {
        if a.dirs.len() > 1 {
            println!("== {}", dir.display());
        }
        let checks = verify(dir, &device).with_context(|| format!("verify-reference {}", dir.display()))?;
        if !print_report(&checks) {
            failed.push(dir.display().to_string());
        }
    }
    if !failed.is_empty() {
        if a.dirs.len() > 1 {
            println!("verify-reference: {} of {} folders FAIL: {}", failed.len(), a.dirs.len(), failed.join(", "));
        }
        std::process::exit(1);
    }
    if a.dirs.len() > 1 {
        println!("verify-reference: all {} folders PASS", a.dirs.len());
    }
    Ok(())
}
