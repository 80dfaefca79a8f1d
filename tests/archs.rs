//! Invariants of the normalized architectures on random configs: constrained vectors on
//! (or inside) the unit sphere after every step, unit hidden states after every nGPT block,
//! effective rescalers equal to s_init at step 0, parameter identity (and so Adam's moments)
//! kept through the post-step projection.

mod common;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::prelude::*;
use normlab::config::RunConfig;
use normlab::data::Dataset;
use normlab::model::angpt::Angpt;
use normlab::model::diagnostics::{constrained_norms, hidden_norms};
use normlab::model::ngpt::Ngpt;
use normlab::model::{Architecture, Probe, cross_entropy, tokens};
use normlab::train::init_model;
use normlab::train::optim::{Optimizer, param_table};

/// (d_model, n_layer, n_head, scalar_alpha) — a spread of shapes, not only the golden one.
const SHAPES: [(usize, usize, usize, bool); 3] = [(32, 1, 2, false), (48, 3, 4, true), (64, 2, 8, false)];

fn cfg_for(arch: &str, (d, l, h, scalar): (usize, usize, usize, bool)) -> RunConfig {
    common::tiny(
        arch,
        &[
            &format!("model.d_model={d}"),
            &format!("model.n_layer={l}"),
            &format!("model.n_head={h}"),
            &format!("model.norm.scalar_alpha={scalar}"),
            "optim.lr=0.02",
            "optim.weight_decay=0.0",
            "optim.warmup_steps=0",
        ],
    )
}

/// Train `steps` steps, calling `check` on the model after init and after every step.
fn steps<A: Architecture>(cfg: &RunConfig, n: usize, mut check: impl FnMut(usize, &A, &Dataset)) {
    let data = Dataset::load(&cfg.data, "test").unwrap();
    let device = Device::flex().autodiff();
    let (mut model, scaling) = init_model::<A>(cfg, data.vocab_size(), &device);
    let params = param_table(&model, &scaling);
    let mut opt = Optimizer::new(&params, &cfg.optim);
    check(0, &model, &data);
    for step in 0..n {
        let b = data.train_batch(cfg.seed, step);
        let loss = cross_entropy(
            model.forward(tokens(&b.inputs, b.batch, b.seq_len, &device), &mut Probe::off()),
            tokens(&b.targets, b.batch, b.seq_len, &device),
        );
        let g = GradientsParams::from_grads(loss.backward(), &model);
        model = opt.step(model, g, &params, 0.02).0;
        check(step + 1, &model, &data);
    }
}

#[test]
fn ngpt_vectors_and_hidden_states_stay_on_the_unit_sphere() {
    for shape in SHAPES {
        let cfg = cfg_for("ngpt", shape);
        steps::<Ngpt>(&cfg, 4, |step, m, data| {
            let norms = constrained_norms(m);
            assert!(norms.len() > 100);
            let dev = norms.iter().map(|n| (n - 1.0).abs()).fold(0.0, f32::max);
            assert!(dev <= 1e-5, "{shape:?} step {step}: constrained norm deviates by {dev}");
            let b = &data.val_batches()[0];
            for (name, norm) in hidden_norms(&m.valid(), tokens(&b.inputs, b.batch, b.seq_len, &Device::flex())) {
                assert!((norm - 1.0).abs() < 1e-5, "{shape:?} step {step}: {name} = {norm}");
            }
        });
    }
}

#[test]
fn angpt_vectors_stay_inside_the_unit_ball_and_start_on_it() {
    for shape in SHAPES {
        let cfg = cfg_for("angpt", shape);
        steps::<Angpt>(&cfg, 4, |step, m, _| {
            let norms = constrained_norms(m);
            let max = norms.iter().cloned().fold(0.0, f32::max);
            assert!(max <= 1.0 + 1e-6, "{shape:?} step {step}: norm {max} > 1");
            if step == 0 {
                let dev = norms.iter().map(|n| (n - 1.0).abs()).fold(0.0, f32::max);
                assert!(dev <= 1e-6, "{shape:?}: anGPT must start at exactly unit norm (dev {dev})");
            }
        });
    }
}

