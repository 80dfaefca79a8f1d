//! nGPT, the normalized Transformer [P-nGPT], exactly as the NVIDIA reference computes it
//! (golden folders `ngpt/`, `ngpt-stdrope/`). Every vector living in R^d has unit norm:
//! embeddings, the d-side vectors of every matrix (projected after each step) and the hidden
//! state (re-normalized after each LERP update). Rescalers use the scale trick (§2.5):
//! θ is stored, θ·s_init/s_scale is used.

use super::constraint::{Constraint, project_to_sphere};
use super::layers::{
    apply, apply_scaled, causal_attention, embedding, filled, lerp, linear, matmul_tokens, merge_heads, rope, split_heads, swiglu, unit_norm,
};
use super::{Architecture, Probe};
use crate::config::{NormOptions, Rope, RunConfig};
use crate::param::{Rescaler, Role, Scaling};
use burn::module::Param;
use burn::nn::{Embedding, Linear};
use burn::prelude::*;

#[derive(Module, Debug)]
pub struct Block {
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub att_c_proj: Linear,
    pub c_fc: Linear,
    pub mlp_c_proj: Linear,
    /// Eigen learning rates α_A, α_M (stored θ; length d, or 1 with `scalar_alpha`).
    pub attn_alpha: Param<Tensor<1>>,
    pub mlp_alpha: Param<Tensor<1>>,
    /// s_qk, length d viewed as [H, d_head].
    pub sqk: Param<Tensor<1>>,
    /// s_uv = [s_u, s_ν], length 8d.
    pub suv: Param<Tensor<1>>,
}

/// Effective-value factors and switches, recomputed from the config (never stored state).
#[derive(Module, Debug)]
pub struct Consts {
    pub n_head: usize,
    #[module(skip)]
    pub rope: Rope,
    pub alpha: f64,
    pub sqk: f64,
    pub suv: f64,
    /// The extra √d on the MLP input (eq. 20–21, A.1).
    pub sqrt_d: f64,
    pub sz: f64,
    pub fixed_sqk: bool,
    pub fixed_suv: bool,
    pub qk_norm: bool,
    /// Project to norm ≤ 1 instead of = 1 after each step (ablation).
    pub at_most_one: bool,
}

#[derive(Module, Debug)]
pub struct Ngpt {
    pub wte: Embedding,
    pub blocks: Vec<Block>,
    pub lm_head: Linear,
    /// Logit scale s_z, one per vocabulary entry.
    pub sz: Param<Tensor<1>>,
    pub c: Consts,
}

impl Consts {
    pub fn of(cfg: &RunConfig, s: &Scaling) -> Self {
        let n: &NormOptions = &cfg.model.norm;
        let f = |r| s.trick(r).factor();
        Self {
            n_head: cfg.model.n_head,
            rope: cfg.model.rope,
            alpha: f(Rescaler::Alpha),
            sqk: f(Rescaler::Sqk),
            suv: f(Rescaler::Suv),
            sqrt_d: (cfg.model.d_model as f64).sqrt(),
            sz: f(Rescaler::Sz),
            fixed_sqk: n.fixed_sqk,
            fixed_suv: n.fixed_suv,
            qk_norm: !n.no_qk_norm,
            at_most_one: n.norm_at_most_one,
        }
    }
}

impl Block {
    fn init(d: usize, n: &NormOptions, s: &Scaling, device: &Device) -> Self {
        // Init scale is irrelevant: matrices are projected onto the sphere before step 1.
        let std = s.get(Role::Hidden).init_std;
        let alpha_len = if n.scalar_alpha { 1 } else { d };
        Self {
            query: linear(d, d, std, device),
            key: linear(d, d, std, device),
            value: linear(d, d, std, device),
            att_c_proj: linear(d, d, std, device),
            c_fc: linear(d, 8 * d, std, device),
            mlp_c_proj: linear(4 * d, d, std, device),
            attn_alpha: filled(alpha_len, s.trick(Rescaler::Alpha).scale, device),
            mlp_alpha: filled(alpha_len, s.trick(Rescaler::Alpha).scale, device),
            sqk: filled(d, s.trick(Rescaler::Sqk).scale, device),
            suv: filled(8 * d, s.trick(Rescaler::Suv).scale, device),
        }
    }

