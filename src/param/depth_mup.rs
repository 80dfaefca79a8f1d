//! "Depth-μP" comparison column [P-νGPT §4.5, Fig. 8; variants.md §6.4]: νGPT plus a
//! Depth-μP-style correction η_hidden × m_depth^(−1/2), which the paper reports breaks depth
//! transfer.

use super::claims::nugpt_family_claims;
use super::nugpt::NuGpt;
use super::{Claim, ClaimSetting, Context, Multipliers, Parameterization, Rescaler, Role, ScaleTrick};

pub struct DepthMup;

impl Parameterization for DepthMup {
    fn multipliers(&self, ctx: &Context, role: Role) -> Multipliers {
        let mut m = NuGpt.multipliers(ctx, role);
        if matches!(role, Role::Hidden | Role::HiddenOut) {
            m.lr *= ctx.shape.depth.powf(-0.5);
        }
        m
    }

    fn scale_trick(&self, ctx: &Context, r: Rescaler) -> ScaleTrick {
        NuGpt.scale_trick(ctx, r)
    }

    fn min_lr_frac(&self) -> Option<f64> {
        Some(0.1)
    }

    /// Depth-μP claims depth transfer through m_depth^(−1/2) (νGPT Fig. 8 reports it drifting
    /// right instead: νGPT's rule predicts +1/2 here).
    fn claims(&self, s: ClaimSetting) -> Vec<Claim> {
        nugpt_family_claims(s, "Depth-μP: η* flat across depth with η_hidden × m_depth^(−1/2)")
    }
}
