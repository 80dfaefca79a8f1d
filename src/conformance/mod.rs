//! `normlab verify-reference DIR`: load a golden folder laid out like
//! `../shared/reference/gpt-stdrope/` (config.json + safetensors from the PyTorch reference),
//! map the reference names onto our model (transposing Linear weights: PyTorch [out, in],
//! burn [in, out]) and check logits, loss, activations, gradients and the parameters after
//! one and two AdamW steps and after a clipped step, with the reference README's tolerances.
//! Nothing depends on the folder's sizes: everything is read from its config.json.

pub mod parity;

use crate::config::{ArchName, OptimConfig, Rope, RunConfig};
use crate::model::layers::rope;
use crate::model::{Architecture, Probe, cross_entropy, with_arch};
use crate::param::Scaling;
use crate::train::optim::{Optimizer, ParamInfo, global_grad_norm, param_table};
use anyhow::{Context, Result, bail};
use burn::optim::GradientsParams;
use burn::prelude::*;
use safetensors::SafeTensors;
use std::collections::BTreeMap;
use std::path::Path;

/// A golden tensor: shape and row-major f32 values (int64 ids are stored as f32 too).
#[derive(Clone, Debug)]
pub struct Golden {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

pub type GoldenFile = BTreeMap<String, Golden>;

pub fn read_safetensors(path: &Path) -> Result<GoldenFile> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        let raw = view.data();
        let data: Vec<f32> = match view.dtype() {
            safetensors::Dtype::F32 => raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect(),
            safetensors::Dtype::I64 => raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f32).collect(),
            other => bail!("{}: tensor {name} has unsupported dtype {other:?}", path.display()),
        };
        out.insert(name.clone(), Golden { shape: view.shape().to_vec(), data });
    }
    Ok(out)
}

/// Our module path → the reference's parameter name.
pub fn reference_name(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("blocks.") {
        format!("transformer.h.{rest}")
    } else if path.starts_with("wte.") {
        format!("transformer.{path}")
    } else {
        path.to_string()
    }
}

/// PyTorch Linear weights are [out, in]; ours are [in, out]. The embedding is [V, d] in both.
fn needs_transpose(path: &str, rank: usize) -> bool {
    rank == 2 && !path.starts_with("wte")
}

fn transpose(shape: &[usize], data: &[f32]) -> Vec<f32> {
    let (r, c) = (shape[0], shape[1]);
    let mut out = vec![0.0; data.len()];
    for i in 0..r {
        for j in 0..c {
            out[j * r + i] = data[i * c + j];
        }
    }
    out
}

/// A golden tensor in our layout for the parameter at `path`.
fn golden_for(file: &GoldenFile, path: &str, rank: usize) -> Result<(Vec<usize>, Vec<f32>)> {
    let name = reference_name(path);
    let g = file.get(&name).with_context(|| format!("golden tensor `{name}` (for our `{path}`) not found"))?;
    Ok(if needs_transpose(path, rank) { (vec![g.shape[1], g.shape[0]], transpose(&g.shape, &g.data)) } else { (g.shape.clone(), g.data.clone()) })
}

/// Replace every parameter's value with the golden tensor of the same (mapped) name.
fn load_golden<A: Architecture>(m: A, file: &GoldenFile) -> (A, Vec<String>) {
    let mut errors = Vec::new();
    let m = crate::model::params::map_params(m, |path, shape, flat| match golden_for(file, path, shape.len()) {
        Ok((gshape, data)) if gshape == shape => Some(Tensor::from_data(TensorData::new(data, [flat.dims()[0]]), &flat.device())),
        Ok((gshape, _)) => {
            errors.push(format!("{path}: shape {shape:?} ≠ golden {gshape:?}"));
            None
        }
        Err(e) => {
            errors.push(e.to_string());
            None
        }
    });
    (m, errors)
}

/// Our parameters by reference name, in PyTorch layout.
fn snapshot<A: Architecture>(m: &A) -> BTreeMap<String, Golden> {
    crate::model::params::params(m)
        .iter()
        .map(|p| {
            let data = p.values();
            let t = needs_transpose(&p.path, p.shape.len());
            let data = if t { transpose(&p.shape, &data) } else { data };
            let shape = if t { vec![p.shape[1], p.shape[0]] } else { p.shape.clone() };
            (reference_name(&p.path), Golden { shape, data })
        })
        .collect()
}

/// One line of the report.
pub struct Check {
    pub name: String,
    pub err: f64,
    pub tol: f64,
    pub detail: String,
}