    /// `renorm_input`: the reference computes Norm(Norm(h) + α(h_A − Norm(h))). h is already
    /// unit, so the inner Norm changes only gradients — and only for the embedding (every later
    /// h is itself a Norm output), where it removes the radial part of ∂L/∂E_in on the residual
    /// path. Block 0 therefore renormalizes its input for the LERP; the others skip the no-op.
    fn forward(&self, h: Tensor<3>, c: &Consts, renorm_input: bool, probe: &mut Probe, i: usize) -> Tensor<3> {
        probe.record(format!("block.{i}.attn_in"), &h);
        let [_, _, d] = h.dims();
        let dh = d / c.n_head;
        let q = rope(split_heads(apply(&self.query, h.clone()), c.n_head), c.rope);
        let k = rope(split_heads(apply(&self.key, h.clone()), c.n_head), c.rope);
        let v = split_heads(apply(&self.value, h.clone()), c.n_head);
        // s_qk ⊙ Norm(q), s_qk ⊙ Norm(k), per head, after RoPE (eq. 15–16).
        let (q, k, scale) = if c.qk_norm {
            let (q, k) = (unit_norm(q, 3), unit_norm(k, 3));
            let (q, k) = if c.fixed_sqk {
                (q, k)
            } else {
                let s = (self.sqk.val() * c.sqk).reshape([1, c.n_head, 1, dh]);
                (q * s.clone(), k * s)
            };
            (q, k, (dh as f64).sqrt()) // softmax scale √d_head, not 1/√d_head
        } else {
            (q, k, 1.0 / (dh as f64).sqrt())
        };
        let a = merge_heads(causal_attention(q, k, v, scale));
        probe.record(format!("block.{i}.attn_cat"), &a);
        let a = apply(&self.att_c_proj, a);
        probe.record(format!("block.{i}.attn"), &a);
        let h_a = unit_norm(a, 2);
        // h ← Norm(h + |α_A| ⊙ (h_A − h))  (eq. 10)
        let alpha_a = (self.attn_alpha.val() * c.alpha).abs();
        let h_res = if renorm_input { unit_norm(h, 2) } else { h };
        let h = unit_norm(lerp(h_res, h_a, alpha_a), 2);

        probe.record(format!("block.{i}.mlp_in"), &h);
        // u ← s_u ⊙ u, ν ← s_ν ⊙ ν·√d (eq. 20–21; the √d on u too is harmless: Norm is scale-invariant).
        // A per-column scale of h·W equals h·(W ⊙ s): scaling the [d, 8d] weight is cheaper than [B·T, 8d].
        let w = self.c_fc.weight.val();
        let w = if c.fixed_suv { w * c.sqrt_d } else { w * (self.suv.val() * (c.suv * c.sqrt_d)).unsqueeze::<2>() };
        let uv = matmul_tokens(h.clone(), w);
        let hidden = swiglu(uv);
        probe.record(format!("block.{i}.mlp_hidden"), &hidden);
        let m = apply(&self.mlp_c_proj, hidden);
        probe.record(format!("block.{i}.mlp"), &m);
        let h_m = unit_norm(m, 2);
        // h ← Norm(h + |α_M| ⊙ (h_M − h))  (eq. 11)
        let alpha_m = (self.mlp_alpha.val() * c.alpha).abs();
        unit_norm(lerp(h, h_m, alpha_m), 2)
    }
}

impl Architecture for Ngpt {
    fn init(cfg: &RunConfig, vocab: usize, s: &Scaling, device: &Device) -> Self {
        let d = cfg.model.d_model;
        let std = s.get(Role::Embedding).init_std;
        let model = Self {
            wte: embedding(vocab, d, std, device),
            blocks: (0..cfg.model.n_layer).map(|_| Block::init(d, &cfg.model.norm, s, device)).collect(),
            lm_head: linear(d, vocab, std, device),
            sz: filled(vocab, s.trick(Rescaler::Sz).scale, device),
            c: Consts::of(cfg, s),
        };
        // Start on the sphere (exactly unit norm, also for the ≤ 1 ablation).
        project_to_sphere(model, Constraint::UnitNorm)
    }

    fn forward(&self, tokens: Tensor<2, Int>, probe: &mut Probe) -> Tensor<3> {
        let mut h = self.wte.forward(tokens);
        probe.record("embed", &h);
        for (i, block) in self.blocks.iter().enumerate() {
            h = block.forward(h, &self.c, i == 0, probe, i);
            probe.record(format!("block.{i}"), &h);
        }
        // z ← s_z ⊙ (h E_outᵀ); no final norm (eq. 3)
        probe.record("readout_in", &h);
        let z = apply_scaled(&self.lm_head, h, self.sz.val() * self.c.sz);
        probe.record("logits", &z);
        z
    }

    const CONSTRAINT: Option<Constraint> = Some(Constraint::UnitNorm);

    fn post_step(self) -> Self {
        let c = if self.c.at_most_one { Constraint::NormAtMostOne } else { Constraint::UnitNorm };
        project_to_sphere(self, c)
    }

    fn diagnostics(&self) -> Vec<(String, f64)> {
        ngpt_diagnostics(&self.blocks, &self.sz, &self.c)
    }

    fn final_diagnostics(&self) -> Vec<(String, f64)> {
        use super::diagnostics::{condition_summary, weight_values};
        let d = self.wte.weight.dims()[1];
        let w: Vec<_> = self.blocks.iter().map(|b| (weight_values(&b.query), weight_values(&b.key))).collect();
        condition_summary(&w, d, self.c.n_head)
    }
}

fn mean_abs(t: Tensor<1>) -> f64 {
    t.abs().mean().into_scalar::<f32>() as f64
}

/// Mean |α_A|, |α_M| per layer, mean s_qk, mean s_z (effective values).
fn ngpt_diagnostics(blocks: &[Block], sz: &Param<Tensor<1>>, c: &Consts) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        out.push((format!("alpha_attn.{i}"), mean_abs(b.attn_alpha.val().inner()) * c.alpha));
        out.push((format!("alpha_mlp.{i}"), mean_abs(b.mlp_alpha.val().inner()) * c.alpha));
    }
    let sqk: f64 = blocks.iter().map(|b| mean_abs(b.sqk.val().inner()) * c.sqk).sum::<f64>() / blocks.len() as f64;
    out.push(("sqk_mean".into(), sqk));
    out.push(("sz_mean".into(), sz.val().inner().mean().into_scalar::<f32>() as f64 * c.sz));
    out
}
