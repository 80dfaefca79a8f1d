//! `normlab verify-backend`: the same tiny run (GPT, and nGPT with its constraint step) trained
//! for N steps on flex and on another device from the same initial weights, compared step by
//! step: loss, gradient norm (before clipping) and every weight after the step.
//!
//! The two sides cannot agree bit for bit: flex runs the fused CPU kernels (src/kernels), the
//! GPU the composite tensor ops; GPU matmuls and reductions sum in another order (tiles,
//! subgroups, atomics) and autotune picks kernels by timing. Each is a rounding-level (~1e-7
//! relative) difference per op, which training then carries and amplifies step by step. So
//! beside the device comparison the check measures that amplification on flex alone: the
//! same run from weights moved by one ulp each ([`Parity::baseline`]). A backend whose
//! difference is of that order computes the same training; a wrong kernel is orders of
//! magnitude off (tests/backends.rs injects small errors and sees them fail).

use crate::config::{ArchName, RunConfig};
use crate::data::Dataset;
use crate::model::params::{map_params, params};
use crate::model::{Architecture, with_arch};
use crate::train::optim::{Optimizer, lr_at, min_lr_frac, param_table};
use crate::train::{init_model, take_step};
use anyhow::{Result, bail};
use burn::prelude::*;

/// The differences of one step between two runs.
#[derive(Clone, Debug, Default)]
pub struct StepDiff {
    pub step: usize,
    /// Losses of the two runs at this step (before its update).
    pub loss: [f32; 2],
    pub grad_norm: [f64; 2],
    /// Largest |w_a − w_b| over every parameter after the step.
    pub weights_max_abs: f64,
}

impl StepDiff {
    pub fn loss_rel(&self) -> f64 {
        rel(self.loss[0] as f64, self.loss[1] as f64)
    }
    pub fn grad_norm_rel(&self) -> f64 {
        rel(self.grad_norm[0], self.grad_norm[1])
    }
}

fn rel(a: f64, b: f64) -> f64 {
    let d = (a - b).abs() / a.abs().max(b.abs()).max(f64::MIN_POSITIVE);
    if a.is_finite() && b.is_finite() { d } else { f64::INFINITY }
}

/// How far apart the device may be from flex at each step. On lavapipe the worst differences
/// over the 20 steps were loss 4.6e-7 (relative), gradient norm 3.8e-7 (relative) and weights
/// 1.1e-6 (absolute): the order of the one-ulp baseline's (7e-8, 1e-7, 1.6e-6). The tolerance
/// sits ≈ 20× above them, room for a GPU's other summation orders; the errors injected in
/// tests/backends.rs sit 6–60× above it (a wrong rotary pairing: loss 1.2e-4 at step 0 on
/// nGPT, weights 1.2e-3 on GPT; a learning rate 1% off: gradient norm 5.9e-5 at step 1).
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    pub loss_rel: f64,
    pub grad_norm_rel: f64,
    pub weights_abs: f64,
}

pub const TOLERANCE: Tolerance = Tolerance { loss_rel: 1e-5, grad_norm_rel: 1e-5, weights_abs: 2e-5 };

/// One architecture's comparison.
pub struct Parity {
    pub arch: ArchName,
    /// flex against the device, step by step.
    pub device: Vec<StepDiff>,
    /// flex against flex from weights one ulp away: the amplification of rounding alone.
    pub baseline: Vec<StepDiff>,
}

impl Parity {
    /// The first step (and which quantity) where the device is beyond `tol`, if any.
    pub fn first_failure(&self, tol: &Tolerance) -> Option<String> {
        first_beyond(&self.device, tol).map(|(step, what, e, t)| format!("{}: step {step}: {what} differs by {e:.2e} > {t:.0e}", self.arch.as_str()))
    }
}

/// The first step of `diffs` beyond `tol`: (step, quantity, difference, tolerance).
pub fn first_beyond(diffs: &[StepDiff], tol: &Tolerance) -> Option<(usize, &'static str, f64, f64)> {
    diffs.iter().find_map(|d| {
        [("loss", d.loss_rel(), tol.loss_rel), ("grad norm", d.grad_norm_rel(), tol.grad_norm_rel), ("weights", d.weights_max_abs, tol.weights_abs)]
            .into_iter()
            .find(|(_, e, t)| e.is_nan() || e > t)
            .map(|(what, e, t)| (d.step, what, e, t))
    })
}

/// The parity run's config: d=32, L=2, H=2, T=32, batch 8 on the char-level KJV corpus at
/// `corpus`, lr 3e-3 with 5 warm-up steps and clipping at 1 (so clipping acts in early steps).
pub fn parity_config(arch: ArchName, corpus: &str, steps: usize, overrides: &[String]) -> Result<RunConfig> {
    let text = format!(
        "name = \"parity-{0}\"\narch = \"{0}\"\nseed = 7\n[model]\nd_model = 32\nn_layer = 2\nn_head = 2\n\
         [data]\npath = \"{corpus}\"\nseq_len = 32\nbatch_size = 8\n[optim]\nlr = 3e-3\nwarmup_steps = 5\ngrad_clip = 1.0\n\
         [train]\nsteps = {steps}\neval_every = {steps}\ncheckpoint_every = 0\n",
        arch.as_str()
    );
    RunConfig::from_toml_str(&text, "verify-backend", overrides)
}

/// Train `cfg` for `cfg.train.steps` steps on flex and on `device` (plain) from the same
/// weights, and on flex from weights one ulp away; compare step by step.
pub fn compare(cfg: &RunConfig, data: &Dataset, device: &Device) -> Result<Parity> {
    compare_configs(cfg, cfg, data, device)
}

