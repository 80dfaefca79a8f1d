//! `normlab bench`: median tokens/s of a fixed config and the split of a step into forward,
//! backward, optimizer and post-step constraint; several architectures measured side by
//! side (interleaved A B A B) so their ratios share the machine's noise.

use crate::config::{ArchName, RunConfig};
use crate::model::{Architecture, Probe, cross_entropy, tokens, with_arch};
use crate::train::init_model;
use crate::train::optim::{Optimizer, param_table};
use burn::optim::GradientsParams;
use burn::prelude::*;
use rand::{Rng, SeedableRng, rngs::SmallRng};
use std::time::Instant;

#[derive(Clone, Debug, Default)]
pub struct StepTimes {
    pub forward: Vec<f64>,
    pub backward: Vec<f64>,
    pub optimizer: Vec<f64>,
    pub constraint: Vec<f64>,
    pub total: Vec<f64>,
    /// Most bytes the device's allocator held after any step (None: flex, which does not say).
    pub peak_bytes: Option<u64>,
}

pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if s.is_empty() { f64::NAN } else { s[s.len() / 2] }
}

/// One timed training step on (inputs, targets), adding its split to the times.
type StepFn = Box<dyn FnMut(&mut StepTimes, &[i64], &[i64])>;

/// A model + optimizer ready to time steps on random tokens.
pub struct Bench {
    cfg: RunConfig,
    vocab: usize,
    runner: StepFn,
}

impl Bench {
    pub fn new(cfg: &RunConfig, vocab: usize, device: &Device) -> Self {
        let runner = with_arch!(cfg.arch, |A| stepper::<A>(cfg, vocab, device));
        Self { cfg: cfg.clone(), vocab, runner }
    }

    /// Time `n` steps, appending to `times`.
    pub fn run(&mut self, n: usize, rng: &mut SmallRng, times: &mut StepTimes) {
        let (b, t) = (self.cfg.data.batch_size, self.cfg.data.seq_len);
        for _ in 0..n {
            let x: Vec<i64> = (0..b * t).map(|_| rng.random_range(0..self.vocab as i64)).collect();
            let y: Vec<i64> = (0..b * t).map(|_| rng.random_range(0..self.vocab as i64)).collect();
            (self.runner)(times, &x, &y);
        }
    }

    pub fn tokens_per_step(&self) -> usize {
        self.cfg.data.batch_size * self.cfg.data.seq_len
    }
}

fn stepper<A: Architecture>(cfg: &RunConfig, vocab: usize, device: &Device) -> StepFn {
    let (model, scaling) = init_model::<A>(cfg, vocab, device);
    let mut model = Some(model);
    let params = param_table(model.as_ref().unwrap(), &scaling);
    let mut opt = Optimizer::new(&params, &cfg.optim);
    let (b, t) = (cfg.data.batch_size, cfg.data.seq_len);
    let lr = cfg.optim.lr;
    let device = device.clone();
    Box::new(move |times: &mut StepTimes, x: &[i64], y: &[i64]| {
        let m = model.take().unwrap();
        let t0 = Instant::now();
        let loss = cross_entropy(m.forward(tokens(x, b, t, &device), &mut Probe::off()), tokens(y, b, t, &device));
        let _ = loss.clone().into_scalar::<f32>();
        let t1 = Instant::now();
        let grads = GradientsParams::from_grads(loss.backward(), &m);
        let t2 = Instant::now();
        let m = {
            let mut grads = grads;
            opt.clip(&mut grads, &params);
            let m = opt.update(m, grads, lr);
            sync(&m);
            m
        };
        let t3 = Instant::now();
        let m = m.post_step();
        sync(&m);
        let t4 = Instant::now();
        times.forward.push((t1 - t0).as_secs_f64());
        times.backward.push((t2 - t1).as_secs_f64());
        times.optimizer.push((t3 - t2).as_secs_f64());
        times.constraint.push((t4 - t3).as_secs_f64());
        times.total.push((t4 - t0).as_secs_f64());
        // The pool keeps the pages of a step's activations for the next one, so what it holds
        // after a step is that step's peak.
        if let Some(u) = device.memory_pool_usage() {
            times.peak_bytes = Some(times.peak_bytes.unwrap_or(0).max(u.bytes_reserved));
        }
        model = Some(m);
    })
}

/// Force pending work on every parameter to finish (so the timer sees it).
fn sync<M: burn::module::Module>(m: &M) {
    struct S;
    impl burn::module::ModuleVisitor for S {
        fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
            let _ = p.val().inner().sum().into_scalar::<f32>();
        }
    }
    m.visit(&mut S);
}

/// Bench config: d=128, L=4, H=4, T=128, batch 16, vocab 256 unless overridden.
pub fn bench_config(arch: ArchName, overrides: &[String]) -> anyhow::Result<RunConfig> {
    let base = format!("arch = \"{}\"\n[model]\nd_model = 128\nn_layer = 4\nn_head = 4\n[data]\nseq_len = 128\nbatch_size = 16\n", arch.as_str());
    RunConfig::from_toml_str(&base, "bench", overrides)
}

pub struct BenchResult {
    pub arch: ArchName,
    pub times: StepTimes,
    pub tokens_per_step: usize,
}

impl BenchResult {
    pub fn tokens_per_s(&self) -> f64 {
        self.tokens_per_step as f64 / median(&self.times.total)
    }
}

/// Interleave the architectures round by round (A B C A B C …) after `warmup` steps each, on
/// `device` (a plain device; the steps run on its autodiff twin).
pub fn run(
    archs: &[ArchName],
    overrides: &[String],
    vocab: usize,
    steps: usize,
    warmup: usize,
    rounds: usize,
    device: &Device,
) -> anyhow::Result<Vec<BenchResult>> {
    let device = device.clone().autodiff();
    let mut benches = Vec::new();
    for &a in archs {
        let cfg = bench_config(a, overrides)?;
        benches.push(Bench::new(&cfg, vocab, &device));
    }
    let mut rng = SmallRng::seed_from_u64(0);
    let mut results: Vec<BenchResult> =
        benches.iter().zip(archs).map(|(b, &a)| BenchResult { arch: a, times: StepTimes::default(), tokens_per_step: b.tokens_per_step() }).collect();
    for b in &mut benches {
        b.run(warmup, &mut rng, &mut StepTimes::default());
    }
    let per_round = steps.div_ceil(rounds).max(1);
    for _ in 0..rounds {
        for (b, r) in benches.iter_mut().zip(&mut results) {
            b.run(per_round, &mut rng, &mut r.times);
        }
    }
    Ok(results)
}
