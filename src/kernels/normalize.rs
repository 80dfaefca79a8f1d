//! Row normalization over the last axis: RMS (x / √(mean(x²) + ε), GPT's RMSNorm without its
//! gain) and unit (x / max(‖x‖, 1e-12), nGPT's h, q, k and sub-block outputs).
//!
//! Why: as tensor ops each is square, reduce, add/clamp, sqrt, divide forward and about twice
//! that backward, single-threaded passes over the activations; nGPT runs six per layer. Here
//! one multi-threaded pass each way. With y = x / n and n = √(c·Σx² + ε):
//! dx = (dy − c · y · Σ(dy ⊙ y)) / n, where c = 1/width (RMS) or 1 (unit; dx = dy / n when
//! the clamp is active).

use super::{rows, rows_per_task, shaped_like, width};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use rayon::prelude::*;

/// ε inside RMSNorm's root, as in the reference.
pub const RMS_EPS: f64 = 1e-6;
/// Floor of the norm in unit normalization.
pub const UNIT_FLOOR: f64 = 1e-12;

#[backend_extension(Flex, Autodiff)]
pub trait FusedNormalize: burn::backend::Backend {
    /// `rms`: RMS normalization; otherwise unit normalization.
    fn fused_normalize_last(x: FloatTensor<Self>, rms: bool) -> FloatTensor<Self>;
}

/// x / √(mean(x²) + ε) over the last axis.
pub fn rms_normalize<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if super::fusable(&x) {
        Tensor::from_dispatch(<Dispatch as FusedNormalize>::fused_normalize_last(x.into_dispatch(), true))
    } else {
        rms_normalize_composite(x)
    }
}

/// x / max(‖x‖, 1e-12) along `dim`.
pub fn unit_norm<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    if dim == D - 1 && super::fusable(&x) {
        Tensor::from_dispatch(<Dispatch as FusedNormalize>::fused_normalize_last(x.into_dispatch(), false))
    } else {
        unit_norm_composite(x, dim)
    }
}

pub fn rms_normalize_composite<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let ms = x.clone().square().mean_dim(D - 1);
    x / (ms + RMS_EPS).sqrt()
}

pub fn unit_norm_composite<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    let n = x.clone().square().sum_dim(dim).sqrt().clamp_min(UNIT_FLOOR);
    x / n
}

impl FusedNormalize for Flex {
    fn fused_normalize_last(x: FlexTensor, rms: bool) -> FlexTensor {
        forward(&x.to_contiguous(), rms).0
    }
}

impl<C: CheckpointStrategy> FusedNormalize for Autodiff<Flex, C> {
    fn fused_normalize_last(x: FloatTensor<Self>, rms: bool) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct NormalizeBackward;

        impl Backward<Flex, 1> for NormalizeBackward {
            /// y, per-row n (negated where the unit clamp is active), rms.
            type State = (FlexTensor, Vec<f32>, bool);

            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [node] = ops.parents;
                let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
                if let Some(node) = node {
                    let (y, n, rms) = &ops.state;
                    grads.register::<Flex>(node.id, backward(y, n, *rms, &dy));
                }
            }
        }

        let (x, node) = x.into_parts();
        let x = x.to_contiguous();
        match NormalizeBackward.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (y, n) = forward(&x, rms);
                prep.finish((y.clone(), n, rms), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(&x, rms).0),
        }
    }
}

/// y and the per-row divisor n; for unit rows whose norm is clamped, n is stored negated so
/// backward knows the clamp was active.
fn forward(x: &FlexTensor, rms: bool) -> (FlexTensor, Vec<f32>) {
    let w = width(x);
    let src: &[f32] = x.as_slice().expect("contiguous");
    let mut y = super::output(src.len());
    let mut n = vec![0f32; src.len() / w.max(1)];
    let rows = rows_per_task(w);
    y.par_chunks_mut(rows * w).zip(src.par_chunks(rows * w)).zip(n.par_chunks_mut(rows)).for_each(|((y, x), n)| {
        for ((y, x), n) in y.chunks_mut(w).zip(x.chunks(w)).zip(n.iter_mut()) {
            let ss = rows::dot(x, x);
            let (div, clamped) = if rms {
                ((ss / w as f32 + RMS_EPS as f32).sqrt(), false)
            } else {
                let norm = ss.sqrt();
                if norm > UNIT_FLOOR as f32 { (norm, false) } else { (UNIT_FLOOR as f32, true) }
            };
            rows::divide(y, x, div);
            *n = if clamped { -div } else { div };
        }
    });
    (shaped_like(x, y, w), n)
}

fn backward(y: &FlexTensor, n: &[f32], rms: bool, dy: &FlexTensor) -> FlexTensor {
    let w = width(y);
    let c = if rms { 1.0 / w as f32 } else { 1.0 };
    let ys: &[f32] = y.as_slice().expect("contiguous");
    let dys: &[f32] = dy.as_slice().expect("contiguous");
    let mut dx = super::output(ys.len());
    let rows = rows_per_task(w);
    dx.par_chunks_mut(rows * w).zip(ys.par_chunks(rows * w)).zip(dys.par_chunks(rows * w)).zip(n.par_chunks(rows)).for_each(|(((dx, y), dy), n)| {
        for (((dx, y), dy), &n) in dx.chunks_mut(w).zip(y.chunks(w)).zip(dy.chunks(w)).zip(n) {
            let inv = 1.0 / n.abs();
            let proj = if n < 0.0 { 0.0 } else { c * rows::dot(y, dy) };
            rows::normalize_backward(dx, y, dy, proj, inv);
        }
    });
    shaped_like(y, dx, w)
}
