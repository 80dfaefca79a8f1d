//! normlab: a research harness for normalized transformers.
//!
//! The folders follow the data flow; each module imports only from modules above it here:
//! config → data → kernels (fused CPU ops) → model (architecture × param) → record (the run
//! directory format) → train (loop, optimizer) → sweep (grids, runner, Slurm) → analysis (η*,
//! speedups) → probes (coordinate check, length extrapolation) → plot → report → figures;
//! conformance (golden PyTorch checks) and bench sit beside them. One arrow runs against the
//! flow on purpose: analysis is pure statistics on tables (it imports nothing from normlab),
//! and sweep's adaptive `[refine]` rounds use it to place the next learning rates. The command
//! line is the binary's `cli/`, which only parses, calls this library and prints.

pub mod analysis;
pub mod backend;
pub mod bench;
pub mod config;
pub mod conformance;
pub mod data;
pub mod figures;
pub mod kernels;
pub mod model;
pub mod param;
pub mod plot;
pub mod probes;
pub mod record;
pub mod report;
pub mod sweep;
pub mod train;
