//! Multiplier tables of every parameterization, pinned against the formulas of
//! variants.md §3 (μP) and §6.1/§6.4 (νGPT, CompleteP-style, Depth-μP) for given
//! (m_width, m_depth, m_data).

mod common;
use normlab::param::{Rescaler, Role, Scaling};

/// d = 256 on base 64 (m_width 4), L = 8 on base 4 (m_depth 2), 4000 steps on base 500 (m_data 8).
fn scaling(arch: &str, param: &str, extra: &[&str]) -> Scaling {
    let mut o = vec![
        format!("param.name=\"{param}\""),
        "model.d_model=256".into(),
        "model.n_head=16".into(),
        "model.n_layer=8".into(),
        "train.steps=4000".into(),
        "param.base_width=64".into(),
        "param.base_depth=4".into(),
        "param.base_steps=500".into(),
        "optim.eps=1e-8".into(),
        "optim.weight_decay=0.1".into(),
    ];
    o.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = o.iter().map(|s| s.as_str()).collect();
    Scaling::of(&common::tiny(arch, &refs))
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{what}: {a} ≠ {b}");
}

const MATRICES: [Role; 4] = [Role::Embedding, Role::Hidden, Role::HiddenOut, Role::Readout];

#[test]
fn sp_is_identity_with_gpt_init() {
    let s = scaling("gpt", "sp", &[]);
    for r in MATRICES {
        let m = s.get(r);
        close(m.lr, 1.0, "lr");
        close(m.forward, 1.0, "forward");
        close(m.eps, 1e-8, "eps");
        close(m.weight_decay, 0.1, "wd");
    }
    close(s.get(Role::Gain).weight_decay, 0.0, "no decay on gains");
    close(s.get(Role::Hidden).init_std, 0.02, "init");
    close(s.get(Role::HiddenOut).init_std, 0.02 / 4.0, "residual init 0.02/√(2L), L=8");
    close(s.attention_scale, 0.25, "1/√d_head, d_head 16");
    let inv = 1.0 / 16.0; // 1/√256
    close(s.trick(Rescaler::Alpha).init, 0.05, "α_init");
    close(s.trick(Rescaler::Alpha).scale, inv, "α_scale = 1/√d");
    close(s.trick(Rescaler::Sz).scale, inv, "s_z scale");
    close(s.trick(Rescaler::Suv).scale, 1.0, "s_uv scale");
    assert_eq!(s.min_lr_frac, None);
}

#[test]
fn mup_adam_table() {
    let s = scaling("gpt", "mup", &[]);
    let m = 4.0;
    close(s.get(Role::Embedding).lr, 1.0, "embedding LR η");
    close(s.get(Role::Embedding).init_std, 0.02, "embedding init constant");
    close(s.get(Role::Hidden).lr, 1.0 / m, "hidden LR η/m");
    close(s.get(Role::HiddenOut).lr, 1.0 / m, "W_o LR η/m");
    close(s.get(Role::Hidden).init_std, 0.02 / m.sqrt(), "hidden init var σ²/m");
    close(s.get(Role::Readout).forward, 1.0 / m, "readout multiplier 1/m");
    close(s.get(Role::Readout).lr, 1.0, "readout LR η (form a)");
    close(s.get(Role::Gain).lr, 1.0, "gains η");
    // √d_head,base / d_head with d_head = 16 at both widths (widening by heads) = 1/√16.
    close(s.attention_scale, 0.25, "attention scale");
    let b = scaling("gpt", "mup", &["param.mup_readout=\"init\""]);
    close(b.get(Role::Readout).init_std, 0.02 / m, "TP-V readout init ∝ 1/fan_in");
    close(b.get(Role::Readout).lr, 1.0 / m, "TP-V readout LR η/m");
    close(b.get(Role::Readout).forward, 1.0, "TP-V readout multiplier 1");
    // Widening d_head instead of heads: 1/d_head scaling.
    let c = scaling("gpt", "mup", &["model.n_head=4", "param.base_heads=4"]);
    close(c.attention_scale, 16f64.sqrt() / 64.0, "√d_head0/d_head");
}

#[test]
fn nugpt_table() {
    let s = scaling("ngpt", "nugpt", &[]);
    let (mw, md, mdepth) = (4.0f64, 8.0f64, 2.0f64);
    let g = md.powf(-1.0 / 3.0); // = 0.5
    close(g, 0.5, "m_data^(-1/3)");
    close(s.get(Role::Embedding).lr, g * mw.powf(-0.5), "η_input");
    close(s.get(Role::Hidden).lr, g * mw.powf(-0.75), "η_hidden");
    close(s.get(Role::HiddenOut).lr, g * mw.powf(-0.75), "η_hidden (W_o)");
    close(s.get(Role::Readout).lr, 0.5 * g * mw.powf(-0.75), "η_output ×½");
    for r in [Rescaler::Alpha, Rescaler::Sqk, Rescaler::Sz, Rescaler::Suv] {
        close(s.get(Role::Rescaler(r)).lr, g, "rescaler LR = global");
    }
    close(s.trick(Rescaler::Alpha).scale, 0.03, "α scale");
    close(s.trick(Rescaler::Alpha).init, 0.05 / mdepth, "α_init 0.05/m_depth");
    close(s.trick(Rescaler::Sqk).scale, 0.03, "s_qk scale");
    close(s.trick(Rescaler::Sqk).init, 1.0, "s_qk init");
    close(s.trick(Rescaler::Sz).scale, 0.03, "s_z scale");
    close(s.trick(Rescaler::Sz).init, mw.sqrt(), "s_z init m_width^(1/2)");
    close(s.trick(Rescaler::Suv).scale, 1.0, "s_uv scale");
    close(s.get(Role::Hidden).eps, 1e-16, "Adam ε");
    close(s.get(Role::Hidden).weight_decay, 0.0, "no weight decay");
    assert_eq!(s.min_lr_frac, Some(0.1));
}

