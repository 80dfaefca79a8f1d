//! Training FLOPs of one optimizer step, counted analytically from the config: the one counter
//! behind a run's recorded `flops_per_step`, the compute axis of the compute ladder and
//! `sweep plan`'s cost model.
//!
//! Convention (README, "FLOPs per step"): a multiply-add is 2 FLOPs, an elementwise operation 1
//! FLOP per element, and training costs 3× the forward pass (the backward pass twice the
//! forward) for everything that runs per token. What differs between the variants is counted;
//! the per-token work every variant of one shape shares identically (softmax, RoPE, SwiGLU's
//! gate, cross-entropy) and the AdamW update are left out.

use crate::config::{ArchName, RunConfig};

/// Forward + backward relative to the forward pass.
const TRAIN_FACTOR: f64 = 3.0;
/// FLOPs per element of a vector normalization: squares and their sum (2), the rescale (1).
const NORM: f64 = 3.0;
/// A normalization with a learnable gain multiplies once more.
const NORM_WITH_GAIN: f64 = 4.0;
/// h + a ⊙ (t − h) written as (1 − a) ⊙ h + a ⊙ t: two products and a sum.
const LERP: f64 = 3.0;

/// One step's training FLOPs, by where they go.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepFlops {
    /// The weight matrices (q, k, v, o, the MLP's two, the readout): 6 per weight per token.
    /// The input embedding is a lookup and costs nothing.
    pub matmul: f64,
    /// Q·Kᵀ and P·V over the whole T×T block per head (the fused kernel computes it all and
    /// zeroes the future half): 3 × 4·T·d per layer per token.
    pub attention: f64,
    /// Normalizations (RMSNorm, QK-norm, nGPT's unit norms), the residual update (GPT's add,
    /// the LERPs of nGPT and anGPT) and the per-token scalings (s_qk), ×3 for the backward.
    pub normalization: f64,
    /// Work on the weights once per step: the projection onto the sphere after each step
    /// (nGPT, anGPT: 3 per constrained element) and the scales folded into weights (s_u·s_ν,
    /// s_z, anGPT's ν factors: 3 per scaled element, forward and backward).
    pub weight_side: f64,
}

impl StepFlops {
    pub fn total(&self) -> f64 {
        self.matmul + self.attention + self.normalization + self.weight_side
    }
}

