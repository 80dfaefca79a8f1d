//! Standard parameterization: identity multipliers; GPT init N(0, 0.02²) with residual
//! output projections at 0.02/√(2L) [P-nGPT A.5]; nGPT scale-trick constants of
//! [P-nGPT §2.6] (α 0.05 / (1/√d), s_qk 1 / (1/√d), s_uv 1 / 1, s_z 1 / (1/√d)).

use super::claims::HORIZON_UNCORRECTED;
use super::{Claim, ClaimSetting, Context, Multipliers, Parameterization, Rescaler, Role, ScaleTrick, ScaledAxis, decays};

pub struct Sp;

pub const GPT_INIT_STD: f64 = 0.02;

impl Parameterization for Sp {
    fn multipliers(&self, ctx: &Context, role: Role) -> Multipliers {
        let init_std = match role {
            Role::HiddenOut => GPT_INIT_STD / (2.0 * ctx.shape.n_layer as f64).sqrt(),
            _ => GPT_INIT_STD,
        };
        Multipliers { init_std, lr: 1.0, forward: 1.0, eps: ctx.eps, weight_decay: if decays(role) { ctx.weight_decay } else { 0.0 } }
    }

    fn scale_trick(&self, ctx: &Context, r: Rescaler) -> ScaleTrick {
        let inv_sqrt_d = 1.0 / (ctx.shape.d_model as f64).sqrt();
        match r {
            Rescaler::Alpha => ScaleTrick { init: 0.05, scale: inv_sqrt_d },
            Rescaler::Sqk | Rescaler::Sz => ScaleTrick { init: 1.0, scale: inv_sqrt_d },
            Rescaler::Suv => ScaleTrick { init: 1.0, scale: 1.0 },
        }
    }

    /// The negative control: under Adam, GPT's optimal hidden LR falls as 1/width (TP-V), and
    /// nothing corrects the horizon.
    fn claims(&self, s: ClaimSetting) -> Vec<Claim> {
        let mut c = vec![HORIZON_UNCORRECTED];
        if s.is_gpt_family() {
            c.push(Claim { axis: ScaledAxis::Width, exponent: -1.0, source: "TP-V: SP under Adam, η* ∝ 1/width (the negative control)" });
        }
        c
    }
}
