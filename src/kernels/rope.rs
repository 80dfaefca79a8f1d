//! Rotary position embedding (textbook, interleaved pairs) on [B, H, T, Dh]:
//! out[2i] = x[2i]·cos θ − x[2i+1]·sin θ, out[2i+1] = x[2i]·sin θ + x[2i+1]·cos θ,
//! θ = p·10000^(−2i/Dh) at position p.
//!
//! Why: as tensor ops RoPE is a 5-D reshape, two narrows, four products, a sum, a difference
//! and a concatenation, and backward writes both narrows into zeroed buffers (≈ 7% of an nGPT
//! step in `perf`). Here one pass each way; backward is the inverse rotation and writes dx in
//! [B, T, H, Dh] memory, so the head split's backward is free.

use super::heads::{Heads, Out, alloc, dims, readable, tensor};
use super::rows;
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
pub trait FusedRope: burn::backend::Backend {
    fn fused_rope(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Standard RoPE, fused; only for tensors where [`super::fusable`] holds and Dh is even (the
/// composite with the reference-RoPE variant is `model::layers::rope`).
pub fn rope_fused(x: Tensor<4>) -> Tensor<4> {
    assert!(super::fusable(&x) && x.dims()[3].is_multiple_of(2), "rope_fused: f32 flex tensor with even Dh expected");
    Tensor::from_dispatch(<Dispatch as FusedRope>::fused_rope(x.into_dispatch()))
}

impl FusedRope for Flex {
    fn fused_rope(x: FlexTensor) -> FlexTensor {
        rotate(&readable(x), false, false)
    }
}

impl<C: CheckpointStrategy> FusedRope for Autodiff<Flex, C> {
    fn fused_rope(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct RopeBackward;

        impl Backward<Flex, 1> for RopeBackward {
            type State = ();

            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [node] = ops.parents;
                let dy = readable(grads.consume::<Flex>(&ops.node));
                if let Some(node) = node {
                    grads.register::<Flex>(node.id, rotate(&dy, true, true));
                }
            }
        }

        let (x, node) = x.into_parts();
        let x = readable(x);
        match RopeBackward.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((), rotate(&x, false, false)),
            OpsKind::UnTracked(prep) => prep.finish(rotate(&x, false, false)),
        }
    }
}

/// cos θ and sin θ for every (position, pair), computed in f64 like the composite's tables.
fn tables(t: usize, d: usize) -> (Vec<f32>, Vec<f32>) {
    let m = d / 2;
    let omega: Vec<f64> = (0..m).map(|i| (-(10000f64.ln()) * (2 * i) as f64 / d as f64).exp()).collect();
    let angle = |k: usize| (k / m) as f64 * omega[k % m];
    ((0..t * m).map(|k| angle(k).cos() as f32).collect(), (0..t * m).map(|k| angle(k).sin() as f32).collect())
}

/// Rotate every (even, odd) pair by θ (`inverse`: by −θ); the result in [B, T, H, Dh] memory
/// when `t_major`, else contiguous [B, H, T, Dh].
fn rotate(x: &FlexTensor, inverse: bool, t_major: bool) -> FlexTensor {
    let shape @ [b, h, t, d] = dims(x);
    let (cos, sin) = tables(t, d);
    let sign = if inverse { -1f32 } else { 1f32 };
    let src = Heads::of(x);
    let (data, dst, layout) = alloc(shape, t_major);
    let out = Out(dst.ptr as *mut f32);
    (0..b * h).into_par_iter().for_each(|bh| {
        let (bi, hi) = (bh / h, bh % h);
        let (x0, y0) = (src.head(bi, hi), out.head(dst, bi, hi));
        for p in 0..t {
            let (x, y) = unsafe { (std::slice::from_raw_parts(x0.add(p * src.row), d), std::slice::from_raw_parts_mut(y0.add(p * dst.row), d)) };
            let (c, s) = (&cos[p * d / 2..(p + 1) * d / 2], &sin[p * d / 2..(p + 1) * d / 2]);
            rows::rotate_pairs(y, x, c, s, sign);
        }
    });
    tensor(data, layout)
}
