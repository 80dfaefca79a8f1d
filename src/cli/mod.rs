//! One file per command: its arguments (clap), the library call, and what it prints.

pub mod bench;
pub mod coord_check;
pub mod eval;
pub mod figure;
pub mod report;
pub mod sweep;
pub mod train;
pub mod verify_backend;
pub mod verify_reference;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// A flag set by SIGINT/SIGTERM, so long work stops at its next safe point.
pub fn stop_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, stop.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, stop.clone())?;
    Ok(stop)
}
