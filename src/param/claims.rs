//! What each parameterization claims about the optimal learning rate η* along the axes it is
//! meant to scale, and the competing predictions those claims imply for every other
//! parameterization's measurement.
//!
//! A claim is an exponent k in η* ∝ axisᵏ for the parameterization's own base LR (after its
//! multipliers). Its hidden-matrix LR multiplier scales as axisᶜ (read off `multipliers`, as mup
//! reads its multipliers off base shapes), so the claim says the *true* optimal hidden LR scales
//! as axisʰ with h = k + c. Measured under parameterization P, the rule h predicts the slope
//! h − c_P. That is how νGPT's rule (h = −3/4) predicts −3/4 for nGPT under SP and −1/4 for
//! CompleteP, and μP's (h = −1) predicts −1 for GPT under SP — without a branch per figure.

use super::{Context, Role, ShapeRatios, registry};
use crate::config::{ArchName, ParamConfig, ParamName, RunConfig};

/// An axis along which parameterizations scale their multipliers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaledAxis {
    /// d_model (m_width).
    Width,
    /// n_layer (m_depth).
    Depth,
    /// Training steps at a fixed batch (m_data, the token horizon).
    Horizon,
}

impl ScaledAxis {
    /// The axis of a dotted config key (`model.d_model`, `model.n_layer`, `train.steps`).
    pub fn of_key(key: &str) -> Option<Self> {
        match key.strip_prefix("cfg.").unwrap_or(key) {
            "model.d_model" => Some(Self::Width),
            "model.n_layer" => Some(Self::Depth),
            "train.steps" => Some(Self::Horizon),
            _ => None,
        }
    }
}

/// One claim: η* ∝ axis^exponent for this parameterization's base LR.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Claim {
    pub axis: ScaledAxis,
    pub exponent: f64,
    /// Where the claim comes from (paper and figure).
    pub source: &'static str,
}

/// The setting a claim depends on besides the axis: the architecture and whether the token
/// horizon correction m_data is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimSetting {
    pub arch: ArchName,
    pub scale_horizon: bool,
}

impl ClaimSetting {
    /// GPT and GPT+ (the architectures μP and SP's width claims are about).
    pub fn is_gpt_family(&self) -> bool {
        matches!(self.arch, ArchName::Gpt | ArchName::GptPlus)
    }
}

/// Without a horizon correction η* falls as the token horizon grows (Bjorck et al. 2025:
/// η* ∝ tokens^−0.32; νGPT Figs. 9, 15: steps^(−1/3)).
pub const HORIZON_UNCORRECTED: Claim =
    Claim { axis: ScaledAxis::Horizon, exponent: -1.0 / 3.0, source: "Bjorck et al. 2025, νGPT Figs. 9, 15: η* ∝ steps^(−1/3) uncorrected" };

/// νGPT's claims, which its comparison columns (CompleteP, Depth-μP) share: flat η* along width
/// and depth, and along the horizon when m_data^(−1/3) is applied.
pub fn nugpt_family_claims(s: ClaimSetting, source: &'static str) -> Vec<Claim> {
    if s.is_gpt_family() {
        return Vec::new();
    }
    let horizon = if s.scale_horizon { Claim { axis: ScaledAxis::Horizon, exponent: 0.0, source } } else { HORIZON_UNCORRECTED };
    vec![Claim { axis: ScaledAxis::Width, exponent: 0.0, source }, Claim { axis: ScaledAxis::Depth, exponent: 0.0, source }, horizon]
}

/// A named prediction of the measured exponent.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub name: String,
    pub exponent: f64,
    /// This parameterization's own claim (the one its verdict tests).
    pub own: bool,
}

/// Exponent c of the hidden-matrix LR multiplier along `axis` (η_hidden ∝ axisᶜ).
pub fn hidden_lr_exponent(param: ParamName, s: ClaimSetting, axis: ScaledAxis) -> f64 {
    let cfg = setting_config(param, s);
    let p = registry(param, &cfg);
    let lr_at = |factor: f64| {
        let mut shape = ShapeRatios::of(&cfg);
        (shape.width, shape.depth, shape.data) = (1.0, 1.0, 1.0);
        match axis {
            ScaledAxis::Width => shape.width = factor,
            ScaledAxis::Depth => shape.depth = factor,
            ScaledAxis::Horizon if s.scale_horizon => shape.data = factor,
            ScaledAxis::Horizon => {}
        }
        let ctx = Context { arch: s.arch, shape, eps: cfg.optim.eps, weight_decay: cfg.optim.weight_decay };
        p.multipliers(&ctx, Role::Hidden).lr
    };
    (lr_at(2.0) / lr_at(1.0)).log2()
}

/// The claim of `param` along `axis` for this setting, if it makes one.
pub fn claim(param: ParamName, s: ClaimSetting, axis: ScaledAxis) -> Option<Claim> {
    registry(param, &setting_config(param, s)).claims(s).into_iter().find(|c| c.axis == axis)
}

/// A default run config of this setting: the multipliers' ratios are what is read, so any
/// base shape serves.
fn setting_config(param: ParamName, s: ClaimSetting) -> RunConfig {
    RunConfig {
        name: String::new(),
        arch: s.arch,
        param: ParamConfig { name: param, scale_horizon: s.scale_horizon, ..ParamConfig::default() },
        seed: 0,
        model: Default::default(),
        data: Default::default(),
        optim: Default::default(),
        train: Default::default(),
    }
}

/// Every named prediction of the exponent measured under `param` along `axis`: its own claim,
/// each other parameterization's rule translated into `param`'s multipliers, and the null
/// "no correction needed" (h = 0). Equal predictions are merged, their names joined.
pub fn predictions(param: ParamName, s: ClaimSetting, axis: ScaledAxis) -> Vec<Prediction> {
    let c_p = hidden_lr_exponent(param, s, axis);
    let mut out: Vec<Prediction> = Vec::new();
    let mut add = |name: String, exponent: f64, own: bool| {
        let exponent = if exponent.abs() < 1e-12 { 0.0 } else { exponent };
        match out.iter_mut().find(|p| (p.exponent - exponent).abs() < 1e-9) {
            Some(p) => {
                p.own |= own;
                if !p.name.contains(&name) {
                    p.name = format!("{} = {}", p.name, name);
                }
            }
            None => out.push(Prediction { name, exponent, own }),
        }
    };
    if let Some(k) = claim(param, s, axis) {
        add(format!("{param}'s claim ({})", k.source), k.exponent, true);
    }
    for &q in ParamName::ALL.iter().filter(|&&q| q != param) {
        if let Some(k) = claim(q, s, axis) {
            let h = k.exponent + hidden_lr_exponent(q, s, axis);
            add(format!("{q}'s rule (η_hidden ∝ x^{})", fmt_exp(h)), h - c_p, false);
        }
    }
    add("no correction needed (η_hidden constant)".into(), -c_p, false);
    out.sort_by(|a, b| b.own.cmp(&a.own).then(a.exponent.total_cmp(&b.exponent)));
    out
}

/// −0.75 → "−3/4", 0 → "0": the exponents parameterizations use are small fractions.
pub fn fmt_exp(x: f64) -> String {
    for den in [1, 2, 3, 4, 6, 8] {
        let num = x * den as f64;
        if (num - num.round()).abs() < 1e-9 {
            let n = num.round() as i64;
            let sign = if n < 0 { "−" } else { "" };
            return if den == 1 { format!("{sign}{}", n.abs()) } else { format!("{sign}{}/{den}", n.abs()) };
        }
    }
    format!("{x:+.3}")
}
