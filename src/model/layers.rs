//! Pieces shared by the architectures: RMSNorm, unit normalization, RoPE, causal attention,
//! SwiGLU, head reshapes, and the parameter constructors.

use crate::config::Rope;
pub use crate::kernels::{RMS_EPS, causal_attention, mix, rms_normalize, swiglu, unit_norm};
use burn::module::Param;
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig};
use burn::prelude::*;

/// RMSNorm with a learnable gain: x / √(mean(x²) + 1e-6) ⊙ g (eps inside the root, as the reference).
#[derive(Module, Debug)]
pub struct RmsNorm {
    pub weight: Param<Tensor<1>>,
}

impl RmsNorm {
    pub fn new(d: usize, device: &Device) -> Self {
        Self { weight: Param::from_tensor(Tensor::ones([d], device)) }
    }
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let g = self.weight.val().unsqueeze::<D>();
        rms_normalize(x) * g
    }
}

/// Bias-free linear layer with N(0, std²) init. burn's weight layout is [d_in, d_out].
pub fn linear(d_in: usize, d_out: usize, std: f64, device: &Device) -> Linear {
    LinearConfig::new(d_in, d_out).with_bias(false).with_initializer(Initializer::Normal { mean: 0.0, std }).init(device)
}

/// x·W for x [B, T, d_in] as one [B·T, d_in] × [d_in, d_out] matrix product: one large GEMM
/// (and one for ∂W in backward) instead of B batched small ones — measured faster on flex.
pub fn apply(l: &Linear, x: Tensor<3>) -> Tensor<3> {
    matmul_tokens(x, l.weight.val())
}

/// (x·W) ⊙ s for a per-column scale s [d_out], computed as x·(W ⊙ s): the scale then touches
/// the [d_in, d_out] weight instead of the [B·T, d_out] activations.
pub fn apply_scaled(l: &Linear, x: Tensor<3>, s: Tensor<1>) -> Tensor<3> {
    matmul_tokens(x, l.weight.val() * s.unsqueeze::<2>())
}

/// h + a ⊙ (t − h) = (1 − a) ⊙ h + a ⊙ t, with a per-channel (or scalar) rate `a`.
pub fn lerp(h: Tensor<3>, t: Tensor<3>, a: Tensor<1>) -> Tensor<3> {
    mix(h, t, a.clone().neg() + 1.0, a)
}

/// x·W for x [B, T, d_in] and W [d_in, d_out], as one 2-D GEMM.
pub fn matmul_tokens(x: Tensor<3>, w: Tensor<2>) -> Tensor<3> {
    let [b, t, d] = x.dims();
    let out = w.dims()[1];
    crate::kernels::matmul(x.reshape([b * t, d]), w).reshape([b, t, out])
}

pub fn embedding(vocab: usize, d: usize, std: f64, device: &Device) -> Embedding {
    EmbeddingConfig::new(vocab, d).with_initializer(Initializer::Normal { mean: 0.0, std }).init(device)
}

/// A learnable vector filled with `value` (scale-trick rescalers store θ = s_scale).
pub fn filled(d: usize, value: f64, device: &Device) -> Param<Tensor<1>> {
    Param::from_tensor(Tensor::full([d], value, device))
}

/// [B, T, H·Dh] → [B, H, T, Dh]
pub fn split_heads(x: Tensor<3>, n_head: usize) -> Tensor<4> {
    let [b, t, c] = x.dims();
    x.reshape([b, t, n_head, c / n_head]).swap_dims(1, 2)
}

/// [B, H, T, Dh] → [B, T, H·Dh]
pub fn merge_heads(x: Tensor<4>) -> Tensor<3> {
    let [b, h, t, d] = x.dims();
    x.swap_dims(1, 2).reshape([b, t, h * d])
}

/// Rotary embedding over the last axis of [B, H, T, Dh], positions 0..T along axis 2
/// (fused on flex for the textbook kind).
pub fn rope(x: Tensor<4>, kind: Rope) -> Tensor<4> {
    if kind == Rope::Standard && crate::kernels::fusable(&x) && x.dims()[3].is_multiple_of(2) {
        crate::kernels::rope_fused(x)
    } else {
        rope_composite(x, kind)
    }
}

/// RoPE from tensor ops: both kinds, any backend.
pub fn rope_composite(x: Tensor<4>, kind: Rope) -> Tensor<4> {
    let [b, h, t, d] = x.dims();
    let m = d / 2;
    let device = x.device();
    let omega: Vec<f64> = (0..m).map(|i| (-(10000f64.ln()) * (2 * i) as f64 / d as f64).exp()).collect();
    let pairs = x.reshape([b, h, t, m, 2]);
    let x0 = pairs.clone().narrow(4, 0, 1);
    let x1 = pairs.narrow(4, 1, 1);
    let table = |f: &dyn Fn(usize, usize) -> f64| -> Tensor<5> {
        let v: Vec<f32> = (0..t).flat_map(|p| (0..m).map(move |j| (p, j))).map(|(p, j)| f(p, j) as f32).collect();
        Tensor::<2>::from_data(TensorData::new(v, [t, m]), &device).reshape([1, 1, t, m, 1])
    };
    let (out0, out1) = match kind {
        // out[2i] = x[2i]cos − x[2i+1]sin ; out[2i+1] = x[2i]sin + x[2i+1]cos
        Rope::Standard => {
            let cos = table(&|p, j| (p as f64 * omega[j]).cos());
            let sin = table(&|p, j| (p as f64 * omega[j]).sin());
            (x0.clone() * cos.clone() - x1.clone() * sin.clone(), x0 * sin + x1 * cos)
        }
        // NVIDIA/ngpt: E[t,2i]=sin, E[t,2i+1]=cos, A = E[:, :m], B = E[:, m:];
        // out[2j] = −x[2j+1]·B[t,j], out[2j+1] = x[2j]·A[t,j] (not a rotation; golden files only).
        Rope::NvidiaReference => {
            let e = |p: usize, c: usize| {
                let a = p as f64 * omega[c / 2];
                if c.is_multiple_of(2) { a.sin() } else { a.cos() }
            };
            let a = table(&|p, j| e(p, j));
            let bb = table(&|p, j| e(p, m + j));
            (x1.neg() * bb, x0 * a)
        }
    };
    Tensor::cat(vec![out0, out1], 4).reshape([b, h, t, d])
}
