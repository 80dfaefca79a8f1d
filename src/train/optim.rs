//! AdamW with parameter groups (per-group LR multiplier, weight decay and ε from the
//! parameterization), global-norm gradient clipping, and the warm-up + cosine or warmup-stable-decay schedule.
//!
//! The update is burn's AdamW, which is PyTorch's formula: p ← p(1 − lr·wd); Adam moments;
//! p ← p − lr·m̂/(√v̂ + ε). burn's own defaults (β2 0.999, ε 1e-5, wd 1e-4) and its per-tensor
//! clipping are never used: every value comes from the config.

use crate::config::{OptimConfig, RunConfig, ScheduleKind, cooldown_start};
use crate::model::Architecture;
use crate::param::{Multipliers, Scaling};
use burn::lr_scheduler::module_lr_scheduler::{ModuleLearningRate, ModuleLrScheduler};
use burn::module::{ParamGroup, ParamId};
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;

/// One trainable tensor as the optimizer sees it.
#[derive(Clone, Debug)]
pub struct ParamInfo {
    pub path: String,
    pub id: ParamId,
    pub shape: Vec<usize>,
    pub mult: Multipliers,
}

/// Every trainable parameter with its role's multipliers, in module order (frozen tensors,
/// such as anGPT's calibrated ν, are left out).
pub fn param_table<A: Architecture>(model: &A, scaling: &Scaling) -> Vec<ParamInfo> {
    crate::model::params::params(model)
        .into_iter()
        .filter(|p| p.trainable)
        .map(|p| {
            let mult = scaling.get(A::role(&p.path, p.shape.len()));
            ParamInfo { path: p.path, id: p.id, shape: p.shape, mult }
        })
        .collect()
}

/// The optimizer and the per-group learning-rate multipliers of one run. Cloning it copies the
/// Adam moments (a cool-down branch steps its own copy).
#[derive(Clone)]
pub struct Optimizer {
    pub inner: ModuleOptimizer,
    /// (group of parameter ids, LR multiplier); parameters not listed use 1.
    lr_groups: Vec<(ParamGroup, f64)>,
    pub clip: f64,
}

impl Optimizer {
    pub fn new(params: &[ParamInfo], o: &OptimConfig) -> Self {
        let base = |wd: f64, eps: f64| {
            AdamWConfig::new().with_beta_1(o.beta1 as f32).with_beta_2(o.beta2 as f32).with_epsilon(eps as f32).with_weight_decay(wd as f32)
        };
        // One optimizer group per distinct (weight decay, ε).
        let mut inner = base(0.0, o.eps).init();
        let mut keys: Vec<(f64, f64)> = params.iter().map(|p| (p.mult.weight_decay, p.mult.eps)).collect();
        keys.sort_by(|a, b| a.partial_cmp(b).unwrap());
        keys.dedup();
        for (wd, eps) in keys {
            let ids = params.iter().filter(|p| (p.mult.weight_decay, p.mult.eps) == (wd, eps)).map(|p| p.id).collect();
            inner = inner.with_group(ParamGroup::from_ids(ids), base(wd, eps).build(), None);
        }
        let mut lrs: Vec<f64> = params.iter().map(|p| p.mult.lr).filter(|&m| m != 1.0).collect();
        lrs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        lrs.dedup();
        let lr_groups =
            lrs.into_iter().map(|m| (ParamGroup::from_ids(params.iter().filter(|p| p.mult.lr == m).map(|p| p.id).collect()), m)).collect();
        Self { inner, lr_groups, clip: o.grad_clip }
    }

    /// Per-parameter learning rates for a global (scheduled) `lr`.
    pub fn learning_rates(&self, lr: f64) -> ModuleLearningRate {
        let mut s = ModuleLrScheduler::new(lr);
        for (g, m) in &self.lr_groups {
            s = s.with_group(g.clone(), lr * m);
        }
        s.step()
    }

    /// Clip (when configured), take one AdamW step, apply the architecture's constraint.
    /// Returns the model and the global gradient norm before clipping.
    pub fn step<A: Architecture>(&mut self, model: A, mut grads: GradientsParams, params: &[ParamInfo], lr: f64) -> (A, f64) {
        let norm = self.clip(&mut grads, params);
        (self.update(model, grads, lr).post_step(), norm)
    }

