//! μP for GPT/GPT+ (Tensor Programs V, Adam column; microsoft/mup `MuAdam`, `MuReadout`),
//! variants.md §3. m = d / d_base (fan-in ratio):
//! hidden matrices: init variance σ²/m, Adam LR η/m; embedding and gains: unchanged;
//! readout, form "multiplier" (mup package): init unchanged, LR η, forward ×1/m;
//! readout, form "init" (TP-V table): init std σ/m, LR η/m, forward ×1;
//! attention logits: √d_head,base / d_head instead of 1/√d_head (equal at the base width).
//! Weight decay stays the config's decoupled lr·wd (its rate shrinks with the LR: recorded choice).

use super::claims::HORIZON_UNCORRECTED;
use super::sp::GPT_INIT_STD;
use super::{Claim, ClaimSetting, Context, Multipliers, Parameterization, Rescaler, Role, ScaleTrick, ScaledAxis, Sp, decays};

pub struct Mup {
    /// true: TP-V form (b) of the readout; false: the mup package's forward multiplier.
    pub readout_by_init: bool,
}

impl Parameterization for Mup {
    fn multipliers(&self, ctx: &Context, role: Role) -> Multipliers {
        let m = ctx.shape.width;
        let residual = 1.0 / (2.0 * ctx.shape.n_layer as f64).sqrt();
        let (init_std, lr, forward) = match role {
            Role::Embedding | Role::Gain | Role::Rescaler(_) => (GPT_INIT_STD, 1.0, 1.0),
            Role::Hidden => (GPT_INIT_STD / m.sqrt(), 1.0 / m, 1.0),
            Role::HiddenOut => (GPT_INIT_STD * residual / m.sqrt(), 1.0 / m, 1.0),
            Role::Readout if self.readout_by_init => (GPT_INIT_STD / m, 1.0 / m, 1.0),
            Role::Readout => (GPT_INIT_STD, 1.0, 1.0 / m),
        };
        Multipliers { init_std, lr, forward, eps: ctx.eps, weight_decay: if decays(role) { ctx.weight_decay } else { 0.0 } }
    }

    fn scale_trick(&self, ctx: &Context, r: Rescaler) -> ScaleTrick {
        Sp.scale_trick(ctx, r)
    }

    fn attention_scale(&self, ctx: &Context) -> f64 {
        (ctx.shape.base_d_head as f64).sqrt() / ctx.shape.d_head as f64
    }

    /// η* flat across width for GPT (TP-V Fig. 1, the mup README's figure); μP corrects no
    /// horizon, so η* falls with steps as uncorrected.
    fn claims(&self, s: ClaimSetting) -> Vec<Claim> {
        if !s.is_gpt_family() {
            return Vec::new();
        }
        vec![Claim { axis: ScaledAxis::Width, exponent: 0.0, source: "TP-V Fig. 1: η* stable across width" }, HORIZON_UNCORRECTED]
    }
}