/// The scale trick: stored θ = s_scale, effective θ·s_init/s_scale = s_init at step 0.
#[test]
fn effective_rescalers_equal_s_init_at_step_0() {
    for (d, l, h, scalar) in SHAPES {
        let cfg = cfg_for("ngpt", (d, l, h, scalar));
        let data = Dataset::load(&cfg.data, "test").unwrap();
        let (m, _) = init_model::<Ngpt>(&cfg, data.vocab_size(), &Device::flex().autodiff());
        let vals = |t: Tensor<1>| t.inner().into_data().try_into_vec::<f32>().unwrap();
        let close = |v: Vec<f32>, want: f64, what: &str| {
            for x in v {
                assert!((x as f64 - want).abs() < 1e-6, "d={d}: {what} = {x}, expected {want}");
            }
        };
        let inv_sqrt_d = 1.0 / (d as f64).sqrt();
        for b in &m.blocks {
            close(vals(b.attn_alpha.val()), inv_sqrt_d, "stored α");
            close(vals(b.attn_alpha.val() * m.c.alpha), 0.05, "effective α_A");
            close(vals(b.mlp_alpha.val() * m.c.alpha), 0.05, "effective α_M");
            close(vals(b.sqk.val() * m.c.sqk), 1.0, "effective s_qk");
            close(vals(b.suv.val() * m.c.suv), 1.0, "effective s_uv");
            assert_eq!(b.attn_alpha.val().dims()[0], if scalar { 1 } else { d });
        }
        close(vals(m.sz.val() * m.c.sz), 1.0, "effective s_z");
        assert!((m.c.sqrt_d - (d as f64).sqrt()).abs() < 1e-12);
        // Logits are s_z·cos ∈ [−1, 1] at init.
        let b = &data.val_batches()[0];
        let z = m.valid().forward(tokens(&b.inputs, b.batch, b.seq_len, &Device::flex()), &mut Probe::off());
        let zmax = z.abs().max().into_scalar::<f32>();
        assert!(zmax <= 1.0 + 1e-5, "d={d}: |logit| {zmax} > s_z = 1");
    }
}

/// The projection must keep every parameter id, or Adam's moments would silently restart.
#[test]
fn projection_keeps_parameter_ids_and_adam_state() {
    let cfg = cfg_for("ngpt", SHAPES[0]);
    let mut ids_per_step = Vec::new();
    let data = Dataset::load(&cfg.data, "test").unwrap();
    let device = Device::flex().autodiff();
    let (mut model, scaling) = init_model::<Ngpt>(&cfg, data.vocab_size(), &device);
    let params = param_table(&model, &scaling);
    let mut opt = Optimizer::new(&params, &cfg.optim);
    for step in 0..2 {
        let b = data.train_batch(1, step);
        let loss = cross_entropy(
            model.forward(tokens(&b.inputs, b.batch, b.seq_len, &device), &mut Probe::off()),
            tokens(&b.targets, b.batch, b.seq_len, &device),
        );
        let g = GradientsParams::from_grads(loss.backward(), &model);
        model = opt.step(model, g, &params, 0.01).0;
        ids_per_step.push(param_table(&model, &scaling).iter().map(|p| p.id).collect::<Vec<_>>());
    }
    let original: Vec<_> = params.iter().map(|p| p.id).collect();
    assert_eq!(ids_per_step[0], original);
    assert_eq!(ids_per_step[1], original);
    // Moments matter: redoing step 2 with a fresh optimizer (moments lost) gives other weights.
    // (That our moments are the right ones is checked against the golden after_step2 of ngpt/.)
    let b = data.train_batch(1, 2);
    let step_with = |model: Ngpt, opt: &mut Optimizer| -> Vec<f32> {
        let loss = cross_entropy(
            model.forward(tokens(&b.inputs, b.batch, b.seq_len, &device), &mut Probe::off()),
            tokens(&b.targets, b.batch, b.seq_len, &device),
        );
        let g = GradientsParams::from_grads(loss.backward(), &model);
        let m = opt.step(model, g, &params, 0.01).0;
        m.wte.weight.val().inner().into_data().try_into_vec::<f32>().unwrap()
    };
    let kept = step_with(model.clone(), &mut opt);
    let lost = step_with(model.clone(), &mut Optimizer::new(&params, &cfg.optim));
    let diff = kept.iter().zip(&lost).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(diff > 1e-4, "moments had no effect ({diff})");
    assert!(model.num_params() > 0);
}

