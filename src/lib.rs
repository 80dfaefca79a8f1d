//! normlab: a research harness for normalized transformers.
//!
//! Data flows one way through the modules, in this order:
//! config → data → kernels (fused CPU ops) → model (architecture × parameterization) → optim → train → record
//! → reference/bench (checks of the model and trainer).

pub mod config;
pub mod data;
pub mod param;
pub mod kernels;
pub mod model;
pub mod optim;
pub mod train;
pub mod eval;
pub mod coord_check;
pub mod alignment;
pub mod record;
pub mod reference;
pub mod sweep;
pub mod analysis;
pub mod bench;
pub mod backend;
pub mod plot;
pub mod report;
pub mod figures;
pub mod figure_data;
