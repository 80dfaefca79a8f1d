//! The weight-norm constraints of the normalized architectures: which axis of each matrix
//! holds residual-space vectors, and the projection applied after every optimizer step.

use super::params::map_params;

/// The axis of a weight along which its vectors live in the residual (d) space, for the
/// shipped naming: burn's Linear is [in, out], so W_q/W_k/W_v/W_fc/lm_head are normalized
/// along axis 0, the residual writers W_o/W_proj along axis 1, the embedding [V, d] along 1.
/// `None` for tensors that are not constrained (rescalers, gains).
pub fn sphere_axis(path: &str, rank: usize) -> Option<usize> {
    if rank != 2 {
        return None;
    }
    let has = |name: &str| path.split('.').any(|seg| seg == name);
    if has("wte") || has("att_c_proj") || has("mlp_c_proj") {
        Some(1)
    } else if has("lm_head") || has("query") || has("key") || has("value") || has("c_fc") {
        Some(0)
    } else {
        None
    }
}

/// How post-step constraints treat the residual-space vectors of every weight matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Constraint {
    /// nGPT: w ← w / ‖w‖ (unit norm) [P-nGPT §2.6].
    UnitNorm,
    /// anGPT: w ← w / max(1, ‖w‖) (norm at most 1) [variants.md §5.3].
    NormAtMostOne,
}

/// Apply a [`Constraint`] to every matrix [`sphere_axis`] names, keeping parameter ids.
pub fn project_to_sphere<M: burn::module::Module>(m: M, constraint: Constraint) -> M {
    map_params(m, |path, shape, flat| {
        let axis = sphere_axis(path, shape.len())?;
        let w = flat.reshape([shape[0], shape[1]]);
        let norm = w.clone().square().sum_dim(axis).sqrt();
        let w = match constraint {
            Constraint::UnitNorm => w / norm.clamp_min(1e-12),
            Constraint::NormAtMostOne => w / norm.clamp_min(1.0),
        };
        Some(w.reshape([shape[0] * shape[1]]))
    })
}
