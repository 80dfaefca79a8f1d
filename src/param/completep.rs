//! "CompleteP"-style comparison column of νGPT's figures [P-νGPT §4.4, §6.4; variants.md
//! §6.4, a reconstruction from the text and lemmas]: nGPT with μP-style (full alignment)
//! width corrections — hidden LR × m_width^(−1), readout LR × m_width^(−1/2) with s_z,init
//! constant (logits Θ(d^(−1/2)) at init) — otherwise as νGPT (m_data^(−1/3), embedding
//! m_width^(−1/2), rescaler scales 0.03, α_init ∝ 1/m_depth, ε = 1e-16, cosine to 10%).

use super::claims::nugpt_family_claims;
use super::nugpt::{EPS, nugpt_lr, nugpt_trick};
use super::{Claim, ClaimSetting, Context, Multipliers, Parameterization, Rescaler, Role, ScaleTrick};

pub struct CompleteP;

impl Parameterization for CompleteP {
    fn multipliers(&self, ctx: &Context, role: Role) -> Multipliers {
        Multipliers { init_std: 0.02, lr: nugpt_lr(ctx, role, -1.0, -0.5, 1.0), forward: 1.0, eps: EPS, weight_decay: 0.0 }
    }

    fn scale_trick(&self, ctx: &Context, r: Rescaler) -> ScaleTrick {
        nugpt_trick(ctx, r, 0.0)
    }

    fn min_lr_frac(&self) -> Option<f64> {
        Some(0.1)
    }

    /// Its design claims width transfer with μP's full-alignment rule (νGPT §4.4 reports it
    /// drifting right instead: νGPT's rule predicts +1/4 here).
    fn claims(&self, s: ClaimSetting) -> Vec<Claim> {
        nugpt_family_claims(s, "μP-style full alignment (CompleteP): η* flat across width")
    }
}
