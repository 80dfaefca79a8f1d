//! "Depth-μP" comparison column [P-νGPT §4.5, Fig. 8; variants.md §6.4]: νGPT plus a
//! Depth-μP-style correction η_hidden × m_depth^(−1/2), which the paper reports breaks depth
//! transfer.

use super::nugpt::NuGpt;
use super::{Context, Multipliers, Parameterization, Rescaler, Role, ScaleTrick};

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
}