/// FLOPs of one training step of `cfg` with a vocabulary of `vocab` tokens.
pub fn step_flops(cfg: &RunConfig, vocab: usize) -> StepFlops {
    let (d, l, t, v) = (cfg.model.d_model as f64, cfg.model.n_layer as f64, cfg.data.seq_len as f64, vocab as f64);
    let tokens = (cfg.data.batch_size * cfg.data.seq_len) as f64;
    // Per layer: q, k, v, o (4d²), the MLP's d→8d input (8d²) and 4d→d output (4d²).
    let block_weights = 16.0 * d * d;
    let matmul = TRAIN_FACTOR * 2.0 * (l * block_weights + v * d) * tokens;
    let attention = TRAIN_FACTOR * 4.0 * t * d * l * tokens;
    let norm = &cfg.model.norm;
    // Forward elementwise FLOPs per token, per layer and once per model.
    let (per_layer, once) = match cfg.arch {
        // Two pre-norms, two residual adds; the final norm.
        ArchName::Gpt => (2.0 * NORM_WITH_GAIN * d + 2.0 * d, NORM_WITH_GAIN * d),
        // GPT's plus RMSNorm with a gain on every head of q and k.
        ArchName::GptPlus => (4.0 * NORM_WITH_GAIN * d + 2.0 * d, NORM_WITH_GAIN * d),
        ArchName::Ngpt => {
            let qk = if norm.no_qk_norm { 0.0 } else { 2.0 * NORM * d + if norm.fixed_sqk { 0.0 } else { 2.0 * d } };
            // Per sub-block: the output's norm, the LERP and the renormalization after it;
            // block 0 also renormalizes its input, and there is no final norm.
            (qk + 2.0 * (NORM * d + LERP * d + NORM * d), NORM * d)
        }
        ArchName::Angpt => {
            let exact_qk = norm.exact_qk_norm && !norm.no_qk_norm;
            // The ν factors ride on the two LERPs (`mix`); no norm layers besides QK-norm.
            (if exact_qk { 2.0 * NORM_WITH_GAIN * d } else { 0.0 } + 2.0 * LERP * d, 0.0)
        }
    };
    let normalization = TRAIN_FACTOR * (l * per_layer + once) * tokens;
    let constrained = l * block_weights + 2.0 * v * d;
    let weight_side = match cfg.arch {
        ArchName::Gpt | ArchName::GptPlus => 0.0,
        // s_u·s_ν on the MLP input weight, s_z on the readout.
        ArchName::Ngpt => NORM * constrained + TRAIN_FACTOR * (l * 8.0 * d * d + v * d),
        // ν_up on the MLP input weight, s_z on the readout, ν_qk on W_q and W_k without exact QK-norm.
        ArchName::Angpt => {
            let qk = if norm.exact_qk_norm && !norm.no_qk_norm { 0.0 } else { 2.0 * d * d };
            NORM * constrained + TRAIN_FACTOR * (l * (8.0 * d * d + qk) + v * d)
        }
    };
    StepFlops { matmul, attention, normalization, weight_side }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(arch: &str, extra: &str) -> RunConfig {
        let text = format!("arch = \"{arch}\"\n[model]\nd_model = 64\nn_layer = 2\nn_head = 4\n{extra}[data]\nseq_len = 64\nbatch_size = 16\n");
        RunConfig::from_toml_str(&text, "t", &[]).unwrap()
    }

    #[test]
    fn gpt_at_d64_counts_by_hand() {
        // 1024 tokens per step; 16·64²·2 + 73·64 = 135 744 weights touched per token.
        let f = step_flops(&cfg("gpt", ""), 73);
        assert_eq!(f.matmul, 6.0 * 135_744.0 * 1024.0);
        assert_eq!(f.attention, 12.0 * 64.0 * 64.0 * 2.0 * 1024.0);
        assert_eq!(f.normalization, 3.0 * (2.0 * 10.0 * 64.0 + 4.0 * 64.0) * 1024.0);
        assert_eq!(f.weight_side, 0.0);
        assert_eq!(f.total(), f.matmul + f.attention + f.normalization);
    }

    #[test]
    fn the_normalized_variants_cost_more_than_gpt_at_the_same_shape() {
        let total = |arch: &str, extra: &str| step_flops(&cfg(arch, extra), 73).total();
        let gpt = total("gpt", "");
        // Same matrices and attention: only the normalization and the weight-side work differ.
        for arch in ["gpt_plus", "ngpt", "angpt"] {
            let f = step_flops(&cfg(arch, ""), 73);
            assert_eq!((f.matmul, f.attention), (step_flops(&cfg("gpt", ""), 73).matmul, step_flops(&cfg("gpt", ""), 73).attention));
            assert!(f.total() > gpt, "{arch}");
        }
        // nGPT's six normalizations per layer make it the dearest; anGPT trades GPT+'s pre-norms
        // for scalar factors on its LERPs, so it costs less than GPT+; the ablations remove some.
        assert!(total("ngpt", "") > total("gpt_plus", "") && total("gpt_plus", "") > total("angpt", ""));
        assert!(total("ngpt", "[model.norm]\nno_qk_norm = true\n") < total("ngpt", ""));
        assert!(total("angpt", "[model.norm]\nexact_qk_norm = false\n") < total("angpt", ""));
        // Normalizations are O(d) per token against the matrices' O(d²): under 2% even at d = 64
        // (0.72%), though they take 3–11% of nGPT's step time (README, compute ladder).
        let over = total("ngpt", "") / gpt - 1.0;
        assert!((0.005..0.02).contains(&over), "nGPT/GPT − 1 = {over:.4}");
    }
}
