//! `normlab verify-reference`: the model and optimizer against a golden PyTorch folder.

use anyhow::{Context, Result};
use normlab::conformance::{print_report, verify};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct VerifyReferenceArgs {
    /// Folder with config.json and the safetensors files (e.g. tests/data/reference/gpt-stdrope).
    dir: PathBuf,
}

pub fn run(a: VerifyReferenceArgs) -> Result<()> {
    let checks = verify(&a.dir).with_context(|| format!("verify-reference {}", a.dir.display()))?;
    if !print_report(&checks) {
        std::process::exit(1);
    }
    Ok(())
}
