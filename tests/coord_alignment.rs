//! Coordinate check slopes (μP and νGPT flat in width, SP growing) and the alignment
//! exponents' sanity values (rank-1 aligned update → exactly 1, independent random → ≈ ½).

mod common;
use normlab::config::{ArchName, ParamName};
use normlab::model::alignment::exponent;
use normlab::probes::coord_check::{CoordCheck, CoordRow, width_slope};
use rand::{Rng, SeedableRng, rngs::SmallRng};

fn check(arch: ArchName, param: ParamName) -> Vec<CoordRow> {
    CoordCheck::standard(arch, param, common::root().join("data/kjv.txt")).run().unwrap()
}

const RESIDUAL: [&str; 2] = ["block.0", "block.1"];
const SUBLAYERS: [&str; 4] = ["block.0.attn", "block.0.mlp", "block.1.attn", "block.1.mlp"];

/// GPT: slopes of the RMS of every block output at step 5 across d = 32…256.
/// Measured (2026-11-24): SP 1.9–3.6 on every block output; μP |slope| ≤ 0.11, logits 0.05.
#[test]
fn gpt_coordinates_grow_under_sp_and_stay_flat_under_mup() {
    let sp = check(ArchName::Gpt, ParamName::Sp);
    let mup = check(ArchName::Gpt, ParamName::Mup);
    for m in RESIDUAL.iter().chain(&SUBLAYERS) {
        let s_sp = width_slope(&sp, m, 5, |r| r.rms);
        let s_mup = width_slope(&mup, m, 5, |r| r.rms);
        assert!(s_sp > 1.0, "SP {m}: slope {s_sp:.3} should be clearly positive (> 1.0)");
        assert!(s_mup.abs() < 0.25, "μP {m}: |slope| {s_mup:.3} should be < 0.25");
    }
    let s = width_slope(&mup, "logits", 5, |r| r.rms);
    assert!(s.abs() < 0.25, "μP logits slope {s:.3}");
    // Already at init μP keeps the residual stream O(1) in width (init variance ∝ 1/m).
    let s0 = width_slope(&mup, "block.1", 0, |r| r.rms);
    assert!(s0.abs() < 0.25, "μP block.1 at init: slope {s0:.3}");
}

/// nGPT hidden states are unit vectors (coordinate RMS ∝ d^(−1/2) by construction), so the
/// width-invariant quantity is the relative change of the residual stream since init, and the
/// logits. Measured: νGPT rel-change slopes 0.02–0.04, logits RMS 0.19; nGPT (SP constants)
/// rel-change slopes 0.31–0.37 and logits rel-change 1.09.
#[test]
fn ngpt_updates_are_width_invariant_under_nugpt_only() {
    let nu = check(ArchName::Ngpt, ParamName::Nugpt);
    let sp = check(ArchName::Ngpt, ParamName::Sp);
    for m in RESIDUAL {
        let s_nu = width_slope(&nu, m, 5, |r| r.rel_change);
        let s_sp = width_slope(&sp, m, 5, |r| r.rel_change);
        assert!(s_nu.abs() < 0.15, "νGPT {m}: |slope| {s_nu:.3} should be < 0.15");
        assert!(s_sp > 0.2, "nGPT/SP {m}: slope {s_sp:.3} should be > 0.2");
        let rms = width_slope(&nu, m, 5, |r| r.rms);
        assert!((rms + 0.5).abs() < 0.01, "unit hidden states: RMS slope {rms:.3} should be −½");
    }
    let l_nu = width_slope(&nu, "logits", 5, |r| r.rel_change);
    let l_sp = width_slope(&sp, "logits", 5, |r| r.rel_change);
    assert!(l_nu < 0.35 && l_sp > 0.7, "logit change slopes νGPT {l_nu:.3}, nGPT {l_sp:.3}");
}

#[test]
fn rank_one_update_aligned_with_the_input_gives_exactly_one() {
    let (d_in, d_out) = (64, 48);
    let mut rng = SmallRng::seed_from_u64(1);
    let h: Vec<f32> = (0..d_in).map(|_| rng.random_range(-1.0..1.0)).collect();
    let o: Vec<f32> = (0..d_out).map(|_| rng.random_range(-1.0..1.0)).collect();
    // ΔW = h ⊗ o in [d_in, d_out] layout: h ΔW = ‖h‖² o.
    let dw: Vec<f32> = (0..d_in * d_out).map(|k| h[k / d_out] * o[k % d_out]).collect();
    let a = exponent(&dw, d_in, d_out, &h);
    assert!((a - 1.0).abs() < 1e-6, "aligned rank-1 update: {a}");
}

#[test]
fn independent_random_update_gives_about_one_half() {
    let (d_in, d_out, n) = (512, 512, 64);
    let mut rng = SmallRng::seed_from_u64(2);
    let mut gauss = || {
        let (u, v): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random_range(0.0..1.0));
        ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
    };
    let dw: Vec<f32> = (0..d_in * d_out).map(|_| gauss()).collect();
    let h: Vec<f32> = (0..n * d_in).map(|_| gauss()).collect();
    let a = exponent(&dw, d_in, d_out, &h);
    assert!((a - 0.5).abs() < 0.02, "independent update: {a}");
}

#[test]
fn training_records_alignment_exponents() {
    let cfg = common::tiny("ngpt", &["param.name=\"nugpt\"", "train.steps=20", "train.alignment_every=10"]);
    let data = normlab::data::Dataset::load(&cfg.data, "t").unwrap();
    let out = common::tmpdir("align");
    let opts = normlab::train::TrainOptions { out: out.clone(), quiet: true, ..Default::default() };
    normlab::train::train(&cfg, &data, &opts).unwrap();
    let m = normlab::record::Metrics::read(&out.join("metrics.parquet")).unwrap();
    let col = |name: &str| m.diag.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("no {name}"));
    let alpha = col("align.alpha.hidden");
    let omega = col("align.omega.lm_head");
    assert!(alpha[9].is_some() && alpha[19].is_some() && alpha[5].is_none());
    for v in alpha.iter().chain(&omega).flatten() {
        assert!(*v > 0.0 && *v < 1.5, "exponent {v}");
    }
}
