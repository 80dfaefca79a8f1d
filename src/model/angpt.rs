//! anGPT, approximately normalized GPT [P-anGPT] — a RECONSTRUCTION (variants.md §5.3):
//! the paper body and code were not available. What is certain: norm-constrained parameters
//! instead of strict normalization, fixed scalar factors ν instead of norm layers (from the
//! concentration of norms of high-dimensional vectors), LERP residuals with
//! ν(α) = 1/√(α² + (1−α)²), learnable α and s_z with the nGPT scale trick, no weight decay
//! and no warm-up.
//!
//! Our choices: every ν is calibrated at init on unit-norm random inputs
//! (ν = 1/√E‖g(x)‖², per stage) and then frozen (stored as a non-trainable tensor so a resumed
//! run uses the same values); `analytic_nu` switches to closed forms. Per block the factors are
//! [ν_v, ν_att, ν_o, ν_up, ν_act, ν_down]: each head's v, each head's attention output and the
//! attention sub-block output have unit norm; the MLP input coordinates have unit scale (as
//! nGPT's √d), the SwiGLU hidden vector and the MLP output have unit norm. QK-norm is GPT+'s
//! exact RMSNorm by default (`exact_qk_norm`), otherwise a calibrated factor to unit RMS.

use super::constraint::{Constraint, project_to_sphere};
use super::layers::{
    RmsNorm, apply, apply_scaled, causal_attention, embedding, filled, linear, matmul_tokens, merge_heads, mix, rope, split_heads, swiglu, unit_norm,
};
use super::{Architecture, Probe};
use crate::config::{Rope, RunConfig};
use crate::param::{Rescaler, Role, Scaling};
use burn::module::Param;
use burn::nn::{Embedding, Linear};
use burn::prelude::*;
use burn::tensor::Distribution;

/// Indices into a block's frozen `nu` vector.
const NU_NAMES: [&str; 7] = ["v", "att", "o", "up", "act", "down", "qk"];
const NU_V: usize = 0;
const NU_ATT: usize = 1;
const NU_O: usize = 2;
const NU_UP: usize = 3;
const NU_ACT: usize = 4;
const NU_DOWN: usize = 5;
const NU_QK: usize = 6;

#[derive(Module, Debug)]
pub struct Block {
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub att_c_proj: Linear,
    pub c_fc: Linear,
    pub mlp_c_proj: Linear,
    pub q_norm: RmsNorm,
    pub k_norm: RmsNorm,
    pub attn_alpha: Param<Tensor<1>>,
    pub mlp_alpha: Param<Tensor<1>>,
    /// Frozen ν factors (see `NU_NAMES`), calibrated once at init.
    pub nu: Param<Tensor<1>>,
}

#[derive(Module, Debug)]
pub struct Consts {
    pub n_head: usize,
    #[module(skip)]
    pub rope: Rope,
    pub alpha: f64,
    pub sz: f64,
    pub exact_qk_norm: bool,
    pub seq_len: usize,
}

#[derive(Module, Debug)]
pub struct Angpt {
    pub wte: Embedding,
    pub blocks: Vec<Block>,
    pub lm_head: Linear,
    pub sz: Param<Tensor<1>>,
    pub c: Consts,
}

/// ν(α) = 1/√(mean_i[(1−α_i)² + α_i²]): keeps ‖(1−α)h + αx‖ ≈ 1 for independent unit h, x.
/// Recomputed from the current α every forward pass, outside the gradient.
fn nu_alpha(alpha: &Tensor<1>) -> Tensor<1> {
    let a = alpha.clone().detach();
    let one_minus = a.clone().neg() + 1.0;
    (one_minus.square() + a.square()).mean().sqrt().recip()
}

impl Block {
    fn nu(&self, i: usize) -> Tensor<1> {
        self.nu.val().narrow(0, i, 1)
    }