impl Check {
    pub fn pass(&self) -> bool {
        self.err <= self.tol && self.err.is_finite()
    }
}

fn max_abs(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (*x as f64 - *y as f64).abs()).fold(0.0, f64::max)
}

/// Worst error over all tensors of a golden file, against ours.
fn compare_all(name: &str, ours: &BTreeMap<String, Golden>, gold: &GoldenFile, tol: f64) -> Check {
    let mut worst = (0.0f64, String::new());
    let mut missing = Vec::new();
    for (k, g) in gold {
        match ours.get(k) {
            Some(o) if o.shape == g.shape => {
                let e = max_abs(&o.data, &g.data);
                if e > worst.0 || worst.1.is_empty() {
                    worst = (e, k.clone());
                }
            }
            _ => missing.push(k.clone()),
        }
    }
    if !missing.is_empty() {
        return Check { name: name.into(), err: f64::INFINITY, tol, detail: format!("missing/mismatched: {missing:?}") };
    }
    Check { name: name.into(), err: worst.0, tol, detail: format!("{} tensors, worst {}", gold.len(), worst.1) }
}

/// End-to-end after-step check: tight on well-conditioned entries (golden g exactly 0 or
/// |g| ≥ 1e-6 in every step so far), 2·lr + 1e-6 elsewhere (README "Tolerances").
fn compare_conditioned(name: &str, ours: &BTreeMap<String, Golden>, gold: &GoldenFile, grads: &[&GoldenFile], lr: f64) -> Check {
    let (tight, loose) = (1e-5, 2.0 * lr + 1e-6);
    let mut worst_ratio = 0.0f64;
    let mut worst = (0.0f64, 0.0f64, String::new());
    for (k, g) in gold {
        let Some(o) = ours.get(k) else {
            return Check { name: name.into(), err: f64::INFINITY, tol: tight, detail: format!("missing {k}") };
        };
        for i in 0..g.data.len() {
            let well = grads.iter().all(|gf| gf.get(k).map(|t| t.data[i] == 0.0 || t.data[i].abs() >= 1e-6).unwrap_or(true));
            let tol = if well { tight } else { loose };
            let e = (o.data[i] as f64 - g.data[i] as f64).abs();
            if e / tol > worst_ratio {
                worst_ratio = e / tol;
                worst = (e, tol, k.clone());
            }
        }
    }
    let (e, tol, k) = worst;
    // The entry with the largest error relative to its own tolerance decides.
    Check {
        name: name.into(),
        err: e,
        tol,
        detail: format!("worst entry in {k}: {e:.2e} vs its tolerance {tol:.1e} (1e-5 well-conditioned, {loose:.1e} otherwise)"),
    }
}

/// The reference's config.json, as far as we use it.
#[derive(serde::Deserialize)]
struct RefConfig {
    vocab_size: usize,
    n_embd: usize,
    n_head: usize,
    n_layer: usize,
    #[serde(rename = "use_nGPT")]
    use_ngpt: u8,
    rope: String,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    grad_clip: f64,
    #[serde(default)]
    seq_len: Option<usize>,
    #[serde(default)]
    batch_size: Option<usize>,
}

/// Run every check on `dir` with the model on `device` (a plain device: flex, or a GPU's);
/// returns the checks. The tolerances are the same on every backend.
pub fn verify(dir: &Path, device: &Device) -> Result<Vec<Check>> {
    let cfg_path = dir.join("config.json");
    let text = std::fs::read_to_string(&cfg_path).with_context(|| format!("reading {}", cfg_path.display()))?;
    let rc: RefConfig = serde_json::from_str(&text).with_context(|| format!("parsing {}", cfg_path.display()))?;
    let mut cfg = RunConfig::from_toml_str("arch = \"gpt\"", "reference", &[])?;
    cfg.arch = if rc.use_ngpt == 1 { ArchName::Ngpt } else { ArchName::Gpt };
    cfg.model.d_model = rc.n_embd;
    cfg.model.n_head = rc.n_head;
    cfg.model.n_layer = rc.n_layer;
    cfg.model.rope = if rc.rope == "reference" { Rope::NvidiaReference } else { Rope::Standard };
    cfg.data.seq_len = rc.seq_len.unwrap_or(32);
    cfg.data.batch_size = rc.batch_size.unwrap_or(2);
    cfg.optim = OptimConfig {
        lr: rc.lr,
        beta1: rc.beta1,
        beta2: rc.beta2,
        eps: rc.eps,
        weight_decay: rc.weight_decay,
        grad_clip: 0.0,
        warmup_steps: 0,
        min_lr_frac: 1.0,
        ..OptimConfig::default()
    };
    with_arch!(cfg.arch, |A| verify_arch::<A>(dir, &cfg, &rc, device))
}