/// [`compare`] with the device side training `on_device` instead (the same architecture): how
/// the tests show that a small error there (a wrong rotary pairing, a 1% learning rate) fails.
pub fn compare_configs(cfg: &RunConfig, on_device: &RunConfig, data: &Dataset, device: &Device) -> Result<Parity> {
    if cfg.arch != on_device.arch {
        bail!("verify-backend: both sides must train the same architecture ({} vs {})", cfg.arch.as_str(), on_device.arch.as_str());
    }
    with_arch!(cfg.arch, |A| compare_arch::<A>(cfg, on_device, data, device))
}

fn compare_arch<A: Architecture>(cfg: &RunConfig, on_device: &RunConfig, data: &Dataset, device: &Device) -> Result<Parity> {
    let flex = Device::flex().autodiff();
    let reference = run::<A>(cfg, data, &flex, |m| m)?;
    let other = run::<A>(on_device, data, &device.clone().autodiff(), |m| m)?;
    let nudged = run::<A>(cfg, data, &flex, one_ulp_away)?;
    Ok(Parity { arch: cfg.arch, device: diffs(&reference, &other), baseline: diffs(&reference, &nudged) })
}

/// Per step: (loss, grad norm, every weight after the step, flattened in parameter order).
type Trace = Vec<(f32, f64, Vec<f32>)>;

fn run<A: Architecture>(cfg: &RunConfig, data: &Dataset, device: &Device, start: impl FnOnce(A) -> A) -> Result<Trace> {
    let (model, scaling) = init_model::<A>(cfg, data.vocab_size(), device);
    let mut model = start(model);
    let params = param_table(&model, &scaling);
    let mut optim = Optimizer::new(&params, &cfg.optim);
    let floor = min_lr_frac(cfg, &scaling);
    let steps = cfg.train.steps;
    let mut trace = Vec::with_capacity(steps);
    for step in 0..steps {
        let lr = lr_at(&cfg.optim, step, steps, floor);
        let (m, loss, gnorm) = take_step(model, &mut optim, &params, cfg, data, device, step, lr);
        let Some(gnorm) = gnorm else { bail!("{}: loss {loss} at step {step} on {device:?}: the parity run diverged", cfg.name) };
        model = m;
        trace.push((loss, gnorm, params_flat(&model)));
    }
    Ok(trace)
}

fn params_flat<A: Architecture>(m: &A) -> Vec<f32> {
    params(m).iter().flat_map(|p| p.values()).collect()
}

fn diffs(a: &Trace, b: &Trace) -> Vec<StepDiff> {
    a.iter()
        .zip(b)
        .enumerate()
        .map(|(step, ((la, ga, wa), (lb, gb, wb)))| StepDiff {
            step,
            loss: [*la, *lb],
            grad_norm: [*ga, *gb],
            weights_max_abs: wa.iter().zip(wb).map(|(x, y)| (*x as f64 - *y as f64).abs()).fold(0.0, f64::max),
        })
        .collect()
}

/// Every weight moved by one ulp, up or down by a fixed pseudo-random pattern (then the
/// architecture's constraint, as at init, so nGPT's rows stay unit-norm).
fn one_ulp_away<A: Architecture>(m: A) -> A {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let m = map_params(m, |_, _, flat| {
        let device = flat.device();
        let n = flat.dims()[0];
        let values: Vec<f32> = flat.into_data().try_into_vec().expect("f32 parameters");
        let moved: Vec<f32> = values
            .iter()
            .map(|&v| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let bits = v.to_bits();
                let up = (state & 1 == 1) == (v >= 0.0);
                f32::from_bits(if v == 0.0 {
                    bits
                } else if up {
                    bits + 1
                } else {
                    bits - 1
                })
            })
            .collect();
        Some(Tensor::from_data(TensorData::new(moved, [n]), &device))
    });
    m.post_step()
}

/// The report: per architecture, the worst difference of each kind over the steps next to
/// the one-ulp baseline's, and the first step beyond the tolerance.
pub fn print_report(results: &[Parity], tol: &Tolerance) -> bool {
    let worst = |d: &[StepDiff], f: &dyn Fn(&StepDiff) -> f64| d.iter().map(f).fold(0.0, f64::max);
    let mut ok = true;
    for p in results {
        let steps = p.device.len();
        println!("{}: {steps} steps, flex vs device (one-ulp baseline on flex in brackets)", p.arch.as_str());
        println!("  step  loss flex   loss dev    Δloss rel  Δgnorm rel  max|Δw|");
        for (d, b) in p.device.iter().zip(&p.baseline) {
            println!(
                "  {:>4}  {:>9.6}  {:>9.6}  {:>9.2e}  {:>10.2e}  {:>8.2e}   ({:.1e} {:.1e} {:.1e})",
                d.step,
                d.loss[0],
                d.loss[1],
                d.loss_rel(),
                d.grad_norm_rel(),
                d.weights_max_abs,
                b.loss_rel(),
                b.grad_norm_rel(),
                b.weights_max_abs
            );
        }
        let line = |name: &str, f: &dyn Fn(&StepDiff) -> f64, t: f64| {
            format!("{name} {:.2e} (baseline {:.2e}, tol {t:.0e})", worst(&p.device, f), worst(&p.baseline, f))
        };
        println!(
            "  worst: {}; {}; {}",
            line("Δloss rel", &|d| d.loss_rel(), tol.loss_rel),
            line("Δgnorm rel", &|d| d.grad_norm_rel(), tol.grad_norm_rel),
            line("max|Δw|", &|d| d.weights_max_abs, tol.weights_abs)
        );
        match p.first_failure(tol) {
            Some(why) => {
                println!("  FAIL {why}");
                ok = false;
            }
            None => println!("  ok"),
        }
    }
    println!("verify-backend: {}", if ok { "PASS" } else { "FAIL" });
    ok
}