    /// The attention sub-block before its output factor: ν_v, ν_att and ν_o are frozen scalars
    /// and attention and W_o are linear in v, so all three are applied once, in `forward`.
    fn attention(&self, h: Tensor<3>, c: &Consts) -> Tensor<3> {
        let dh = h.dims()[2] / c.n_head;
        let (q, k) = if c.exact_qk_norm {
            let q = split_heads(apply(&self.query, h.clone()), c.n_head);
            let k = split_heads(apply(&self.key, h.clone()), c.n_head);
            (self.q_norm.forward(q), self.k_norm.forward(k))
        } else {
            // ν_qk is a frozen scalar and RoPE is linear: scale the [d, d] weights, not q and k.
            let s = self.nu(NU_QK).unsqueeze::<2>();
            let q = matmul_tokens(h.clone(), self.query.weight.val() * s.clone());
            let k = matmul_tokens(h.clone(), self.key.weight.val() * s);
            (split_heads(q, c.n_head), split_heads(k, c.n_head))
        };
        let v = split_heads(apply(&self.value, h), c.n_head);
        let (q, k) = (rope(q, c.rope), rope(k, c.rope));
        let o = causal_attention(q, k, v, 1.0 / (dh as f64).sqrt());
        apply(&self.att_c_proj, merge_heads(o))
    }

    /// The SwiGLU sub-block before its output factor: ν_up must act on the gate before SiLU
    /// (folded into the gate's weight columns, [d, 8d] instead of [B·T, 8d]); on the linear
    /// half it commutes with everything after, as do ν_act and ν_down.
    fn mlp(&self, h: Tensor<3>) -> Tensor<3> {
        let w = self.c_fc.weight.val();
        let half = w.dims()[1] / 2;
        let ones = Tensor::<1>::ones([half], &w.device());
        let gate_scale = Tensor::cat(vec![ones, self.nu(NU_UP).expand([half])], 0).unsqueeze::<2>();
        apply(&self.mlp_c_proj, swiglu(matmul_tokens(h, w * gate_scale)))
    }

    /// h ← ν(α)·(h + α(x − h)) with x = ν_x·y, written as a₁⊙h + a₂⊙y (a₁ = ν(α)(1−α),
    /// a₂ = ν(α)·α·ν_x, both d-vectors) so the [B, T, d] tensors see two products and a sum.
    fn lerp(h: Tensor<3>, y: Tensor<3>, alpha: Tensor<1>, nu_x: Tensor<1>) -> Tensor<3> {
        let nu = nu_alpha(&alpha);
        let a1 = (alpha.clone().neg() + 1.0) * nu.clone();
        let a2 = alpha * nu * nu_x;
        mix(h, y, a1, a2)
    }

    fn forward(&self, h: Tensor<3>, c: &Consts) -> Tensor<3> {
        let nu_a = self.nu(NU_V) * self.nu(NU_ATT) * self.nu(NU_O);
        let h = Self::lerp(h.clone(), self.attention(h, c), self.attn_alpha.val() * c.alpha, nu_a);
        let nu_m = self.nu(NU_UP) * self.nu(NU_ACT) * self.nu(NU_DOWN);
        Self::lerp(h.clone(), self.mlp(h), self.mlp_alpha.val() * c.alpha, nu_m)
    }

