//! `normlab report`: analyse a merged sweep directory (report.md, report.csv/.parquet, plots).

use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ReportArgs {
    /// A merged sweep directory (holds results.parquet).
    dir: PathBuf,
}

pub fn run(a: ReportArgs) -> Result<()> {
    let r = normlab::report::report(&a.dir)?;
    println!("{}", r.main_table);
    if let Some(w) = &r.build_warning {
        eprintln!("warning: {w}");
    }
    println!("wrote {} ({} plots), {}", r.report_md.display(), r.plots.len(), r.report_html.display());
    Ok(())
}
