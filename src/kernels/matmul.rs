//! x·W for the linear layers ([N, K] × [K, M]), forward and backward straight into `gemm`.
//!
//! Why: flex's matmul allocates every output as a zeroed byte vector and then copies it into
//! an aligned buffer — a memset and a memcpy, single-threaded, per product (≈ 6% of a d=128
//! GPT step in `perf`). Here outputs are written once by the GEMM itself, and the transposes
//! of the backward (dx = dy·Wᵀ, dW = xᵀ·dy) are stride swaps, never copies.

use super::gemm::{Mat, gemm};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::{DType, TensorData};

#[backend_extension(Flex, Autodiff)]
pub trait FusedMatmul: burn::backend::Backend {
    fn fused_matmul(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// x·w for 2-D x [N, K] and w [K, M]: straight into `gemm` on flex, burn's matmul elsewhere.
pub fn matmul(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    if super::fusable(&x) {
        Tensor::from_dispatch(<Dispatch as FusedMatmul>::fused_matmul(x.into_dispatch(), w.into_dispatch()))
    } else {
        x.matmul(w)
    }
}

impl FusedMatmul for Flex {
    fn fused_matmul(x: FlexTensor, w: FlexTensor) -> FlexTensor {
        product(&operand(x), &operand(w), false, false)
    }
}

impl<C: CheckpointStrategy> FusedMatmul for Autodiff<Flex, C> {
    fn fused_matmul(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct MatmulBackward;

        impl Backward<Flex, 2> for MatmulBackward {
            type State = (FlexTensor, FlexTensor);

            fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
                let [node_x, node_w] = ops.parents;
                let dy = operand(grads.consume::<Flex>(&ops.node));
                let (x, w) = ops.state;
                if let Some(node) = node_x {
                    grads.register::<Flex>(node.id, product(&dy, &w, false, true)); // dx = dy·Wᵀ
                }
                if let Some(node) = node_w {
                    grads.register::<Flex>(node.id, product(&x, &dy, true, false)); // dW = xᵀ·dy
                }
            }
        }

        let (x, x_node) = x.into_parts();
        let (w, w_node) = w.into_parts();
        let (x, w) = (operand(x), operand(w));
        match MatmulBackward.prepare::<C>([x_node, w_node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = product(&x, &w, false, false);
                prep.finish((x, w), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(product(&x, &w, false, false)),
        }
    }
}

/// A 2-D f32 operand `gemm` can read through its strides (copied only for negative strides).
fn operand(x: FlexTensor) -> FlexTensor {
    assert_eq!(x.dtype(), DType::F32, "fused matmul: f32 only");
    assert_eq!(x.layout().num_dims(), 2, "fused matmul: 2-D operands");
    if x.layout().strides().iter().all(|s| *s >= 0) { x } else { x.to_contiguous() }
}

fn view(x: &FlexTensor, transpose: bool) -> (Mat, [usize; 2]) {
    let l = x.layout();
    let (s, sh) = (l.strides(), l.shape());
    let ptr = unsafe { x.storage::<f32>().as_ptr().add(l.start_offset()) };
    let m = Mat::new(ptr, s[0], s[1]);
    if transpose { (m.t(), [sh[1], sh[0]]) } else { (m, [sh[0], sh[1]]) }
}

/// op(a)·op(b), op = transpose where asked, into a fresh row-major tensor.
fn product(a: &FlexTensor, b: &FlexTensor, ta: bool, tb: bool) -> FlexTensor {
    let (lhs, [m, k]) = view(a, ta);
    let (rhs, [k2, n]) = view(b, tb);
    assert_eq!(k, k2, "fused matmul: inner dimensions differ");
    // `gemm` writes every element without reading it (zero-filling when k = 0).
    let mut out = super::output(m * n);
    unsafe { gemm(m, n, k, Mat::rows(out.as_mut_ptr(), n), lhs, rhs, 1.0, m * n * k >= PARALLEL_WORK) };
    FlexTensor::from_data(TensorData::new(out, [m, n]))
}

/// Multiply-adds below which splitting a product over threads costs more than it saves
/// (flex's own threshold).
const PARALLEL_WORK: usize = 192 * 192 * 192;
