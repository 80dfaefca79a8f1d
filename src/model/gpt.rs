//! GPT baseline as in the nGPT paper [P-nGPT §2, Table 1; C-NV model.py, use_nGPT=0]:
//! RMSNorm pre-norm (eps 1e-6 inside the root, learnable gain), RoPE on q and k, causal
//! attention with 1/√d_head, SwiGLU with a d→8d input projection (second half gates),
//! untied input/output embeddings, no biases, no position embedding.

use super::layers::{RmsNorm, apply, causal_attention, embedding, linear, merge_heads, rope, split_heads, swiglu};
use super::{Architecture, Probe};
use crate::config::{Rope, RunConfig};
use crate::param::{Role, Scaling};
use burn::nn::{Embedding, Linear};
use burn::prelude::*;

#[derive(Module, Debug)]
pub struct Block {
    pub rmsnorm_att: RmsNorm,
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub att_c_proj: Linear,
    pub rmsnorm_mlp: RmsNorm,
    pub c_fc: Linear,
    pub mlp_c_proj: Linear,
}

#[derive(Module, Debug)]
pub struct Gpt {
    pub wte: Embedding,
    pub blocks: Vec<Block>,
    pub rmsnorm_f: RmsNorm,
    pub lm_head: Linear,
    pub n_head: usize,
    #[module(skip)]
    pub rope: Rope,
    /// Softmax scale (1/√d_head under SP; μP uses 1/d_head).
    pub attn_scale: f64,
    /// Readout forward multiplier (μP: 1/m_width).
    pub readout_mult: f64,
}

impl Block {
    pub fn init(d: usize, s: &Scaling, device: &Device) -> Self {
        let std = s.get(Role::Hidden).init_std;
        let out_std = s.get(Role::HiddenOut).init_std;
        Self {
            rmsnorm_att: RmsNorm::new(d, device),
            query: linear(d, d, std, device),
            key: linear(d, d, std, device),
            value: linear(d, d, std, device),
            att_c_proj: linear(d, d, out_std, device),
            rmsnorm_mlp: RmsNorm::new(d, device),
            c_fc: linear(d, 8 * d, std, device),
            mlp_c_proj: linear(4 * d, d, out_std, device),
        }
    }

    /// h + Attn(RMSNorm(h)), then h + MLP(RMSNorm(h)). `qk_norm` is GPT+'s hook (None for GPT).
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        h: Tensor<3>,
        n_head: usize,
        rope_kind: Rope,
        scale: f64,
        qk_norm: Option<(&RmsNorm, &RmsNorm)>,
        probe: &mut Probe,
        i: usize,
    ) -> Tensor<3> {
        let x = self.rmsnorm_att.forward(h.clone());
        probe.record(format!("block.{i}.attn_in"), &x);
        let mut q = split_heads(apply(&self.query, x.clone()), n_head);
        let mut k = split_heads(apply(&self.key, x.clone()), n_head);
        let v = split_heads(apply(&self.value, x), n_head);
        if let Some((qn, kn)) = qk_norm {
            q = qn.forward(q);
            k = kn.forward(k);
        }
        let (q, k) = (rope(q, rope_kind), rope(k, rope_kind));
        let a = merge_heads(causal_attention(q, k, v, scale));
        probe.record(format!("block.{i}.attn_cat"), &a);
        let a = apply(&self.att_c_proj, a);
        probe.record(format!("block.{i}.attn"), &a);
        let h = h + a;
        let m = self.rmsnorm_mlp.forward(h.clone());
        probe.record(format!("block.{i}.mlp_in"), &m);
        let hidden = swiglu(apply(&self.c_fc, m));
        probe.record(format!("block.{i}.mlp_hidden"), &hidden);
        let m = apply(&self.mlp_c_proj, hidden);
        probe.record(format!("block.{i}.mlp"), &m);
        h + m
    }
}

impl Gpt {
    pub fn build(cfg: &RunConfig, vocab: usize, s: &Scaling, device: &Device) -> Self {
        let d = cfg.model.d_model;
        Self {
            wte: embedding(vocab, d, s.get(Role::Embedding).init_std, device),
            blocks: (0..cfg.model.n_layer).map(|_| Block::init(d, s, device)).collect(),
            rmsnorm_f: RmsNorm::new(d, device),
            lm_head: linear(d, vocab, s.get(Role::Readout).init_std, device),
            n_head: cfg.model.n_head,
            rope: cfg.model.rope,
            attn_scale: s.attention_scale,
            readout_mult: s.get(Role::Readout).forward,
        }
    }

    pub fn logits(&self, mut h: Tensor<3>, probe: &mut Probe) -> Tensor<3> {
        h = self.rmsnorm_f.forward(h);
        probe.record("final_norm", &h);
        probe.record("readout_in", &h);
        let z = apply(&self.lm_head, h);
        let z = if self.readout_mult != 1.0 { z * self.readout_mult } else { z };
        probe.record("logits", &z);
        z
    }
}

impl Architecture for Gpt {
    fn init(cfg: &RunConfig, vocab: usize, scaling: &Scaling, device: &Device) -> Self {
        Self::build(cfg, vocab, scaling, device)
    }

    fn forward(&self, tokens: Tensor<2, Int>, probe: &mut Probe) -> Tensor<3> {
        let mut h = self.wte.forward(tokens);
        probe.record("embed", &h);
        for (i, block) in self.blocks.iter().enumerate() {
            h = block.forward(h, self.n_head, self.rope, self.attn_scale, None, probe, i);
            probe.record(format!("block.{i}"), &h);
        }
        self.logits(h, probe)
    }

    fn final_diagnostics(&self) -> Vec<(String, f64)> {
        self.attention_conditioning()
    }
}

impl Gpt {
    pub fn attention_conditioning(&self) -> Vec<(String, f64)> {
        use super::diagnostics::{condition_summary, weight_values};
        let d = self.wte.weight.dims()[1];
        let w: Vec<_> = self.blocks.iter().map(|b| (weight_values(&b.query), weight_values(&b.key))).collect();
        condition_summary(&w, d, self.n_head)
    }
}
