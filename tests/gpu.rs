//! The wgpu backend on a real adapter (in CI: Mesa's lavapipe, software Vulkan): the same
//! initial weights as flex, the adapter recorded, the one-line refusals without a driver or
//! with an API that cannot train, and a sweep that resumes after SIGKILL. Built only with
//! `--features wgpu` (`cargo test --release --features wgpu --test gpu`, the CI GPU step).
//! These tests never skip: without a Vulkan adapter they fail, saying so.
#![cfg(feature = "wgpu")]

mod common;
use burn::prelude::Device;
use normlab::backend::{DeviceSpec, GraphicsApi};
use normlab::model::{Architecture, angpt::Angpt, gpt::Gpt, gpt_plus::GptPlus, ngpt::Ngpt, params::params};
use normlab::record::{Metrics, RunDir};
use normlab::train::init_model;
use std::process::{Command, Output};

fn vulkan() -> Device {
    match DeviceSpec::wgpu(GraphicsApi::Vulkan).open() {
        Ok((device, _)) => device,
        Err(e) => panic!("the wgpu tests need a Vulkan adapter (CI installs mesa-vulkan-drivers for lavapipe): {e:#}"),
    }
}

fn normlab(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_normlab")).args(args).envs(env.iter().copied()).current_dir(common::root()).output().unwrap()
}

/// Every parameter's path and bits, as `init_model` creates them on `device`.
fn weights<A: Architecture>(arch: &str, device: &Device) -> Vec<(String, Vec<u32>)> {
    let cfg = common::tiny(arch, &[]);
    let (m, _) = init_model::<A>(&cfg, 73, device);
    params(&m).iter().map(|p| (p.path.clone(), p.values().iter().map(|v| v.to_bits()).collect())).collect()
}

fn same_weights<A: Architecture>(arch: &str, gpu: &Device) {
    let (flex, wgpu) = (weights::<A>(arch, &Device::flex().autodiff()), weights::<A>(arch, gpu));
    assert!(!flex.is_empty() && flex.len() == wgpu.len(), "{arch}: {} vs {} parameters", flex.len(), wgpu.len());
    for ((path, a), (path_b, b)) in flex.iter().zip(&wgpu) {
        assert_eq!(path, path_b);
        let differ = a.iter().zip(b).filter(|(x, y)| x != y).count();
        assert!(differ == 0 && a.len() == b.len(), "{arch}: {path}: {differ} of {} initial weights differ between flex and wgpu", a.len());
    }
}

#[test]
fn initial_weights_are_the_same_on_flex_and_wgpu() {
    let gpu = vulkan().autodiff();
    same_weights::<Gpt>("gpt", &gpu);
    same_weights::<GptPlus>("gpt_plus", &gpu);
    same_weights::<Ngpt>("ngpt", &gpu);
    same_weights::<Angpt>("angpt", &gpu);
}

#[test]
fn a_run_on_wgpu_records_the_adapter_it_used() {
    let out = common::tmpdir("gpu-prov").join("run");
    let o = normlab(
        &["train", "experiments/gpt-tiny.toml", "--set", "model.d_model=32", "--set", "model.n_layer=1", "--set", "data.seq_len=32"]
            .into_iter()
            .chain(["--set", "data.batch_size=4", "--set", "train.steps=3", "--set", "train.eval_every=3", "--quiet", "--backend", "wgpu"])
            .chain(["--out", out.to_str().unwrap()])
            .collect::<Vec<_>>(),
        &[],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let first = err.lines().find(|l| l.contains("starting at step")).expect("a start line");
    assert!(first.contains("starting at step 0/3 on wgpu: ") && first.contains("Vulkan, WGSL]"), "{first}");
    let s = RunDir::new(&out).read_summary().unwrap();
    assert_eq!(s.backend, "wgpu");
    let p = s.provenance.unwrap();
    assert_eq!((p.device.graphics_api.as_str(), p.device.shader_language.as_str()), ("Vulkan", "WGSL"));
    assert!(!p.device.device.is_empty() && !p.device.driver.is_empty(), "{:?}", p.device);
    assert!(first.contains(&p.device.device) && first.contains(&p.device.device_type), "{first}");
    assert!(["software", "hardware"].contains(&p.device.device_type.as_str()), "{:?}", p.device);
}

/// Without a Vulkan driver (the loader pointed at a missing file, or at an empty folder):
/// exit 2 with one line naming what was looked for, no panic, nothing written.
#[test]
fn no_vulkan_driver_is_one_line_and_nothing_written() {
    let empty = common::tmpdir("no-icd");
    for icd in ["/nonexistent/icd.json", empty.to_str().unwrap()] {
        let out = common::tmpdir("no-adapter").join("run");
        let o = normlab(&["train", "experiments/gpt-tiny.toml", "--backend", "wgpu", "--out", out.to_str().unwrap()], &[("VK_DRIVER_FILES", icd)]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "VK_DRIVER_FILES={icd}: {err}");
        assert_eq!(err.lines().count(), 1, "VK_DRIVER_FILES={icd}: expected one line:\n{err}");
        for needle in ["--backend wgpu: no Vulkan adapter found", &format!("VK_DRIVER_FILES={icd}"), "mesa-vulkan-drivers", "--backend flex"] {
            assert!(err.contains(needle), "`{needle}` missing: {err}");
        }
        assert!(!out.exists());
    }
}

/// OpenGL through Mesa (llvmpipe) has no f32 atomics: asked for, it is refused in one line
/// before training (it used to panic in the first step).
#[test]
fn gl_without_f32_atomics_is_refused_in_one_line() {
    let out = common::tmpdir("gl").join("run");
    let o = normlab(&["train", "experiments/gpt-tiny.toml", "--backend", "wgpu", "--graphics-api", "gl", "--out", out.to_str().unwrap()], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "expected one line:\n{err}");
    assert!(err.contains("has no f32 atomic add") && err.contains("--graphics-api vulkan"), "{err}");
    assert!(!err.contains("panicked") && !out.exists());
}

/// A 2-run sweep on wgpu killed with SIGKILL mid-run resumes from its checkpoints; the resumed
/// run's curve matches the same run uninterrupted.
#[test]
fn sweep_on_wgpu_resumes_after_sigkill() {
    vulkan();
    let k = common::sigkill_sweep_then_rerun("gpu-kill", 40, 10, &["--backend", "wgpu"]);
    let a = Metrics::read(&k.run.metrics()).unwrap();
    let b = Metrics::read(&k.straight.metrics()).unwrap();
    for (i, (x, y)) in a.train_loss.iter().zip(&b.train_loss).enumerate() {
        assert!((x - y).abs() <= 1e-4 * x.abs(), "step {i}: resumed {x} vs uninterrupted {y}");
    }
    for run in [&k.run, &k.straight] {
        assert_eq!(run.read_summary().unwrap().backend, "wgpu");
    }
}