    /// Empirical ν: feed unit-norm random inputs through each stage in turn, setting each
    /// factor to 1/√(mean squared norm) of its stage's output (per head, or per coordinate for ν_up).
    fn calibrate(mut self, c: &Consts, device: &Device) -> Self {
        let d = self.query.weight.dims()[0];
        let dh = d / c.n_head;
        let t = c.seq_len;
        let set = |blk: &mut Block, i: usize, mean_sq: Tensor<1>| {
            let val = mean_sq.sqrt().recip().into_scalar::<f32>();
            blk.nu = super::params::replace_value(blk.nu.clone(), |nu| {
                let dev = nu.device();
                let mut v: Vec<f32> = nu.into_data().try_into_vec().unwrap();
                v[i] = val;
                Tensor::from_data(TensorData::new(v, [NU_NAMES.len()]), &dev)
            });
        };
        let sq_norm = |x: Tensor<4>| x.square().sum_dim(3).mean().inner();
        let x = unit_norm(Tensor::<3>::random([4, t, d], Distribution::Normal(0.0, 1.0), device), 2);
        let q = split_heads(apply(&self.query, x.clone()), c.n_head);
        set(&mut self, NU_QK, q.square().mean().inner());
        let v = split_heads(apply(&self.value, x.clone()), c.n_head);
        set(&mut self, NU_V, sq_norm(v));
        // Attention output per head, with ν_v applied, before ν_att.
        let qn = if c.exact_qk_norm {
            self.q_norm.forward(split_heads(apply(&self.query, x.clone()), c.n_head))
        } else {
            split_heads(apply(&self.query, x.clone()), c.n_head) * self.nu(NU_QK).unsqueeze::<4>()
        };
        let kn = if c.exact_qk_norm {
            self.k_norm.forward(split_heads(apply(&self.key, x.clone()), c.n_head))
        } else {
            split_heads(apply(&self.key, x.clone()), c.n_head) * self.nu(NU_QK).unsqueeze::<4>()
        };
        let vv = split_heads(apply(&self.value, x.clone()), c.n_head) * self.nu(NU_V).unsqueeze::<4>();
        let o = causal_attention(rope(qn, c.rope), rope(kn, c.rope), vv, 1.0 / (dh as f64).sqrt());
        set(&mut self, NU_ATT, sq_norm(o.clone()));
        let a = apply(&self.att_c_proj, merge_heads(o * self.nu(NU_ATT).unsqueeze::<4>()));
        set(&mut self, NU_O, a.square().sum_dim(2).mean().inner());
        let uv = apply(&self.c_fc, x);
        set(&mut self, NU_UP, uv.clone().square().mean().inner());
        let hidden = swiglu(uv * self.nu(NU_UP).unsqueeze::<3>());
        set(&mut self, NU_ACT, hidden.clone().square().sum_dim(2).mean().inner());
        let m = apply(&self.mlp_c_proj, hidden * self.nu(NU_ACT).unsqueeze::<3>());
        set(&mut self, NU_DOWN, m.square().sum_dim(2).mean().inner());
        self
    }
}

/// Closed forms for unit-norm input h ∈ R^d and unit-norm weight vectors:
/// ‖v_head‖² ≈ d_h/d; attention output assumed unit (dense-attention factor left open);
/// W_o output ≈ H unit heads → 1/√H; uv coordinates ≈ N(0, 1/d) → √d; SwiGLU hidden
/// ‖u⊙SiLU(g)‖² ≈ 4d·E[SiLU(z)²]; W_proj keeps unit norm; q coordinates ≈ 1/√d → √d.
pub fn analytic_nu(d: usize, n_head: usize) -> [f64; 7] {
    let dh = (d / n_head) as f64;
    let d = d as f64;
    [(d / dh).sqrt(), 1.0, (dh / d).sqrt(), d.sqrt(), 1.0 / (4.0 * d * silu_second_moment()).sqrt(), 1.0, d.sqrt()]
}