fn verify_arch<A: Architecture>(dir: &Path, cfg: &RunConfig, rc: &RefConfig, base: &Device) -> Result<Vec<Check>> {
    let load = |f: &str| read_safetensors(&dir.join(f));
    let (weights, io, acts) = (load("weights.safetensors")?, load("io.safetensors")?, load("activations.safetensors")?);
    let (grads1, grads2) = (load("grads.safetensors")?, load("grads_step2.safetensors")?);
    let (after1, after2, after_clip) = (load("after_step.safetensors")?, load("after_step2.safetensors")?, load("after_step_clip.safetensors")?);

    let device = base.clone().autodiff();
    let scaling = Scaling::of(cfg);
    let fresh = || -> Result<A> {
        let (m, errors) = load_golden(A::init(cfg, rc.vocab_size, &scaling, &device), &weights);
        if !errors.is_empty() {
            bail!("{}: loading weights: {}", dir.display(), errors.join("; "));
        }
        Ok(m)
    };
    let ids = &io["input_ids"];
    let (b, t) = (ids.shape[0], ids.shape[1]);
    let as_tokens =
        |g: &Golden| -> Tensor<2, Int> { Tensor::from_data(TensorData::new(g.data.iter().map(|&v| v as i64).collect::<Vec<_>>(), [b, t]), &device) };
    let (x, y) = (as_tokens(ids), as_tokens(&io["targets"]));
    let lr = rc.lr;
    let mut checks = Vec::new();
    let scalar = |g: &Golden| g.data[0] as f64;

    // Forward, activations, loss.
    let model = fresh()?;
    let params: Vec<ParamInfo> = param_table(&model, &scaling);
    let mut probe = Probe::on();
    let logits = model.forward(x.clone(), &mut probe);
    let logits_v: Vec<f32> = logits.clone().inner().into_data().try_into_vec().unwrap();
    checks.push(Check { name: "logits".into(), err: max_abs(&logits_v, &io["logits"].data), tol: 1e-4, detail: format!("{:?}", io["logits"].shape) });
    for (name, g) in &acts {
        if name.starts_with("rope_") {
            continue;
        }
        let err = match probe.get(name) {
            Some(a) => max_abs(&a.clone().inner().into_data().try_into_vec::<f32>().unwrap(), &g.data),
            None => f64::INFINITY,
        };
        checks.push(Check { name: format!("activation {name}"), err, tol: 1e-4, detail: String::new() });
    }
    if let (Some(rin), Some(rout)) = (acts.get("rope_in"), acts.get("rope_out")) {
        let s = &rin.shape;
        let tin = Tensor::<4>::from_data(TensorData::new(rin.data.clone(), [s[0], s[1], s[2], s[3]]), base);
        let ours: Vec<f32> = rope(tin, cfg.model.rope).into_data().try_into_vec().unwrap();
        checks.push(Check {
            name: "activation rope_out".into(),
            err: max_abs(&ours, &rout.data),
            tol: 1e-4,
            detail: format!("{:?}", cfg.model.rope),
        });
    }
    let loss = cross_entropy(logits, y.clone());
    let loss_v = loss.clone().into_scalar::<f32>() as f64;
    checks.push(Check { name: "loss".into(), err: (loss_v - scalar(&io["loss"])).abs(), tol: 1e-5, detail: format!("{loss_v:.6}") });

    // Gradients.
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let our_grads = grads_by_name(&grads, &params);
    checks.push(compare_all("grads", &our_grads, &grads1, 1e-5));
    let gn = global_grad_norm(&grads, &params);
    checks.push(Check { name: "grad_norm".into(), err: (gn - scalar(&io["grad_norm"])).abs(), tol: 1e-5, detail: format!("{gn:.6}") });

    // Optimizer alone: golden gradients in, after-step parameters out.
    // (Each fresh model has fresh parameter ids, so its table and optimizer are rebuilt.)
    let fresh_with_optim = |clip: f64| -> Result<(A, Vec<ParamInfo>, Optimizer)> {
        let m = fresh()?;
        let p = param_table(&m, &scaling);
        let mut o = Optimizer::new(&p, &cfg.optim);
        o.clip = clip;
        Ok((m, p, o))
    };
    {
        let (m, params, mut opt) = fresh_with_optim(0.0)?;
        let g = golden_grads(&params, &grads1, base)?;
        let (m, _) = opt.step(m, g, &params, lr);
        checks.push(compare_all("optimizer alone: after_step", &snapshot(&m), &after1, 1e-6));
        let g = golden_grads(&params, &grads2, base)?;
        let (m, _) = opt.step(m, g, &params, lr);
        checks.push(compare_all("optimizer alone: after_step2", &snapshot(&m), &after2, 1e-6));
        let (m, params, mut opt) = fresh_with_optim(rc.grad_clip)?;
        let g = golden_grads(&params, &grads1, base)?;
        let (m, _) = opt.step(m, g, &params, lr);
        checks.push(compare_all("optimizer alone: after_step_clip", &snapshot(&m), &after_clip, 1e-6));
    }

    // End to end: our own gradients, two steps on the same batch.
    {
        let mut opt = Optimizer::new(&params, &cfg.optim);
        let (m, _) = opt.step(model, grads, &params, lr);
        checks.push(compare_conditioned("end to end: after_step", &snapshot(&m), &after1, &[&grads1], lr));
        let loss2 = cross_entropy(m.forward(x.clone(), &mut Probe::off()), y.clone());
        let l2 = loss2.clone().into_scalar::<f32>() as f64;
        checks.push(Check {
            name: "end to end: loss_step2".into(),
            err: (l2 - scalar(&io["loss_step2"])).abs(),
            tol: 1e-5,
            detail: format!("{l2:.6}"),
        });
        let g2 = GradientsParams::from_grads(loss2.backward(), &m);
        checks.push(compare_all("end to end: grads_step2", &grads_by_name(&g2, &params), &grads2, 1e-5));
        let (m, _) = opt.step(m, g2, &params, lr);
        checks.push(compare_conditioned("end to end: after_step2", &snapshot(&m), &after2, &[&grads1, &grads2], lr));

        let (m, params, mut opt) = fresh_with_optim(rc.grad_clip)?;
        let loss = cross_entropy(m.forward(x, &mut Probe::off()), y);
        let g = GradientsParams::from_grads(loss.backward(), &m);
        let (m, _) = opt.step(m, g, &params, lr);
        checks.push(compare_conditioned("end to end: after_step_clip", &snapshot(&m), &after_clip, &[&grads1], lr));
    }
    Ok(checks)
}

