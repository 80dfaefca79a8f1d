//! WSD cool-down branches (`train.branches`): a trunk trained with warmup-stable-decay shares
//! every step before a shorter run's cool-down with it, so that run's final loss is the trunk's
//! state at the branch point stepped through the shorter cool-down.

use super::optim::{Optimizer, ParamInfo, lr_at};
use super::{TrainOptions, evaluate, take_step};
use crate::config::{RunConfig, cooldown_start};
use crate::data::Dataset;
use crate::model::Architecture;
use crate::record::Branch;
use burn::prelude::*;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The configured branch budgets not yet in `done`, in order.
pub fn pending<'a>(cfg: &'a RunConfig, done: &'a [Branch]) -> impl Iterator<Item = usize> + 'a {
    cfg.train.branches.iter().copied().filter(move |&b| !done.iter().any(|d| d.steps == b))
}

/// The cool-down of the WSD run of `budget` steps, stepped on copies of the trunk's model and
/// optimizer from the branch point to `budget`, then evaluated. Its wall time is its own (the
/// caller adds the trunk's). `None` when stopped by a signal half-way (the trunk redoes the
/// branch when it resumes from a checkpoint before the branch point).
#[allow(clippy::too_many_arguments)]
pub fn cool_down<A: Architecture>(
    model: &A,
    optim: &Optimizer,
    params: &[ParamInfo],
    cfg: &RunConfig,
    data: &Dataset,
    base: &Device,
    budget: usize,
    floor: f64,
    opts: &TrainOptions,
) -> Option<Branch> {
    let t0 = Instant::now();
    let device = base.clone().autodiff();
    let (mut model, mut optim) = (model.clone(), optim.clone());
    let mut last = None;
    for step in cooldown_start(budget, cfg.optim.cooldown_frac)..budget {
        if opts.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) {
            return None;
        }
        let lr = lr_at(&cfg.optim, step, budget, floor);
        let (m, loss, gnorm) = take_step(model, &mut optim, params, cfg, data, &device, step, lr);
        model = m;
        if gnorm.is_none() {
            return Some(Branch {
                steps: budget,
                final_val_loss: None,
                final_train_loss: Some(loss as f64),
                diverged: true,
                wall_s: t0.elapsed().as_secs_f64(),
            });
        }
        last = Some(loss as f64);
    }
    let val = evaluate(&model, data, data.seq_len, base);
    Some(Branch { steps: budget, final_val_loss: Some(val), final_train_loss: last, diverged: false, wall_s: t0.elapsed().as_secs_f64() })
}
