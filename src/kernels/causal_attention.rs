//! Causal softmax attention O = softmax(scale·QKᵀ + causal mask)·V on [B, H, T, Dh], fused.
//!
//! Why: built from tensor ops, attention costs a T×T score tensor per head written and read
//! by five separate passes (matmul, scale, mask, softmax's max/exp/sum/div, matmul), each
//! single-threaded on flex outside its GEMMs, plus head-split copies. Here one rayon task per
//! (batch, head) keeps the T×T block in cache, reads Q/K/V through their strides (no copy of
//! the head split) and writes O already in [B, T, H, Dh] order, so merging heads is free.
//! Backward recomputes P from the saved row log-sum-exp (flash-attention style):
//! dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(dO ⊙ O)), dQ = scale·dS·K, dK = scale·dSᵀ·Q.

use super::gemm::{Mat, gemm};
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
use burn::tensor::activation::softmax;
use rayon::prelude::*;

#[backend_extension(Flex, Autodiff)]
pub trait FusedAttention: burn::backend::Backend {
    fn fused_causal_attention(q: FloatTensor<Self>, k: FloatTensor<Self>, v: FloatTensor<Self>, scale: f64) -> FloatTensor<Self>;
}

/// Causal attention: the fused kernel on flex, the composite elsewhere.
pub fn causal_attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, scale: f64) -> Tensor<4> {
    if super::fusable(&q) {
        let o = <Dispatch as FusedAttention>::fused_causal_attention(q.into_dispatch(), k.into_dispatch(), v.into_dispatch(), scale);
        Tensor::from_dispatch(o)
    } else {
        causal_attention_composite(q, k, v, scale)
    }
}

/// The same maths from burn tensor ops (any backend; the fused kernel's reference).
pub fn causal_attention_composite(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, scale: f64) -> Tensor<4> {
    let t = q.dims()[2];
    let scores = q.matmul(k.swap_dims(2, 3)) * scale;
    // tril_mask is true strictly above the diagonal, i.e. the future positions to hide.
    let mask = Tensor::<2, Bool>::tril_mask([t, t], 0, &scores.device()).unsqueeze::<4>();
    let scores = scores.mask_fill(mask, f32::NEG_INFINITY);
    softmax(scores, 3).matmul(v)
}

impl FusedAttention for Flex {
    fn fused_causal_attention(q: FlexTensor, k: FlexTensor, v: FlexTensor, scale: f64) -> FlexTensor {
        forward(&readable(q), &readable(k), &readable(v), scale).0
    }
}

impl<C: CheckpointStrategy> FusedAttention for Autodiff<Flex, C> {
    fn fused_causal_attention(q: FloatTensor<Self>, k: FloatTensor<Self>, v: FloatTensor<Self>, scale: f64) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct CausalAttentionBackward;

        impl Backward<Flex, 3> for CausalAttentionBackward {
            /// q, k, v, o, row log-sum-exp, scale.
            type State = (FlexTensor, FlexTensor, FlexTensor, FlexTensor, Vec<f32>, f64);

            fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [node_q, node_k, node_v] = ops.parents;
                let d_o = readable(grads.consume::<Flex>(&ops.node));
                let (q, k, v, o, lse, scale) = ops.state;
                let (dq, dk, dv) = backward(&q, &k, &v, &o, &lse, &d_o, scale);
                for (node, grad) in [(node_q, dq), (node_k, dk), (node_v, dv)] {
                    if let Some(node) = node {
                        grads.register::<Flex>(node.id, grad);
                    }
                }
            }
        }

        let (q, q_node) = q.into_parts();
        let (k, k_node) = k.into_parts();
        let (v, v_node) = v.into_parts();
        let (q, k, v) = (readable(q), readable(k), readable(v));
        match CausalAttentionBackward.prepare::<C>([q_node, k_node, v_node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (o, lse) = forward(&q, &k, &v, scale);
                prep.finish((q, k, v, o.clone(), lse, scale), o)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(&q, &k, &v, scale).0),
        }
    }
}

/// S = scale·Q·Kᵀ for head (b, h) into the T×T buffer `s` (row-major).
#[allow(clippy::too_many_arguments)] // the head's coordinates and sizes, as in the kernels around it
fn scores(q: Heads, k: Heads, b: usize, h: usize, t: usize, d: usize, scale: f32, s: &mut [f32]) {
    unsafe { gemm(t, t, d, Mat::rows(s.as_mut_ptr(), t), Mat::rows(q.head(b, h), q.row), Mat::rows(k.head(b, h), k.row).t(), scale, false) }
}

