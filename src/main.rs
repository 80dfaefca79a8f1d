//! The `normlab` command line: parse, then hand each command to its file under `cli/`.

mod cli;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "normlab", version, about = "Research harness for normalized transformers")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train one model from an experiment TOML file.
    Train(cli::train::TrainArgs),
    /// Validation loss of a finished run at longer contexts (length extrapolation).
    Eval(cli::eval::EvalArgs),
    /// Run a sweep (`normlab sweep lr-transfer.toml`), or plan/submit/merge/status one.
    Sweep(cli::sweep::SweepArgs),
    /// Coordinate check: activation size per module against width for the first steps.
    CoordCheck(cli::coord_check::CoordCheckArgs),
    /// Analyse a merged sweep directory: report.md, report.csv/.parquet, plots and report.html.
    Report(cli::report::ReportArgs),
    /// Reproduce a paper figure at small scale: runs (or reuses) its sweep, then draws it.
    Figure(cli::figure::FigureArgs),
    /// Check the model and optimizer against a golden folder from the PyTorch reference.
    VerifyReference(cli::verify_reference::VerifyReferenceArgs),
    /// Backend parity: the same tiny runs on flex and on another device, step by step.
    VerifyBackend(cli::verify_backend::VerifyBackendArgs),
    /// Median tokens/s and the step split (forward, backward, optimizer, constraint).
    Bench(cli::bench::BenchArgs),
}

fn main() {
    normlab::backend::tune_allocator();
    normlab::backend::init_threads();
    let cmd = Cli::parse().cmd;
    let result = normlab::backend::on_compute_pool(move || match cmd {
        Cmd::Train(a) => cli::train::run(a),
        Cmd::Eval(a) => cli::eval::run(a),
        Cmd::Sweep(a) => cli::sweep::run(a),
        Cmd::CoordCheck(a) => cli::coord_check::run(a),
        Cmd::Report(a) => cli::report::run(a),
        Cmd::Figure(a) => cli::figure::run(a),
        Cmd::VerifyReference(a) => cli::verify_reference::run(a),
        Cmd::VerifyBackend(a) => cli::verify_backend::run(a),
        Cmd::Bench(a) => cli::bench::run(a),
    });
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        // A run another process holds is not a failure of this one (the sweep runner waits).
        if e.downcast_ref::<normlab::record::lock::Busy>().is_some() {
            std::process::exit(normlab::record::lock::BUSY_EXIT);
        }
        std::process::exit(2);
    }
}
