//! The trait every architecture implements, and the registry that picks one by name.
//!
//! Adding an architecture: copy `gpt_plus.rs` (the smallest variant), implement
//! [`Architecture`], add a variant to `config::ArchName` and one line to [`with_arch`].

pub mod alignment;
pub mod angpt;
pub mod constraint;
pub mod diagnostics;
pub mod flops;
pub mod gpt;
pub mod gpt_plus;
pub mod layers;
pub mod ngpt;
pub mod params;

use crate::config::RunConfig;
use crate::param::{Rescaler, Role, Scaling};
use burn::prelude::*;
pub use constraint::{Constraint, project_to_sphere, sphere_axis};

/// A transformer variant. One training loop serves all of them; they differ only here.
pub trait Architecture: Module + Clone + std::fmt::Debug + Send + 'static {
    /// Fresh weights for `cfg` with a vocabulary of `vocab` tokens, scaled by `scaling`.
    fn init(cfg: &RunConfig, vocab: usize, scaling: &Scaling, device: &Device) -> Self;

    /// Logits [B, T, V] for token ids [B, T]. Intermediate activations go to `probe` when it is on.
    fn forward(&self, tokens: Tensor<2, Int>, probe: &mut Probe) -> Tensor<3>;

    /// The role of a parameter (by its module path), which decides its learning rate,
    /// weight decay and ε through the parameterization. The default covers the naming
    /// convention shared by the shipped architectures.
    fn role(path: &str, rank: usize) -> Role {
        default_role(path, rank)
    }

    /// The norm constraint on residual-space weight vectors, if any (nGPT: unit norm,
    /// anGPT: norm ≤ 1). The default [`post_step`](Self::post_step) applies it.
    const CONSTRAINT: Option<Constraint> = None;

    /// Applied after every optimizer step (and once at init). Must keep each parameter's id
    /// so the optimizer's moments stay attached.
    fn post_step(self) -> Self {
        match Self::CONSTRAINT {
            Some(c) => project_to_sphere(self, c),
            None => self,
        }
    }

    /// Cheap scalar diagnostics recorded at eval points (e.g. mean |α|, mean s_z).
    fn diagnostics(&self) -> Vec<(String, f64)> {
        Vec::new()
    }

    /// Heavier diagnostics computed once at the end of a run (condition numbers, calibrations).
    fn final_diagnostics(&self) -> Vec<(String, f64)> {
        Vec::new()
    }
}

/// Names shared by every shipped architecture: `wte` (input embedding), `lm_head` (readout),
/// `att_c_proj`/`mlp_c_proj` (residual writers), rescalers `attn_alpha`/`mlp_alpha`/`sqk`/`suv`/`sz`.
pub fn default_role(path: &str, rank: usize) -> Role {
    let has = |name: &str| path.split('.').any(|seg| seg == name);
    if has("wte") {
        Role::Embedding
    } else if has("lm_head") {
        Role::Readout
    } else if has("attn_alpha") || has("mlp_alpha") {
        Role::Rescaler(Rescaler::Alpha)
    } else if has("sqk") {
        Role::Rescaler(Rescaler::Sqk)
    } else if has("suv") {
        Role::Rescaler(Rescaler::Suv)
    } else if has("sz") {
        Role::Rescaler(Rescaler::Sz)
    } else if rank >= 2 && (has("att_c_proj") || has("mlp_c_proj")) {
        Role::HiddenOut
    } else if rank >= 2 {
        Role::Hidden
    } else {
        Role::Gain
    }
}

/// The architecture registry: evaluates `$body` with `$A` bound to the architecture type that
/// `$arch` (an [`ArchName`]) names, e.g. `with_arch!(cfg.arch, |A| train_arch::<A>(cfg))`.
/// Adding an architecture is one line here (and its `ArchName` variant).
macro_rules! with_arch {
    ($arch:expr, |$A:ident| $body:expr) => {
        match $arch {
            $crate::config::ArchName::Gpt => {
                type $A = $crate::model::gpt::Gpt;
                $body
            }
            $crate::config::ArchName::GptPlus => {
                type $A = $crate::model::gpt_plus::GptPlus;
                $body
            }
            $crate::config::ArchName::Ngpt => {
                type $A = $crate::model::ngpt::Ngpt;
                $body
            }
            $crate::config::ArchName::Angpt => {
                type $A = $crate::model::angpt::Angpt;
                $body
            }
        }
    };
}
pub(crate) use with_arch;

/// Named intermediate activations, collected only when switched on (burn has no forward hooks).
#[derive(Default)]
pub struct Probe {
    enabled: bool,
    pub records: Vec<(String, Tensor<3>)>,
}

impl Probe {
    pub fn off() -> Self {
        Self::default()
    }
    pub fn on() -> Self {
        Self { enabled: true, records: Vec::new() }
    }
    pub fn is_on(&self) -> bool {
        self.enabled
    }
    pub fn record(&mut self, name: impl Into<String>, t: &Tensor<3>) {
        if self.enabled {
            self.records.push((name.into(), t.clone()));
        }
    }
    pub fn get(&self, name: &str) -> Option<&Tensor<3>> {
        self.records.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }
}

/// Mean cross-entropy (natural log) of logits [B, T, V] against targets [B, T].
pub fn cross_entropy(logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<1> {
    let [b, t, v] = logits.dims();
    crate::kernels::cross_entropy_rows(logits.reshape([b * t, v]), targets.reshape([b * t]))
}

/// Token ids as a device tensor.
pub fn tokens(data: &[i64], batch: usize, seq: usize, device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(data.to_vec(), [batch, seq]), device)
}
