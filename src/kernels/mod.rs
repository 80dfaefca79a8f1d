//! Fused CPU kernels that burn's `flex` backend lacks, plugged in through burn's backend
//! extension (`#[backend_extension]`) with hand-written backward passes. Each op has a
//! composite reference built from ordinary tensor ops; the model calls the fused kernel on
//! `flex` and the composite everywhere else (wgpu, cuda), and tests hold the two to each
//! other in value and gradient.

mod causal_attention;
mod cross_entropy;
mod gemm;
mod heads;
mod matmul;
mod mix;
mod normalize;
mod rope;
pub mod rows;
mod swiglu;

pub use causal_attention::{causal_attention, causal_attention_composite};
pub use cross_entropy::{cross_entropy_composite, cross_entropy_rows};
pub use matmul::matmul;
pub use mix::{mix, mix_composite};
pub use normalize::{RMS_EPS, UNIT_FLOOR, rms_normalize, rms_normalize_composite, unit_norm, unit_norm_composite};
pub use rope::rope_fused;
pub use swiglu::{swiglu, swiglu_composite};

use burn::backend::DispatchDevice;
use burn::prelude::*;

/// Whether the fused kernels apply to `x`: an f32 tensor on flex.
pub fn fusable<const D: usize>(x: &Tensor<D>) -> bool {
    is_flex(&x.device()) && x.dtype() == burn::tensor::DType::F32
}

/// Whether `device` (autodiff or not) runs on burn-flex.
pub fn is_flex(device: &Device) -> bool {
    let inner = device.clone().inner();
    matches!(inner.as_dispatch(), DispatchDevice::Flex(_))
}

/// A buffer of `n` f32 for a kernel output that the kernel writes completely before anything
/// reads it — skipping the zero-fill, a single-threaded memset that was ≈ 4% of an nGPT step.
/// Every caller writes each element exactly once (outputs of `gemm` with the destination not
/// read, or of a per-row loop over all rows); `tests/kernels.rs` compares every element.
#[allow(clippy::uninit_vec)]
fn output(n: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(n);
    // SAFETY: f32 has no invalid bit patterns and, per the contract above, no element is read
    // before it is written (burn-flex allocates its own outputs the same way).
    unsafe { v.set_len(n) };
    v
}

/// Rows per rayon task for the row-wise kernels: at least 16 K elements, enough work to
/// amortize scheduling (and, in `mix`, each task's partial sums).
fn rows_per_task(width: usize) -> usize {
    (16_384 / width.max(1)).max(1)
}

/// The length of the last axis.
fn width(x: &burn::backend::flex::FlexTensor) -> usize {
    *x.layout().shape().last().expect("at least one axis")
}

/// A contiguous f32 tensor holding `data`, shaped like `x` but with `last` as its last axis.
fn shaped_like(x: &burn::backend::flex::FlexTensor, data: Vec<f32>, last: usize) -> burn::backend::flex::FlexTensor {
    let mut shape: Vec<usize> = x.layout().shape().iter().copied().collect();
    *shape.last_mut().expect("at least one axis") = last;
    burn::backend::flex::FlexTensor::from_data(burn::tensor::TensorData::new(data, shape))
}
