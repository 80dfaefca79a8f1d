//! normlab: a research harness for normalized transformers.
//!
//! The folders follow the data flow; each module imports only from modules above it here:
//! config → data → kernels (fused CPU ops) → model (architecture × param) → record (the run
//! directory format) → train (loop, optimizer) → sweep (grids, runner, Slurm) → analysis (η*,
//! speedups) → probes (coordinate check, length extrapolation) → plot → report → figures;
//! conformance (golden PyTorch checks) and bench sit beside them. The command line is the
//! binary's `cli/`, which only parses, calls this library and prints.

pub mod backend;
pub mod config;
pub mod data;
pub mod kernels;
pub mod param;
pub mod model;
pub mod record;
pub mod train;
pub mod sweep;
pub mod analysis;
pub mod probes;
pub mod plot;
pub mod report;
pub mod figures;
pub mod conformance;
pub mod bench;
