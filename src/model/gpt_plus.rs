//! GPT+ : the GPT baseline plus per-head QK-norm (RMSNorm with a learnable gain over
//! d_head on q and k, after projection and before RoPE), softmax scale 1/√d_head.
//! The baseline anGPT compares against [P-anGPT abs; variants.md §2.3, a reconstruction].
//!
//! This is the smallest architecture file: copy it to add a new one.

use super::gpt::{Block, Gpt};
use super::layers::RmsNorm;
use super::{Architecture, Probe};
use crate::config::RunConfig;
use crate::param::Scaling;
use burn::prelude::*;

#[derive(Module, Debug)]
pub struct QkNorm {
    pub q_norm: RmsNorm,
    pub k_norm: RmsNorm,
}

#[derive(Module, Debug)]
pub struct GptPlus {
    /// The GPT baseline's weights (embedding, blocks, final norm, readout).
    pub gpt: Gpt,
    /// One QK-norm pair per block.
    pub qk: Vec<QkNorm>,
}

impl Architecture for GptPlus {
    fn init(cfg: &RunConfig, vocab: usize, scaling: &Scaling, device: &Device) -> Self {
        let dh = cfg.d_head();
        let qk = (0..cfg.model.n_layer).map(|_| QkNorm { q_norm: RmsNorm::new(dh, device), k_norm: RmsNorm::new(dh, device) }).collect();
        Self { gpt: Gpt::build(cfg, vocab, scaling, device), qk }
    }

    fn forward(&self, tokens: Tensor<2, Int>, probe: &mut Probe) -> Tensor<3> {
        let g = &self.gpt;
        let mut h = g.wte.forward(tokens);
        probe.record("embed", &h);
        for (i, (block, qk)) in g.blocks.iter().zip(&self.qk).enumerate() {
            h = Block::forward(block, h, g.n_head, g.rope, g.attn_scale, Some((&qk.q_norm, &qk.k_norm)), probe, i);
            probe.record(format!("block.{i}"), &h);
        }
        g.logits(h, probe)
    }

    fn final_diagnostics(&self) -> Vec<(String, f64)> {
        self.gpt.attention_conditioning()
    }
}
