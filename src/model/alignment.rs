//! Alignment exponents α̂, ω̂, ν̂ [P-νGPT Def. 3.1–3.2, §4.3; Everett et al. 2024], measured
//! at one width as base-d_in logarithms (variants.md §6.3):
//!   α̂ = log(d_in·‖ΔW h‖ / (‖ΔW‖_F‖h‖)) / log d_in   (update aligned with the current input)
//!   ω̂: the same with (W(0), Δh)                      (initial weight aligned with the input change)
//!   ν̂: the same with (ΔW, Δh)                        (both changes aligned)
//! per token vector, averaged over tokens. A rank-1 ΔW aligned with h gives exactly 1; an
//! independent random ΔW gives ≈ ½. Enabled by `train.alignment_every = k`.

use crate::model::{Architecture, Probe};
use burn::module::Module;
use burn::prelude::*;
use std::collections::BTreeMap;

/// Mean over the rows of `h` ([n, d_in]) of log(d_in·‖h_i W‖/(‖W‖_F‖h_i‖))/log(d_in), with W
/// stored [d_in, d_out] (burn's Linear layout: y = h W). Rows with ‖h_i‖ = 0 are skipped.
pub fn exponent(w: &[f32], d_in: usize, d_out: usize, h: &[f32]) -> f64 {
    let wf: f64 = w.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    if wf == 0.0 || d_in < 2 {
        return f64::NAN;
    }
    let n = h.len() / d_in;
    let (mut sum, mut count) = (0.0, 0usize);
    let mut y = vec![0.0f64; d_out];
    for i in 0..n {
        let row = &h[i * d_in..(i + 1) * d_in];
        let hn: f64 = row.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
        if hn == 0.0 {
            continue;
        }
        y.iter_mut().for_each(|v| *v = 0.0);
        for (k, &hk) in row.iter().enumerate() {
            if hk == 0.0 {
                continue;
            }
            let wrow = &w[k * d_out..(k + 1) * d_out];
            for (yj, &wj) in y.iter_mut().zip(wrow) {
                *yj += hk as f64 * wj as f64;
            }
        }
        let yn: f64 = y.iter().map(|v| v * v).sum::<f64>().sqrt();
        if yn == 0.0 {
            continue;
        }
        sum += (d_in as f64 * yn / (wf * hn)).ln() / (d_in as f64).ln();
        count += 1;
    }
    if count == 0 { f64::NAN } else { sum / count as f64 }
}

/// Which probe record feeds each weight matrix (by the shipped naming).
fn input_of(path: &str) -> Option<String> {
    let segs: Vec<&str> = path.split('.').collect();
    if segs.contains(&"lm_head") {
        return Some("readout_in".into());
    }
    let i = segs.iter().position(|s| *s == "blocks").and_then(|p| segs.get(p + 1))?;
    let which = if segs.contains(&"query") || segs.contains(&"key") || segs.contains(&"value") {
        "attn_in"
    } else if segs.contains(&"att_c_proj") {
        "attn_cat"
    } else if segs.contains(&"c_fc") {
        "mlp_in"
    } else if segs.contains(&"mlp_c_proj") {
        "mlp_hidden"
    } else {
        return None;
    };
    Some(format!("block.{i}.{which}"))
}

/// Matrix kind for averaging over layers: query, key, value, att_c_proj, c_fc, mlp_c_proj, lm_head.
fn kind_of(path: &str) -> String {
    let segs: Vec<&str> = path.split('.').collect();
    segs.iter().rev().nth(1).map(|s| s.to_string()).unwrap_or_default()
}

/// Every weight matrix with a known input: path → (values [d_in, d_out], d_in, d_out).
fn matrices<M: Module>(m: &M) -> BTreeMap<String, (Vec<f32>, usize, usize)> {
    crate::model::params::params(m)
        .into_iter()
        .filter(|p| p.shape.len() == 2 && input_of(&p.path).is_some())
        .map(|p| {
            let values = p.values();
            (p.path, (values, p.shape[0], p.shape[1]))
        })
        .collect()
}

/// Weights and matrix inputs at step 0 on a fixed batch.
pub struct AlignmentProbe {
    tokens: Tensor<2, Int>,
    w0: BTreeMap<String, (Vec<f32>, usize, usize)>,
    h0: BTreeMap<String, Vec<f32>>,
}

fn inputs<A: Architecture>(model: &A, tokens: Tensor<2, Int>) -> BTreeMap<String, Vec<f32>> {
    let mut probe = Probe::on();
    let _ = model.forward(tokens, &mut probe);
    probe
        .records
        .into_iter()
        .map(|(n, t)| {
            let [b, s, d] = t.dims();
            (n, t.inner().reshape([b * s, d]).into_data().try_into_vec::<f32>().unwrap())
        })
        .collect()
}

impl AlignmentProbe {
    pub fn new<A: Architecture>(model: &A, tokens: Tensor<2, Int>) -> Self {
        let valid = model.valid();
        Self { w0: matrices(&valid), h0: inputs(&valid, tokens.clone()), tokens }
    }

    /// α̂, ω̂, ν̂ averaged per matrix kind and over hidden matrices (`hidden`), plus the readout.
    pub fn measure<A: Architecture>(&self, model: &A) -> Vec<(String, f64)> {
        let valid = model.valid();
        let (w, h) = (matrices(&valid), inputs(&valid, self.tokens.clone()));
        let mut acc: BTreeMap<String, (f64, usize)> = BTreeMap::new();
        let mut add = |k: String, v: f64| {
            if v.is_finite() {
                let e = acc.entry(k).or_insert((0.0, 0));
                e.0 += v;
                e.1 += 1;
            }
        };
        for (path, (wt, din, dout)) in &w {
            let (Some((w0, _, _)), Some(input)) = (self.w0.get(path), input_of(path)) else { continue };
            let (Some(h0), Some(ht)) = (self.h0.get(&input), h.get(&input)) else { continue };
            let dw: Vec<f32> = wt.iter().zip(w0).map(|(a, b)| a - b).collect();
            let dh: Vec<f32> = ht.iter().zip(h0).map(|(a, b)| a - b).collect();
            let vals =
                [("alpha", exponent(&dw, *din, *dout, ht)), ("omega", exponent(w0, *din, *dout, &dh)), ("nu", exponent(&dw, *din, *dout, &dh))];
            let kind = kind_of(path);
            for (name, v) in vals {
                add(format!("align.{name}.{kind}"), v);
                if kind != "lm_head" {
                    add(format!("align.{name}.hidden"), v);
                }
            }
        }
        acc.into_iter().map(|(k, (s, n))| (k, s / n as f64)).collect()
    }
}