/// E[SiLU(z)²] for z ~ N(0, 1), by the trapezoid rule on [−10, 10].
fn silu_second_moment() -> f64 {
    let n = 20_000;
    let h = 20.0 / n as f64;
    (0..=n)
        .map(|i| {
            let z = -10.0 + i as f64 * h;
            let silu = z / (1.0 + (-z).exp());
            let w = if i == 0 || i == n { 0.5 } else { 1.0 };
            w * silu * silu * (-z * z / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt()
        })
        .sum::<f64>()
        * h
}

impl Architecture for Angpt {
    fn init(cfg: &RunConfig, vocab: usize, s: &Scaling, device: &Device) -> Self {
        let d = cfg.model.d_model;
        let n = &cfg.model.norm;
        let std = s.get(Role::Hidden).init_std;
        let alpha_len = if n.scalar_alpha { 1 } else { d };
        let c = Consts {
            n_head: cfg.model.n_head,
            rope: cfg.model.rope,
            alpha: s.trick(Rescaler::Alpha).factor(),
            sz: s.trick(Rescaler::Sz).factor(),
            exact_qk_norm: n.exact_qk_norm && !n.no_qk_norm,
            seq_len: cfg.data.seq_len,
        };
        let analytic = analytic_nu(d, cfg.model.n_head);
        let dh = cfg.d_head();
        let blocks = (0..cfg.model.n_layer)
            .map(|_| Block {
                query: linear(d, d, std, device),
                key: linear(d, d, std, device),
                value: linear(d, d, std, device),
                att_c_proj: linear(d, d, std, device),
                c_fc: linear(d, 8 * d, std, device),
                mlp_c_proj: linear(4 * d, d, std, device),
                q_norm: RmsNorm::new(dh, device),
                k_norm: RmsNorm::new(dh, device),
                attn_alpha: filled(alpha_len, s.trick(Rescaler::Alpha).scale, device),
                mlp_alpha: filled(alpha_len, s.trick(Rescaler::Alpha).scale, device),
                nu: Param::from_tensor(Tensor::from_data(
                    TensorData::new(analytic.iter().map(|&x| x as f32).collect::<Vec<_>>(), [NU_NAMES.len()]),
                    device,
                ))
                .set_require_grad(false),
            })
            .collect();
        let model = Self {
            wte: embedding(vocab, d, std, device),
            blocks,
            lm_head: linear(d, vocab, std, device),
            sz: filled(vocab, s.trick(Rescaler::Sz).scale, device),
            c,
        };
        // Initialize every constrained vector at exactly unit norm, then calibrate on those weights.
        let mut model = project_to_sphere(model, Constraint::UnitNorm);
        if !n.analytic_nu {
            let c = model.c.clone();
            model.blocks = model.blocks.into_iter().map(|b| b.calibrate(&c, device)).collect();
        }
        model
    }

    fn forward(&self, tokens: Tensor<2, Int>, probe: &mut Probe) -> Tensor<3> {
        let mut h = self.wte.forward(tokens);
        probe.record("embed", &h);
        for (i, block) in self.blocks.iter().enumerate() {
            h = block.forward(h, &self.c);
            probe.record(format!("block.{i}"), &h);
        }
        probe.record("readout_in", &h);
        let z = apply_scaled(&self.lm_head, h, self.sz.val() * self.c.sz);
        probe.record("logits", &z);
        z
    }

    const CONSTRAINT: Option<Constraint> = Some(Constraint::NormAtMostOne);

    fn final_diagnostics(&self) -> Vec<(String, f64)> {
        self.nu_table().into_iter().flat_map(|(name, cal, ana)| [(format!("{name}.calibrated"), cal), (format!("{name}.analytic"), ana)]).collect()
    }

    fn diagnostics(&self) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        for (i, b) in self.blocks.iter().enumerate() {
            let m = |p: &Param<Tensor<1>>| (p.val().inner().abs().mean().into_scalar::<f32>() as f64) * self.c.alpha;
            out.push((format!("alpha_attn.{i}"), m(&b.attn_alpha)));
            out.push((format!("alpha_mlp.{i}"), m(&b.mlp_alpha)));
        }
        out.push(("sz_mean".into(), self.sz.val().inner().mean().into_scalar::<f32>() as f64 * self.c.sz));
        out
    }
}

impl Angpt {
    /// Calibrated ν per block next to the analytic value, for the run record.
    pub fn nu_table(&self) -> Vec<(String, f64, f64)> {
        let d = self.query_dim();
        let analytic = analytic_nu(d, self.c.n_head);
        let mut rows = Vec::new();
        for (i, b) in self.blocks.iter().enumerate() {
            let v: Vec<f32> = b.nu.val().inner().into_data().try_into_vec().unwrap();
            for (j, name) in NU_NAMES.iter().enumerate() {
                rows.push((format!("nu_{name}.{i}"), v[j] as f64, analytic[j]));
            }
        }
        rows
    }

    fn query_dim(&self) -> usize {
        self.blocks[0].query.weight.dims()[0]
    }
}