/// Returns O (a [B, H, T, Dh] view of [B, T, H, Dh] memory) and the row log-sum-exp [B·H·T].
fn forward(q: &FlexTensor, k: &FlexTensor, v: &FlexTensor, scale: f64) -> (FlexTensor, Vec<f32>) {
    let [b, h, t, d] = dims(q);
    let (qh, kh, vh) = (Heads::of(q), Heads::of(k), Heads::of(v));
    let (o, oh, layout) = alloc([b, h, t, d], true);
    let mut lse = vec![0f32; b * h * t];
    let out = Out(oh.ptr as *mut f32);
    lse.par_chunks_mut(t).enumerate().for_each_init(
        || vec![0f32; t * t],
        |p, (bh, lse)| {
            let (bi, hi) = (bh / h, bh % h);
            scores(qh, kh, bi, hi, t, d, scale as f32, p);
            for (i, row) in p.chunks_mut(t).enumerate() {
                let (seen, future) = row.split_at_mut(i + 1);
                lse[i] = rows::softmax(seen);
                future.fill(0.0);
            }
            let dst = out.head(oh, bi, hi);
            unsafe { gemm(t, d, t, Mat::rows(dst, oh.row), Mat::rows(p.as_ptr(), t), Mat::rows(vh.head(bi, hi), vh.row), 1.0, false) }
        },
    );
    (tensor(o, layout), lse)
}

/// (dQ, dK, dV) for upstream gradient `d_o`; dQ and dK in [B, H, T, Dh] memory (RoPE's
/// backward reads them next), dV in [B, T, H, Dh] memory (the head split's backward is then free).
fn backward(
    q: &FlexTensor,
    k: &FlexTensor,
    v: &FlexTensor,
    o: &FlexTensor,
    lse: &[f32],
    d_o: &FlexTensor,
    scale: f64,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let shape @ [b, h, t, d] = dims(q);
    let (qh, kh, vh, oh, doh) = (Heads::of(q), Heads::of(k), Heads::of(v), Heads::of(o), Heads::of(d_o));
    let (dq, dqh, dq_layout) = alloc(shape, false);
    let (dk, dkh, dk_layout) = alloc(shape, false);
    let (dv, dvh, dv_layout) = alloc(shape, true);
    let (dq_out, dk_out, dv_out) = (Out(dqh.ptr as *mut f32), Out(dkh.ptr as *mut f32), Out(dvh.ptr as *mut f32));
    let scale = scale as f32;
    (0..b * h).into_par_iter().for_each_init(
        || (vec![0f32; t * t], vec![0f32; t * t], vec![0f32; t]),
        |(p, ds, delta), bh| {
            let (bi, hi) = (bh / h, bh % h);
            let lse = &lse[bh * t..(bh + 1) * t];
            // P from the saved log-sum-exp.
            scores(qh, kh, bi, hi, t, d, scale, p);
            for (i, row) in p.chunks_mut(t).enumerate() {
                let (seen, future) = row.split_at_mut(i + 1);
                rows::exp_shifted(seen, lse[i]);
                future.fill(0.0);
            }
            let (q0, k0, v0, o0, do0) = (qh.head(bi, hi), kh.head(bi, hi), vh.head(bi, hi), oh.head(bi, hi), doh.head(bi, hi));
            let at = |out: Out, layout: Heads| out.head(layout, bi, hi);
            unsafe {
                // dV = Pᵀ·dO
                gemm(t, d, t, Mat::rows(at(dv_out, dvh), dvh.row), Mat::rows(p.as_ptr(), t).t(), Mat::rows(do0, doh.row), 1.0, false);
                // dP = dO·Vᵀ
                gemm(t, t, d, Mat::rows(ds.as_mut_ptr(), t), Mat::rows(do0, doh.row), Mat::rows(v0, vh.row).t(), 1.0, false);
            }
            // δ_i = Σ_c dO[i,c]·O[i,c]
            for (i, di) in delta.iter_mut().enumerate() {
                let (o_row, do_row) =
                    unsafe { (std::slice::from_raw_parts(o0.add(i * oh.row), d), std::slice::from_raw_parts(do0.add(i * doh.row), d)) };
                *di = rows::dot(o_row, do_row);
            }
            // dS = P ⊙ (dP − δ); zero in the future half since P is.
            for ((ds_row, p_row), &di) in ds.chunks_mut(t).zip(p.chunks(t)).zip(delta.iter()) {
                rows::softmax_backward(ds_row, p_row, di);
            }
            unsafe {
                // dQ = scale·dS·K ; dK = scale·dSᵀ·Q
                gemm(t, d, t, Mat::rows(at(dq_out, dqh), dqh.row), Mat::rows(ds.as_ptr(), t), Mat::rows(k0, kh.row), scale, false);
                gemm(t, d, t, Mat::rows(at(dk_out, dkh), dkh.row), Mat::rows(ds.as_ptr(), t).t(), Mat::rows(q0, qh.row), scale, false);
            }
        },
    );
    (tensor(dq, dq_layout), tensor(dk, dk_layout), tensor(dv, dv_layout))
}
