//! Parameterizations: pure functions from (base shape, actual shape, tensor role) to
//! multipliers. Nothing here is stored in a checkpoint; it is recomputed from the config,
//! so it can neither be lost nor applied twice (the mup package's pitfalls).
//!
//! Adding one: write `src/param/<name>.rs` implementing [`Parameterization`], add a
//! variant to `config::ParamName` and one line to [`registry`].

pub mod claims;
mod completep;
mod depth_mup;
mod mup;
pub mod nugpt;
mod sp;

use crate::config::{ArchName, ParamName, RunConfig};
pub use claims::{Claim, ClaimSetting, Prediction, ScaledAxis};
pub use completep::CompleteP;
pub use depth_mup::DepthMup;
pub use mup::Mup;
pub use nugpt::NuGpt;
pub use sp::Sp;

/// The closed set of tensor roles a parameterization distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Input token embedding E_in [V, d] (one width dimension).
    Embedding,
    /// Matrix mapping width → width (W_q, W_k, W_v, W_fc).
    Hidden,
    /// Matrix writing into the residual stream (W_o, W_proj): GPT scales its init by 1/√(2L).
    HiddenOut,
    /// Output embedding E_out (lm_head).
    Readout,
    /// Norm gain vector (RMSNorm weight).
    Gain,
    /// A learned rescaler of the normalized architectures, stored with the scale trick.
    Rescaler(Rescaler),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rescaler {
    /// Eigen learning rates α_A, α_M.
    Alpha,
    /// QK scale s_qk.
    Sqk,
    /// MLP scales s_u, s_ν.
    Suv,
    /// Logit scale s_z.
    Sz,
}

/// The shape of the run relative to the base (proxy) model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShapeRatios {
    pub width: f64,
    pub depth: f64,
    /// m_data: the run's steps / base steps.
    pub data: f64,
    pub d_model: usize,
    pub n_layer: usize,
    pub d_head: usize,
    pub base_d_head: usize,
}

impl ShapeRatios {
    pub fn of(cfg: &RunConfig) -> Self {
        let b = &cfg.param;
        Self {
            width: cfg.model.d_model as f64 / b.base_width as f64,
            depth: cfg.model.n_layer as f64 / b.base_depth as f64,
            data: if b.scale_horizon { cfg.train.steps as f64 / b.base_steps as f64 } else { 1.0 },
            d_model: cfg.model.d_model,
            n_layer: cfg.model.n_layer,
            d_head: cfg.d_head(),
            base_d_head: b.base_heads.map(|h| (b.base_width / h.max(1)).max(1)).unwrap_or(cfg.d_head()),
        }
    }
}

/// What a parameterization says about one tensor role.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Multipliers {
    /// Init standard deviation (for normalized architectures only the direction matters).
    pub init_std: f64,
    /// Multiplier on the global (scheduled) learning rate.
    pub lr: f64,
    /// Multiplier applied in the forward pass (μP readout 1/m).
    pub forward: f64,
    /// Adam ε for this tensor.
    pub eps: f64,
    /// Decoupled weight decay for this tensor.
    pub weight_decay: f64,
}

/// Scale-trick constants of a rescaler: stored θ starts at `scale`; the forward pass uses θ·init/scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScaleTrick {
    pub init: f64,
    pub scale: f64,
}

impl ScaleTrick {
    /// Factor that turns the stored θ into the effective value.
    pub fn factor(&self) -> f64 {
        self.init / self.scale
    }
}

/// Everything the run's optimizer settings contribute to a parameterization's answer.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    pub arch: ArchName,
    pub shape: ShapeRatios,
    pub eps: f64,
    pub weight_decay: f64,
}

pub trait Parameterization {
    fn multipliers(&self, ctx: &Context, role: Role) -> Multipliers;
    fn scale_trick(&self, ctx: &Context, r: Rescaler) -> ScaleTrick;
    /// Softmax scale for (non-normalized) attention logits.
    fn attention_scale(&self, ctx: &Context) -> f64 {
        1.0 / (ctx.shape.d_head as f64).sqrt()
    }
    /// Cosine floor override (νGPT decays to 10%); `None` keeps the config's.
    fn min_lr_frac(&self) -> Option<f64> {
        None
    }
    /// What this parameterization claims about η* along the axes it scales (claims.rs): the
    /// verdicts test these, so a new parameterization brings its prediction with it.
    fn claims(&self, _setting: ClaimSetting) -> Vec<Claim> {
        Vec::new()
    }
}

/// The registry: one line per parameterization.
pub fn registry(name: ParamName, cfg: &RunConfig) -> Box<dyn Parameterization> {
    match name {
        ParamName::Sp => Box::new(Sp),
        ParamName::Mup => Box::new(Mup { readout_by_init: cfg.param.mup_readout == "init" }),
        ParamName::Nugpt => Box::new(NuGpt),
        ParamName::Completep => Box::new(CompleteP),
        ParamName::DepthMup => Box::new(DepthMup),
    }
}

/// A parameterization evaluated for one run: what the architectures and optimizer read.
#[derive(Clone, Debug)]
pub struct Scaling {
    pub ctx: Context,
    roles: Vec<(Role, Multipliers)>,
    tricks: Vec<(Rescaler, ScaleTrick)>,
    pub attention_scale: f64,
    pub min_lr_frac: Option<f64>,
}

impl Scaling {
    pub fn of(cfg: &RunConfig) -> Self {
        let p = registry(cfg.param.name, cfg);
        let ctx = Context { arch: cfg.arch, shape: ShapeRatios::of(cfg), eps: cfg.optim.eps, weight_decay: cfg.optim.weight_decay };
        let all_roles = [Role::Embedding, Role::Hidden, Role::HiddenOut, Role::Readout, Role::Gain]
            .into_iter()
            .chain(ALL_RESCALERS.iter().map(|&r| Role::Rescaler(r)));
        let roles = all_roles.map(|r| (r, p.multipliers(&ctx, r))).collect();
        let n = &cfg.model.norm;
        let tricks = ALL_RESCALERS
            .iter()
            .map(|&r| {
                let mut t = p.scale_trick(&ctx, r);
                match r {
                    Rescaler::Alpha => {
                        t.init = n.alpha_init.unwrap_or(t.init);
                        t.scale = n.alpha_scale.unwrap_or(t.scale);
                    }
                    Rescaler::Sz => t.scale = n.sz_scale.unwrap_or(t.scale),
                    _ => {}
                }
                (r, t)
            })
            .collect();
        Self { ctx, roles, tricks, attention_scale: p.attention_scale(&ctx), min_lr_frac: p.min_lr_frac() }
    }

    pub fn get(&self, role: Role) -> Multipliers {
        self.roles.iter().find(|(r, _)| *r == role).map(|(_, m)| *m).expect("every role is tabulated")
    }

    pub fn trick(&self, r: Rescaler) -> ScaleTrick {
        self.tricks.iter().find(|(x, _)| *x == r).map(|(_, t)| *t).expect("every rescaler is tabulated")
    }
}

pub const ALL_RESCALERS: [Rescaler; 4] = [Rescaler::Alpha, Rescaler::Sqk, Rescaler::Suv, Rescaler::Sz];

/// Weight decay applies to matrices and embeddings only, never to gains or rescalers.
pub fn decays(role: Role) -> bool {
    matches!(role, Role::Embedding | Role::Hidden | Role::HiddenOut | Role::Readout)
}