/// Our gradients, by reference name, in PyTorch layout.
fn grads_by_name(grads: &GradientsParams, params: &[ParamInfo]) -> BTreeMap<String, Golden> {
    let mut out = BTreeMap::new();
    for p in params {
        let data: Option<Vec<f32>> = match p.shape.len() {
            1 => grads.get::<1>(p.id).map(|g| g.into_data().try_into_vec().unwrap()),
            2 => grads.get::<2>(p.id).map(|g| g.into_data().try_into_vec().unwrap()),
            _ => None,
        };
        let Some(data) = data else { continue };
        let (shape, data) = if needs_transpose(&p.path, p.shape.len()) {
            (vec![p.shape[1], p.shape[0]], transpose(&p.shape, &data))
        } else {
            (p.shape.clone(), data)
        };
        out.insert(reference_name(&p.path), Golden { shape, data });
    }
    out
}

/// Golden gradients registered under our parameter ids.
fn golden_grads(params: &[ParamInfo], file: &GoldenFile, device: &Device) -> Result<GradientsParams> {
    let mut g = GradientsParams::new();
    for p in params {
        let (shape, data) = golden_for(file, &p.path, p.shape.len())?;
        match shape.len() {
            1 => g.register::<1>(p.id, Tensor::from_data(TensorData::new(data, [shape[0]]), device)),
            2 => g.register::<2>(p.id, Tensor::from_data(TensorData::new(data, [shape[0], shape[1]]), device)),
            n => bail!("{}: unsupported rank {n}", p.path),
        }
    }
    Ok(g)
}

/// Print the report; returns whether every check passed.
pub fn print_report(checks: &[Check]) -> bool {
    let failed = checks.iter().filter(|c| !c.pass()).count();
    for c in checks {
        println!("{:<4} {:<36} max abs err {:>9.2e}  tol {:>7.1e}  {}", if c.pass() { "ok" } else { "FAIL" }, c.name, c.err, c.tol, c.detail);
    }
    if failed == 0 {
        println!("verify-reference: PASS");
    } else {
        println!("verify-reference: FAIL ({failed} checks)");
    }
    failed == 0
}
