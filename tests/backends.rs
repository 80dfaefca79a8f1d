//! Device selection and backend parity on any build: the one-line refusal of a backend that
//! is not compiled in, and the parity check's calibration on flex alone — flex against itself
//! is exact, rounding-level noise (the one-ulp baseline) stays within the tolerance, and small
//! errors injected on the "device" side fail it. (Parity on a GPU adapter: tests/gpu.rs and
//! `normlab verify-backend` in CI.)

mod common;
use burn::prelude::Device;
use normlab::config::ArchName;
use normlab::conformance::parity::{TOLERANCE, compare, compare_configs, first_beyond, parity_config};
use normlab::data::Dataset;
use std::process::Command;

fn train_with(tag: &str, args: &[&str]) -> (std::process::Output, std::path::PathBuf) {
    let out = common::tmpdir(tag).join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_normlab"))
        .args(["train", "experiments/gpt-tiny.toml", "--out", out.to_str().unwrap()])
        .args(args)
        .current_dir(common::root())
        .output()
        .unwrap();
    (o, out)
}

/// One line on stderr, exit code 2, no panic, and nothing written.
fn assert_refused(o: &std::process::Output, out: &std::path::Path, needles: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "expected one line:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` missing from: {err}");
    }
    assert!(!out.exists(), "{} was created", out.display());
}

#[test]
fn a_backend_not_compiled_in_is_refused_in_one_line() {
    let mut missing = Vec::new();
    if !cfg!(feature = "wgpu") {
        missing.push("wgpu");
    }
    if !cfg!(feature = "cuda") {
        missing.push("cuda");
    }
    assert!(!missing.is_empty(), "this build has every backend; nothing to refuse");
    for b in missing {
        let (o, out) = train_with(&format!("no-{b}"), &["--backend", b]);
        let rebuild = format!("cargo build --release --features {b}");
        assert_refused(&o, &out, &[&format!("--backend {b}"), "not compiled into this binary", &rebuild, "--backend flex"]);
    }
    let (o, out) = train_with("api-on-flex", &["--graphics-api", "gl"]);
    assert_refused(&o, &out, &["--graphics-api applies to --backend wgpu only"]);
}

fn parity_data(cfg: &normlab::config::RunConfig) -> Dataset {
    Dataset::load(&cfg.data, "parity test").unwrap()
}

fn corpus() -> String {
    common::root().join("data/kjv.txt").display().to_string()
}

#[test]
fn parity_of_flex_with_itself_is_exact_and_rounding_noise_fits_the_tolerance() {
    for arch in [ArchName::Gpt, ArchName::Ngpt] {
        let cfg = parity_config(arch, &corpus(), 20, &[]).unwrap();
        let p = compare(&cfg, &parity_data(&cfg), &Device::flex()).unwrap();
        assert_eq!(p.device.len(), 20);
        for d in &p.device {
            assert!(d.loss[0] == d.loss[1] && d.grad_norm[0] == d.grad_norm[1] && d.weights_max_abs == 0.0, "{arch:?} step {}: {d:?}", d.step);
        }
        // One ulp on every initial weight moves the run (so the baseline measures something)...
        let last = p.baseline.last().unwrap();
        assert!(last.weights_max_abs > 0.0 && last.grad_norm_rel() > 0.0, "{arch:?}: the one-ulp run did not move: {last:?}");
        // ...and rounding noise alone stays inside the tolerance at every step.
        assert_eq!(first_beyond(&p.baseline, &TOLERANCE), None, "{arch:?}: the tolerance is tighter than rounding noise");
    }
}

#[test]
fn small_errors_on_the_device_side_fail_parity() {
    // A wrong rotary pairing (the NVIDIA function instead of the rotation) and a learning rate
    // 1% off: both must be caught, the first at the first step, the second at the first step
    // its update shows in (step 1).
    let cases: [(ArchName, &str, usize); 3] = [
        (ArchName::Gpt, "model.rope=nvidia_reference", 0),
        (ArchName::Ngpt, "model.rope=nvidia_reference", 0),
        (ArchName::Ngpt, "optim.lr=3.03e-3", 20),
    ];
    for (arch, wrong, by_step) in cases {
        let cfg = parity_config(arch, &corpus(), 20, &[]).unwrap();
        let off = parity_config(arch, &corpus(), 20, &[wrong.to_string()]).unwrap();
        let p = compare_configs(&cfg, &off, &parity_data(&cfg), &Device::flex()).unwrap();
        let failed = first_beyond(&p.device, &TOLERANCE);
        assert!(failed.is_some_and(|(step, ..)| step <= by_step), "{arch:?} with {wrong}: not caught by step {by_step}: {failed:?}");
    }
}
