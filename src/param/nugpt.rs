//! νGPT [P-νGPT §3.1, Table 1 (text version); variants.md §6.1] for nGPT (and anGPT):
//! global LR × m_data^(−1/3); embedding LR × m_width^(−1/2); hidden and readout LR ×
//! m_width^(−3/4); readout LR × ½; rescalers keep the global LR; rescaler scales constant 0.03
//! (not 1/√d); α_init = 0.05·m_depth^(−1); s_z,init = m_width^(1/2); s_u, s_ν unchanged;
//! Adam ε = 1e-16, no weight decay; cosine to 10%.

use super::claims::nugpt_family_claims;
use super::{Claim, ClaimSetting, Context, Multipliers, Parameterization, Rescaler, Role, ScaleTrick};

pub struct NuGpt;

/// The rescaler scale νGPT keeps constant across widths.
pub const RESCALER_SCALE: f64 = 0.03;
pub const EPS: f64 = 1e-16;

/// Per-role LR multipliers shared by νGPT and the comparison columns that modify it.
pub fn nugpt_lr(ctx: &Context, role: Role, hidden_exp: f64, readout_exp: f64, readout_const: f64) -> f64 {
    let (mw, md) = (ctx.shape.width, ctx.shape.data);
    let global = md.powf(-1.0 / 3.0);
    global
        * match role {
            Role::Embedding => mw.powf(-0.5),
            Role::Hidden | Role::HiddenOut => mw.powf(hidden_exp),
            Role::Readout => readout_const * mw.powf(readout_exp),
            Role::Gain | Role::Rescaler(_) => 1.0,
        }
}

/// νGPT's scale-trick constants; `sz_init_exp` is ½ for νGPT (Θ(1) logits), 0 for CompleteP.
pub fn nugpt_trick(ctx: &Context, r: Rescaler, sz_init_exp: f64) -> ScaleTrick {
    match r {
        Rescaler::Alpha => ScaleTrick { init: 0.05 / ctx.shape.depth, scale: RESCALER_SCALE },
        Rescaler::Sqk => ScaleTrick { init: 1.0, scale: RESCALER_SCALE },
        Rescaler::Sz => ScaleTrick { init: ctx.shape.width.powf(sz_init_exp), scale: RESCALER_SCALE },
        Rescaler::Suv => ScaleTrick { init: 1.0, scale: 1.0 },
    }
}

impl Parameterization for NuGpt {
    fn multipliers(&self, ctx: &Context, role: Role) -> Multipliers {
        Multipliers { init_std: 0.02, lr: nugpt_lr(ctx, role, -0.75, -0.75, 0.5), forward: 1.0, eps: EPS, weight_decay: 0.0 }
    }

    fn scale_trick(&self, ctx: &Context, r: Rescaler) -> ScaleTrick {
        nugpt_trick(ctx, r, 0.5)
    }

    fn min_lr_frac(&self) -> Option<f64> {
        Some(0.1)
    }

    fn claims(&self, s: ClaimSetting) -> Vec<Claim> {
        nugpt_family_claims(s, "νGPT Figs. 2, 3, 9: η* flat across width, depth and (with m_data) horizon")
    }
}