#[test]
fn completep_and_depth_mup_columns() {
    let (mw, md, mdepth) = (4.0f64, 8.0f64, 2.0f64);
    let g = md.powf(-1.0 / 3.0);
    let c = scaling("ngpt", "completep", &[]);
    close(c.get(Role::Hidden).lr, g / mw, "CompleteP η_hidden ∝ m^-1");
    close(c.get(Role::Readout).lr, g * mw.powf(-0.5), "CompleteP η_output ∝ m^-1/2");
    close(c.get(Role::Embedding).lr, g * mw.powf(-0.5), "CompleteP η_input");
    close(c.trick(Rescaler::Sz).init, 1.0, "CompleteP s_z init constant");
    let d = scaling("ngpt", "depth_mup", &[]);
    close(d.get(Role::Hidden).lr, g * mw.powf(-0.75) * mdepth.powf(-0.5), "Depth-μP η_hidden");
    close(d.get(Role::Readout).lr, 0.5 * g * mw.powf(-0.75), "Depth-μP leaves η_output");
}

#[test]
fn base_shape_gives_identity_scaling() {
    let s = scaling("ngpt", "nugpt", &["model.d_model=64", "model.n_head=4", "model.n_layer=4", "train.steps=500"]);
    for r in MATRICES {
        let want = if r == Role::Readout { 0.5 } else { 1.0 };
        close(s.get(r).lr, want, "base model LR multipliers");
    }
    close(s.trick(Rescaler::Sz).init, 1.0, "s_z init at base");
    close(s.trick(Rescaler::Alpha).init, 0.05, "α init at base");
}

#[test]
fn param_accepts_a_name_or_a_table_and_rejects_unknown_keys() {
    let c = common::tiny("gpt", &["param=\"mup\""]);
    assert_eq!(c.param.name, normlab::config::ParamName::Mup);
    let text = "arch = \"ngpt\"\n[param]\nname = \"nugpt\"\nbase_width = 32\n";
    let c = normlab::config::RunConfig::from_toml_str(text, "x.toml", &[]).unwrap();
    assert_eq!(c.param.base_width, 32);
    let e = normlab::config::RunConfig::from_toml_str("arch = \"gpt\"\n[param]\nname = \"sp\"\nbase_widht = 3\n", "x.toml", &[]).unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("base_widht") && msg.contains("line 4"), "{msg}");
}

/// Each parameterization's claim, translated into another's multipliers (param::claims): the
/// competing predictions the exponent of η* is tested against.
#[test]
fn claims_translate_into_every_parameterizations_predictions() {
    use normlab::config::{ArchName, ParamName};
    use normlab::param::claims::{ClaimSetting, ScaledAxis, hidden_lr_exponent, predictions};
    let at = |arch, scale_horizon| ClaimSetting { arch, scale_horizon };
    let exps = |p, s, ax| -> Vec<(f64, bool)> { predictions(p, s, ax).iter().map(|p| ((p.exponent * 1e6).round() / 1e6, p.own)).collect() };
    // The multipliers' own exponents.
    assert_eq!(hidden_lr_exponent(ParamName::Mup, at(ArchName::Gpt, true), ScaledAxis::Width), -1.0);
    assert!((hidden_lr_exponent(ParamName::Nugpt, at(ArchName::Ngpt, true), ScaledAxis::Width) + 0.75).abs() < 1e-12);
    assert!((hidden_lr_exponent(ParamName::Nugpt, at(ArchName::Ngpt, true), ScaledAxis::Horizon) + 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(hidden_lr_exponent(ParamName::Nugpt, at(ArchName::Ngpt, false), ScaledAxis::Horizon), 0.0);
    // GPT along width: μP claims 0 (SP's negative control, −1, is the same rule); SP as such
    // would leave η* ∝ m under μP.
    assert_eq!(exps(ParamName::Mup, at(ArchName::Gpt, true), ScaledAxis::Width), vec![(0.0, true), (1.0, false)]);
    assert_eq!(exps(ParamName::Sp, at(ArchName::Gpt, true), ScaledAxis::Width), vec![(-1.0, true), (0.0, false)]);
    // nGPT under SP: νGPT's rule predicts −3/4, CompleteP's −1; νGPT itself claims 0, where
    // CompleteP's rule predicts −1/4.
    assert_eq!(exps(ParamName::Sp, at(ArchName::Ngpt, true), ScaledAxis::Width), vec![(-1.0, false), (-0.75, false), (0.0, false)]);
    assert_eq!(exps(ParamName::Nugpt, at(ArchName::Ngpt, true), ScaledAxis::Width), vec![(0.0, true), (-0.25, false), (0.75, false)]);
    // Depth: νGPT's rule predicts +1/2 for Depth-μP (νGPT Fig. 8: it drifts right).
    assert_eq!(exps(ParamName::DepthMup, at(ArchName::Ngpt, true), ScaledAxis::Depth), vec![(0.0, true), (0.5, false)]);
    // The horizon: −1/3 without m_data, 0 with it.
    assert_eq!(exps(ParamName::Nugpt, at(ArchName::Ngpt, false), ScaledAxis::Horizon)[0], (-0.333333, true));
    assert_eq!(exps(ParamName::Nugpt, at(ArchName::Ngpt, true), ScaledAxis::Horizon)[0], (0.0, true));
}
