//! `normlab eval`: validation loss of a finished run at longer contexts (length extrapolation).

use anyhow::Result;
use normlab::probes::length_extrapolation::{eval_contexts, parse_multiples};
use normlab::record::RunDir;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct EvalArgs {
    /// Run directory (holds config.toml and model.safetensors).
    run_dir: PathBuf,
    /// Multiples of the training context, e.g. 1x,2x,4x.
    #[arg(long, default_value = "1x,2x,4x")]
    context: String,
}

pub fn run(a: EvalArgs) -> Result<()> {
    let mult = parse_multiples(&a.context)?;
    let rows = eval_contexts(&RunDir::new(&a.run_dir), &mult)?;
    println!("{:>8} {:>8} {:>10}", "context", "seq_len", "val_loss");
    for r in &rows {
        println!("{:>7}x {:>8} {:>10.4}", r.multiple, r.seq_len, r.val_loss);
    }
    if let Some(r) = rows.first() {
        for (k, v) in &r.diagnostics {
            println!("{k:>16} {v:.4}");
        }
    }
    Ok(())
}