    /// Global-norm clipping (when configured); returns the norm before clipping.
    pub fn clip(&self, grads: &mut GradientsParams, params: &[ParamInfo]) -> f64 {
        let norm = global_grad_norm(grads, params);
        if self.clip > 0.0 {
            scale_grads(grads, params, (self.clip / (norm + 1e-6)).min(1.0));
        }
        norm
    }

    /// The AdamW update alone (per-group LR, weight decay and ε), without the constraint.
    pub fn update<A: Architecture>(&mut self, model: A, grads: GradientsParams, lr: f64) -> A {
        self.inner.step(self.learning_rates(lr), model, grads)
    }
}

/// √(Σ over all tensors of Σ g²): one global norm, as torch.nn.utils.clip_grad_norm_.
pub fn global_grad_norm(grads: &GradientsParams, params: &[ParamInfo]) -> f64 {
    let mut total: Option<Tensor<1>> = None;
    for p in params {
        let sq = match p.shape.len() {
            1 => grads.get::<1>(p.id).map(|g| g.square().sum()),
            2 => grads.get::<2>(p.id).map(|g| g.square().sum()),
            3 => grads.get::<3>(p.id).map(|g| g.square().sum()),
            _ => None,
        };
        if let Some(sq) = sq {
            total = Some(match total {
                Some(t) => t + sq,
                None => sq,
            });
        }
    }
    total.map(|t| (t.into_scalar::<f32>() as f64).sqrt()).unwrap_or(0.0)
}

/// Multiply every gradient by `factor` (no-op when it is 1).
pub fn scale_grads(grads: &mut GradientsParams, params: &[ParamInfo], factor: f64) {
    if factor >= 1.0 {
        return;
    }
    for p in params {
        match p.shape.len() {
            1 => {
                if let Some(g) = grads.remove::<1>(p.id) {
                    grads.register(p.id, g * factor)
                }
            }
            2 => {
                if let Some(g) = grads.remove::<2>(p.id) {
                    grads.register(p.id, g * factor)
                }
            }
            3 => {
                if let Some(g) = grads.remove::<3>(p.id) {
                    grads.register(p.id, g * factor)
                }
            }
            _ => {}
        }
    }
}

/// Linear warm-up from 0 over `warmup` steps, then cosine from the peak to `floor`·peak at `total`.
/// `step` counts from 0 (the LR used for the update of step `step`).
pub fn schedule(step: usize, total: usize, warmup: usize, peak: f64, floor: f64) -> f64 {
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let decay = (total - warmup).max(1) as f64;
    let progress = ((step - warmup) as f64 / decay).min(1.0);
    let cos = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
    peak * (floor + (1.0 - floor) * cos)
}

/// The learning rate of `step` (from 0) in a run of `total` steps, by the config's schedule.
pub fn lr_at(o: &OptimConfig, step: usize, total: usize, floor: f64) -> f64 {
    match o.schedule {
        ScheduleKind::Cosine => schedule(step, total, o.warmup_steps, o.lr, floor),
        ScheduleKind::Wsd => wsd(step, total, o.warmup_steps, o.lr, floor, o.cooldown_frac),
    }
}

/// Warmup-stable-decay: linear warm-up as [`schedule`], the peak until [`cooldown_start`], then
/// linear from the peak towards `floor`·peak, reached one step after the last.
pub fn wsd(step: usize, total: usize, warmup: usize, peak: f64, floor: f64, cooldown_frac: f64) -> f64 {
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let start = cooldown_start(total, cooldown_frac);
    if step < start {
        return peak;
    }
    let progress = ((step - start) as f64 / (total - start) as f64).min(1.0);
    peak * (floor + (1.0 - floor) * (1.0 - progress))
}

/// The cosine floor of a run: the parameterization's if it sets one, else the config's.
pub fn min_lr_frac(cfg: &RunConfig, scaling: &Scaling) -> f64 {
    scaling.min_lr_frac.unwrap_or(cfg.optim.min_lr_frac)
}
