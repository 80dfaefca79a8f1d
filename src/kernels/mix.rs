//! A per-channel mix of two activations, z = a ⊙ x + b ⊙ y over the last axis (a, b of length
//! d): nGPT's LERP (a = 1 − α, b = α) and anGPT's ν-scaled LERP (a₁, a₂).
//!
//! Why: as tensor ops this is two broadcast products and a sum forward and about six passes
//! backward (with reductions over all rows for ∂a, ∂b), each single-threaded on flex; both
//! architectures run two per layer. Here one multi-threaded pass each way:
//! ∂x = a ⊙ ∂z, ∂y = b ⊙ ∂z, ∂a = Σ_rows ∂z ⊙ x, ∂b = Σ_rows ∂z ⊙ y (partial sums over fixed
//! row blocks added in block order, so the result does not depend on the thread count).

use super::{rows_per_task, shaped_like};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use rayon::prelude::*;

#[backend_extension(Flex, Autodiff)]
pub trait FusedMix: burn::backend::Backend {
    fn fused_mix(x: FloatTensor<Self>, y: FloatTensor<Self>, a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// a ⊙ x + b ⊙ y, with a, b [d] (or [1]) broadcast over the leading axes of x, y [.., d].
pub fn mix<const D: usize>(x: Tensor<D>, y: Tensor<D>, a: Tensor<1>, b: Tensor<1>) -> Tensor<D> {
    let d = x.dims()[D - 1];
    let (a, b) = (a.expand([d]), b.expand([d]));
    if super::fusable(&x) {
        let [x, y, a, b] = [x.into_dispatch(), y.into_dispatch(), a.into_dispatch(), b.into_dispatch()];
        Tensor::from_dispatch(<Dispatch as FusedMix>::fused_mix(x, y, a, b))
    } else {
        mix_composite(x, y, a, b)
    }
}

pub fn mix_composite<const D: usize>(x: Tensor<D>, y: Tensor<D>, a: Tensor<1>, b: Tensor<1>) -> Tensor<D> {
    x * a.unsqueeze::<D>() + y * b.unsqueeze::<D>()
}

impl FusedMix for Flex {
    fn fused_mix(x: FlexTensor, y: FlexTensor, a: FlexTensor, b: FlexTensor) -> FlexTensor {
        forward(&x.to_contiguous(), &y.to_contiguous(), &a.to_contiguous(), &b.to_contiguous())
    }
}

impl<C: CheckpointStrategy> FusedMix for Autodiff<Flex, C> {
    fn fused_mix(x: FloatTensor<Self>, y: FloatTensor<Self>, a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct MixBackward;

        impl Backward<Flex, 4> for MixBackward {
            type State = [FlexTensor; 4];

            fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
                let dz = grads.consume::<Flex>(&ops.node).to_contiguous();
                let [x, y, a, b] = &ops.state;
                for (node, grad) in ops.parents.into_iter().zip(backward(x, y, a, b, &dz)) {
                    if let Some(node) = node {
                        grads.register::<Flex>(node.id, grad);
                    }
                }
            }
        }

        let (x, x_node) = x.into_parts();
        let (y, y_node) = y.into_parts();
        let (a, a_node) = a.into_parts();
        let (b, b_node) = b.into_parts();
        let [x, y, a, b] = [x, y, a, b].map(|t| t.to_contiguous());
        match MixBackward.prepare::<C>([x_node, y_node, a_node, b_node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let z = forward(&x, &y, &a, &b);
                prep.finish([x, y, a, b], z)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(&x, &y, &a, &b)),
        }
    }
}

fn slice(x: &FlexTensor) -> &[f32] {
    x.as_slice().expect("contiguous f32")
}

fn forward(x: &FlexTensor, y: &FlexTensor, a: &FlexTensor, b: &FlexTensor) -> FlexTensor {
    let (xs, ys, a, b) = (slice(x), slice(y), slice(a), slice(b));
    let d = a.len();
    assert!(b.len() == d && xs.len() % d == 0 && ys.len() == xs.len(), "mix: x, y [.., d] and a, b [d] expected");
    let mut z = super::output(xs.len());
    let block = rows_per_task(d) * d;
    z.par_chunks_mut(block).zip(xs.par_chunks(block)).zip(ys.par_chunks(block)).for_each(|((z, x), y)| {
        for ((z, x), y) in z.chunks_mut(d).zip(x.chunks(d)).zip(y.chunks(d)) {
            for i in 0..d {
                z[i] = a[i] * x[i] + b[i] * y[i];
            }
        }
    });
    shaped_like(x, z, d)
}

fn backward(x: &FlexTensor, y: &FlexTensor, a_t: &FlexTensor, b_t: &FlexTensor, dz: &FlexTensor) -> [FlexTensor; 4] {
    let (xs, ys, a, b, dzs) = (slice(x), slice(y), slice(a_t), slice(b_t), slice(dz));
    let d = a.len();
    let (mut dx, mut dy) = (super::output(xs.len()), super::output(xs.len()));
    let block = rows_per_task(d) * d;
    let partials: Vec<(Vec<f32>, Vec<f32>)> = dx
        .par_chunks_mut(block)
        .zip(dy.par_chunks_mut(block))
        .zip(xs.par_chunks(block).zip(ys.par_chunks(block)))
        .zip(dzs.par_chunks(block))
        .map(|(((dx, dy), (x, y)), dz)| {
            let (mut da, mut db) = (vec![0f32; d], vec![0f32; d]);
            for (((dx, dy), (x, y)), dz) in dx.chunks_mut(d).zip(dy.chunks_mut(d)).zip(x.chunks(d).zip(y.chunks(d))).zip(dz.chunks(d)) {
                for i in 0..d {
                    dx[i] = a[i] * dz[i];
                    dy[i] = b[i] * dz[i];
                    da[i] += dz[i] * x[i];
                    db[i] += dz[i] * y[i];
                }
            }
            (da, db)
        })
        .collect();
    let (mut da, mut db) = (vec![0f32; d], vec![0f32; d]);
    for (pa, pb) in &partials {
        da.iter_mut().zip(pa).for_each(|(s, v)| *s += v);
        db.iter_mut().zip(pb).for_each(|(s, v)| *s += v);
    }
    [shaped_like(x, dx, d), shaped_like(y, dy, d), shaped_like(a_t, da, d), shaped_like(b_t, db, d)]
}
