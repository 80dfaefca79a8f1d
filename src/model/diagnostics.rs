//! Hypersphere diagnostics shared by the architectures: norms of constrained vectors, norms
//! of hidden states after each block, and per-head condition numbers of W_q·W_kᵀ
//! (nGPT Fig. 5/11: GPT reaches 10³–10⁶, nGPT stays around 3–13).

use super::{Architecture, Probe, sphere_axis};
use burn::module::Module;
use burn::prelude::*;

/// Every norm of a constrained (residual-space) vector in the model.
pub fn constrained_norms<M: Module>(m: &M) -> Vec<f32> {
    super::params::params(m)
        .iter()
        .filter_map(|p| sphere_axis(&p.path, p.shape.len()).map(|axis| (p, axis)))
        .flat_map(|(p, axis)| p.matrix().square().sum_dim(axis).sqrt().into_data().try_into_vec::<f32>().unwrap())
        .collect()
}

/// (max |‖w‖ − 1|, max ‖w‖) over constrained vectors.
pub fn constraint_deviation<M: Module>(m: &M) -> (f64, f64) {
    let norms = constrained_norms(m);
    let dev = norms.iter().map(|n| (*n as f64 - 1.0).abs()).fold(0.0, f64::max);
    let max = norms.iter().map(|n| *n as f64).fold(0.0, f64::max);
    (dev, max)
}

/// Mean ‖h‖ of the hidden state after each block on `tokens`.
pub fn hidden_norms<A: Architecture>(model: &A, tokens: Tensor<2, Int>) -> Vec<(String, f64)> {
    let mut probe = Probe::on();
    let _ = model.forward(tokens, &mut probe);
    probe
        .records
        .iter()
        .filter(|(n, _)| n.strip_prefix("block.").is_some_and(|r| r.chars().all(|c| c.is_ascii_digit())))
        .map(|(n, h)| {
            let norm = h.clone().inner().square().sum_dim(2).sqrt().mean().into_scalar::<f32>() as f64;
            (format!("hidden_norm.{}", &n[6..]), norm)
        })
        .collect()
}

/// Per-head condition numbers σ_max/σ_min of W_q,h W_k,hᵀ for each block, given burn
/// [d, d] query/key weights (columns = output units, head h owns columns h·d_h..).
pub fn attention_condition_numbers(wq: &[f32], wk: &[f32], d: usize, n_head: usize) -> Vec<f64> {
    let dh = d / n_head;
    (0..n_head)
        .map(|h| {
            let col = |w: &[f32], j: usize| -> Vec<f64> { (0..d).map(|i| w[i * d + h * dh + j] as f64).collect() };
            let q: Vec<Vec<f64>> = (0..dh).map(|j| col(wq, j)).collect();
            let k: Vec<Vec<f64>> = (0..dh).map(|j| col(wk, j)).collect();
            // Nonzero singular values of Q Kᵀ (Q, K: d×dh) are √eig(Lᵀ (QᵀQ) L) with KᵀK = L Lᵀ.
            let gram = |a: &Vec<Vec<f64>>| -> Vec<Vec<f64>> { (0..dh).map(|i| (0..dh).map(|j| dot(&a[i], &a[j])).collect()).collect() };
            let (gq, gk) = (gram(&q), gram(&k));
            let Some(l) = cholesky(&gk) else { return f64::INFINITY };
            let s = mat_mul(&mat_mul(&transpose(&l), &gq), &l);
            let eig = jacobi_eigenvalues(s);
            let max = eig.iter().cloned().fold(f64::MIN, f64::max);
            let min = eig.iter().cloned().fold(f64::MAX, f64::min);
            if min <= 0.0 { f64::INFINITY } else { (max / min).sqrt() }
        })
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn transpose(a: &[Vec<f64>]) -> Vec<Vec<f64>> {
    (0..a[0].len()).map(|j| a.iter().map(|r| r[j]).collect()).collect()
}

fn mat_mul(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let bt = transpose(b);
    a.iter().map(|r| bt.iter().map(|c| dot(r, c)).collect()).collect()
}

fn cholesky(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let v = a[i][i] - s;
                if v <= 0.0 {
                    return None;
                }
                l[i][j] = v.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    Some(l)
}

/// Eigenvalues of a symmetric matrix by cyclic Jacobi rotations.
pub fn jacobi_eigenvalues(mut a: Vec<Vec<f64>>) -> Vec<f64> {
    let n = a.len();
    for _sweep in 0..100 {
        let off: f64 = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| a[i][j] * a[i][j]).sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut().take(n) {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                #[allow(clippy::needless_range_loop)] // rows p and q are read and written together
                for k in 0..n {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
            }
        }
    }
    (0..n).map(|i| a[i][i]).collect()
}

/// Summary statistics of per-head condition numbers for every block: median and max.
pub fn condition_summary(blocks: &[(Vec<f32>, Vec<f32>)], d: usize, n_head: usize) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for (i, (wq, wk)) in blocks.iter().enumerate() {
        let mut c = attention_condition_numbers(wq, wk, d, n_head);
        c.sort_by(|a, b| a.partial_cmp(b).unwrap());
        out.push((format!("attn_cond_median.{i}"), c[c.len() / 2]));
        out.push((format!("attn_cond_max.{i}"), *c.last().unwrap()));
    }
    out
}

/// Weight values of a burn Linear as a flat row-major [in, out] vector.
pub fn weight_values(l: &burn::nn::Linear) -> Vec<f32> {
    l.weight.val().inner().into_data().try_into_vec::<f32>().unwrap()
}