/// A mapper that builds a new Param (new id) would lose the moments: show the check can fail.
#[test]
fn a_fresh_param_id_would_be_detected() {
    let cfg = cfg_for("ngpt", SHAPES[0]);
    let data = Dataset::load(&cfg.data, "test").unwrap();
    let (m, scaling) = init_model::<Ngpt>(&cfg, data.vocab_size(), &Device::flex().autodiff());
    let before: Vec<_> = param_table(&m, &scaling).iter().map(|p| p.id).collect();
    struct NewIds;
    impl burn::module::ModuleMapper for NewIds {
        fn map_float<const D: usize>(&mut self, p: burn::module::Param<Tensor<D>>) -> burn::module::Param<Tensor<D>> {
            burn::module::Param::from_tensor(p.val().inner().autodiff().require_grad())
        }
    }
    let m2 = m.map(&mut NewIds);
    let after: Vec<_> = param_table(&m2, &scaling).iter().map(|p| p.id).collect();
    assert_ne!(before, after);
}

#[test]
fn every_architecture_trains_a_few_steps_and_reports_diagnostics() {
    for arch in ["gpt", "gpt_plus", "ngpt", "angpt"] {
        let cfg = common::tiny(arch, &["train.steps=10", "train.eval_every=10"]);
        let data = Dataset::load(&cfg.data, "test").unwrap();
        let out = common::tmpdir(&format!("arch-{arch}"));
        let opts = normlab::train::TrainOptions { out: out.clone(), quiet: true, ..Default::default() };
        let s = normlab::train::train(&cfg, &data, &opts).unwrap();
        assert!(s.final_val_loss.unwrap() < 4.3, "{arch}: {:?}", s.final_val_loss);
        let m = normlab::record::Metrics::read(&out.join("metrics.parquet")).unwrap();
        let names: Vec<&str> = m.diag.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"hidden_norm.1"), "{arch}: {names:?}");
        if arch == "ngpt" || arch == "angpt" {
            assert!(names.contains(&"alpha_attn.0") && names.contains(&"sz_mean") && names.contains(&"constraint_max_dev"), "{arch}: {names:?}");
        }
        assert!(!s.final_diagnostics.is_empty(), "{arch}: no final diagnostics");
        if arch == "angpt" {
            assert!(s.final_diagnostics.contains_key("nu_v.0.calibrated") && s.final_diagnostics.contains_key("nu_v.0.analytic"));
        } else {
            assert!(s.final_diagnostics.contains_key("attn_cond_max.0"));
        }
    }
}

#[test]
fn condition_numbers_of_known_matrices() {
    use normlab::model::diagnostics::attention_condition_numbers;
    // d = 4, one head of width 2: W_q = [e0 e1], W_k = [2 e0, e1] → Q Kᵀ has σ = {2, 1}.
    let d = 4;
    let mut wq = vec![0.0f32; d * d];
    let mut wk = vec![0.0f32; d * d];
    wq[0] = 1.0; // row 0 (input 0), col 0
    wq[d + 1] = 1.0; // row 1, col 1
    wk[0] = 2.0;
    wk[d + 1] = 1.0;
    wq[2 * d + 2] = 1.0; // second head (cols 2, 3): identity-like → cond 1
    wq[3 * d + 3] = 1.0;
    wk[2 * d + 2] = 1.0;
    wk[3 * d + 3] = 1.0;
    let c = attention_condition_numbers(&wq, &wk, d, 2);
    assert!((c[0] - 2.0).abs() < 1e-9, "{c:?}");
    assert!((c[1] - 1.0).abs() < 1e-9, "{c:?}");
}
