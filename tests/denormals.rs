//! Flush-to-zero / denormals-are-zero: set in every rayon worker (where the kernels and the
//! GEMM run), switchable per run, recorded in summary.json. One test function, because the
//! denormal mode of rayon's global pool is process-wide state.

mod common;

use normlab::backend::{apply_flush_denormals, flush_denormals_enabled, init_threads};
use normlab::data::Dataset;
use normlab::train::{TrainOptions, train};
use std::hint::black_box;

/// (FTZ/DAZ bits set, the product of two normal floats whose exact value is subnormal) on
/// every worker of the global pool.
fn workers() -> Vec<(bool, f32)> {
    rayon::broadcast(|_| (flush_denormals_enabled(), black_box(1e-30f32) * black_box(1e-10f32)))
}

#[test]
fn denormals_are_flushed_in_workers_unless_switched_off() {
    init_threads();
    assert!(flush_denormals_enabled(), "main thread after init_threads");
    let w = workers();
    assert!(!w.is_empty());
    assert!(w.iter().all(|&(on, p)| on && p == 0.0), "after init_threads: {w:?}");

    apply_flush_denormals(false);
    let w = workers();
    assert!(w.iter().all(|&(on, p)| !on && p > 0.0 && p < f32::MIN_POSITIVE), "switched off: {w:?}");

    // A run applies its own switch to the pool and records it.
    let cfg = common::tiny("gpt", &["train.steps=2", "train.flush_denormals=true"]);
    let data = Dataset::load(&cfg.data, "tiny").unwrap();
    let opts = TrainOptions { out: common::tmpdir("ftz-on"), quiet: true, ..Default::default() };
    assert_eq!(train(&cfg, &data, &opts).unwrap().flush_denormals, Some(true));
    assert!(workers().iter().all(|&(on, p)| on && p == 0.0));

    let cfg = common::tiny("gpt", &["train.steps=2", "train.flush_denormals=false"]);
    let opts = TrainOptions { out: common::tmpdir("ftz-off"), quiet: true, ..Default::default() };
    let s = train(&cfg, &data, &opts).unwrap();
    assert_eq!(s.flush_denormals, Some(false));
    assert!(workers().iter().all(|&(on, _)| !on));
    let written = std::fs::read_to_string(opts.out.join("summary.json")).unwrap();
    assert!(written.contains("\"flush_denormals\": false"), "{written}");
    // One record of the setting (the measured one), not a second copy in `provenance`.
    assert_eq!(written.matches("flush_denormals").count(), 1, "{written}");
}

#[test]
fn switch_on_is_left_out_of_the_run_id() {
    let on = common::tiny("gpt", &[]);
    assert!(on.train.flush_denormals, "on by default");
    assert!(!on.to_toml().contains("flush_denormals"), "default must not change run ids");
    let off = common::tiny("gpt", &["train.flush_denormals=false"]);
    assert_ne!(normlab::sweep::plan::run_id(&on), normlab::sweep::plan::run_id(&off));
}
