//! `normlab coord-check`: activation size per module against width for the first steps.

use anyhow::Result;
use normlab::config::{ArchName, ParamName};
use normlab::probes::coord_check::{CoordCheck, width_slope, write};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct CoordCheckArgs {
    #[arg(long, value_enum, default_value_t = ArchName::Gpt)]
    arch: ArchName,
    #[arg(long, value_enum, default_value_t = ParamName::Sp)]
    param: ParamName,
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
    /// Output directory (coord_check.parquet, coord_check.png/.svg); default results/coord-check/<arch>-<param>.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(a: CoordCheckArgs) -> Result<()> {
    let steps = a.steps;
    let cc = CoordCheck {
        arch: a.arch,
        param: a.param,
        widths: a.widths,
        steps,
        lr: a.lr,
        head_dim: a.head_dim,
        n_layer: a.layers,
        seed: 0,
        corpus: a.corpus,
    };
    let rows = cc.run()?;
    let out = a.out.unwrap_or_else(|| PathBuf::from("results/coord-check").join(cc.tag()));
    write(&rows, &out)?;
    let mut modules: Vec<String> = rows.iter().map(|r| r.module.clone()).collect();
    modules.sort();
    modules.dedup();
    println!("log-log slope against width at step {steps} (0 = width-invariant)");
    println!("{:<16} {:>10} {:>12}", "module", "rms", "rel_change");
    for m in &modules {
        println!("{:<16} {:>10.3} {:>12.3}", m, width_slope(&rows, m, steps, |r| r.rms), width_slope(&rows, m, steps, |r| r.rel_change));
    }
    println!("wrote {}", out.join("coord_check.parquet").display());
    Ok(())
}
