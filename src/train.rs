//! The one training loop every architecture runs through: schedule → batch → forward →
//! loss → backward → clip → AdamW step → constraint → metrics → eval / checkpoint.

use crate::backend::Backend;
use crate::config::RunConfig;
use crate::data::Dataset;
use crate::model::{ArchFn, Architecture, Probe, cross_entropy, tokens, with_arch};
use crate::optim::{Optimizer, ParamInfo, min_lr_frac, param_table, schedule};
use crate::param::Scaling;
use crate::record::{Metrics, RunDir, Status, Summary, atomic_write};
use anyhow::{Context, Result};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// How to run (not what to run: that is the config).
#[derive(Clone, Debug, Default)]
pub struct TrainOptions {
    pub out: PathBuf,
    pub backend: Backend,
    /// No progress bar (CI, sweeps).
    pub quiet: bool,
    /// Set by SIGINT/SIGTERM: checkpoint and stop cleanly.
    pub stop: Option<Arc<AtomicBool>>,
    /// Print a line every this many steps when quiet (0 = never).
    pub log_every: usize,
}

/// Resume state stored next to the burnpack files.
#[derive(Serialize, Deserialize)]
struct CheckpointState {
    /// Number of completed steps.
    step: usize,
    wall_s: f64,
    step_times: Vec<f64>,
}

/// Train one run into `opts.out`, resuming from its checkpoint if one exists.
pub fn train(cfg: &RunConfig, data: &Dataset, opts: &TrainOptions) -> Result<Summary> {
    struct F<'a>(&'a RunConfig, &'a Dataset, &'a TrainOptions);
    impl ArchFn for F<'_> {
        type Output = Result<Summary>;
        fn call<A: Architecture>(self) -> Result<Summary> {
            train_arch::<A>(self.0, self.1, self.2)
        }
    }
    with_arch(cfg.arch, F(cfg, data, opts))
}

/// A freshly initialized model for `cfg`, seeded, on the autodiff device.
pub fn init_model<A: Architecture>(cfg: &RunConfig, vocab: usize, device: &Device) -> (A, Scaling) {
    let scaling = Scaling::of(cfg);
    device.seed(cfg.seed);
    (A::init(cfg, vocab, &scaling, device), scaling)
}

/// Mean validation loss over the fixed windows.
pub fn evaluate<A: Architecture>(model: &A, data: &Dataset, seq_len: usize, device: &Device) -> f64 {
    let valid = model.valid();
    let batches = data.val_batches_at(seq_len);
    let (mut sum, mut n) = (0.0, 0usize);
    for b in &batches {
        let x = tokens(&b.inputs, b.batch, b.seq_len, device);
        let y = tokens(&b.targets, b.batch, b.seq_len, device);
        let loss = cross_entropy(valid.forward(x, &mut Probe::off()), y).into_scalar::<f32>() as f64;
        sum += loss * b.batch as f64;
        n += b.batch;
    }
    sum / n.max(1) as f64
}

fn train_arch<A: Architecture>(cfg: &RunConfig, data: &Dataset, opts: &TrainOptions) -> Result<Summary> {
    let dir = RunDir::new(&opts.out);
    std::fs::create_dir_all(&dir.root).with_context(|| format!("creating run directory {}", dir.root.display()))?;
    atomic_write(&dir.config(), cfg.to_toml().as_bytes())?;

    crate::backend::apply_flush_denormals(cfg.train.flush_denormals);
    let base = opts.backend.device()?;
    let device = base.clone().autodiff();
    let (mut model, scaling) = init_model::<A>(cfg, data.vocab_size(), &device);
    let mut metrics = Metrics::default();
    let (mut start, mut wall_before, mut step_times) = (0usize, 0.0f64, Vec::new());
    let checkpoint = find_checkpoint(&dir)?;
    if let Some((path, state)) = &checkpoint {
        // Restored parameters keep their saved ids, so the optimizer (keyed by id) is built after.
        model = model
            .try_load_file(path.join("model.bpk"))
            .map_err(|e| anyhow::anyhow!("loading {}: {e:?}", path.join("model.bpk").display()))?;
        start = state.step;
        wall_before = state.wall_s;
        step_times = state.step_times.clone();
        if dir.metrics().exists() {
            metrics = Metrics::read(&dir.metrics())?;
            let keep = metrics.step.iter().take_while(|&&s| (s as usize) < start).count();
            metrics.truncate(keep);
        }
    }
    let params: Vec<ParamInfo> = param_table(&model, &scaling);
    let mut optim = Optimizer::new(&params, &cfg.optim);
    if let Some((path, _)) = &checkpoint {
        optim.inner = optim
            .inner
            .load(path.join("optim.bpk"))
            .map_err(|e| anyhow::anyhow!("loading {}: {e:?}", path.join("optim.bpk").display()))?;
    }
    let floor = min_lr_frac(cfg, &scaling);
    // Alignment exponents are measured against the weights at step 0 (fresh runs only).
    let align = (cfg.train.alignment_every > 0 && start == 0).then(|| {
        let b = data.train_batch(cfg.seed ^ 0xA11, 0);
        crate::alignment::AlignmentProbe::new(&model, tokens(&b.inputs, b.batch, b.seq_len, &base))
    });

    let steps = cfg.train.steps;
    eprintln!("{}: starting at step {start}/{steps}", cfg.name);
    let tokens_per_step = (data.batch_size * data.seq_len) as u64;
    let bar = progress_bar(steps, opts.quiet);
    bar.set_position(start as u64);
    let t0 = Instant::now();
    let mut status = Status::Done;
    let mut diverged_at = None;
    let mut best_val: Option<f64> = metrics.val_loss.iter().flatten().map(|&v| v as f64).reduce(f64::min);
    let mut last_val: Option<f64> = None;
    let mut last_diags: Vec<(String, f64)> = Vec::new();

    for step in start..steps {
        if opts.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) {
            status = Status::Interrupted;
            break;
        }
        let ts = Instant::now();
        let lr = schedule(step, steps, cfg.optim.warmup_steps, cfg.optim.lr, floor);
        let b = data.train_batch(cfg.seed, step);
        let x = tokens(&b.inputs, b.batch, b.seq_len, &device);
        let y = tokens(&b.targets, b.batch, b.seq_len, &device);
        let loss = cross_entropy(model.forward(x, &mut Probe::off()), y);
        let loss_value = loss.clone().into_scalar::<f32>();
        if !loss_value.is_finite() || loss_value as f64 > cfg.train.diverge_loss {
            metrics.push(step, step as u64 * tokens_per_step, lr, loss_value, f32::NAN, wall_before + t0.elapsed().as_secs_f64());
            status = Status::Diverged;
            diverged_at = Some(step);
            break;
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let (m, gnorm) = optim.step(model, grads, &params, lr);
        model = m;
        step_times.push(ts.elapsed().as_secs_f64());
        let done = step + 1;
        metrics.push(step, done as u64 * tokens_per_step, lr, loss_value, gnorm as f32, wall_before + t0.elapsed().as_secs_f64());

        if let Some(a) = &align
            && done % cfg.train.alignment_every == 0
        {
            metrics.set_diags(&a.measure(&model));
        }
        if done % cfg.train.eval_every == 0 || done == steps {
            let val = evaluate(&model, data, data.seq_len, &base);
            best_val = Some(best_val.map_or(val, |b| b.min(val)));
            last_val = Some(val);
            last_diags = eval_diagnostics(&model, data, &base);
            metrics.set_eval(val as f32, &last_diags);
            dir.write_metrics(&metrics)?;
            if opts.quiet {
                eprintln!("{}: step {done}/{steps} train {loss_value:.4} val {val:.4}", cfg.name);
            } else {
                bar.println(format!("step {done:>6}  train {loss_value:.4}  val {val:.4}"));
            }
        }
        if opts.quiet && opts.log_every > 0 && done % opts.log_every == 0 {
            eprintln!("{}: step {done}/{steps} loss {loss_value:.4}", cfg.name);
        }
        let tok_s = (done - start) as f64 * tokens_per_step as f64 / t0.elapsed().as_secs_f64();
        bar.set_position(done as u64);
        bar.set_message(format!("loss {loss_value:.4}  {tok_s:.0} tok/s"));
        if cfg.train.checkpoint_every > 0 && done % cfg.train.checkpoint_every == 0 && done < steps {
            dir.write_metrics(&metrics)?;
            save_checkpoint(&dir, &model, &optim, done, wall_before + t0.elapsed().as_secs_f64(), &step_times)?;
        }
    }
    bar.finish_and_clear();

    let done_steps = metrics.step.last().map(|&s| s as usize + 1).unwrap_or(0);
    let wall = wall_before + t0.elapsed().as_secs_f64();
    if status == Status::Interrupted {
        dir.write_metrics(&metrics)?;
        save_checkpoint(&dir, &model, &optim, done_steps, wall, &step_times)?;
    } else {
        dir.write_metrics(&metrics)?;
        save_weights(&model, &dir)?;
    }
    let mut sorted = step_times.clone();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    let summary = Summary {
        status,
        final_val_loss: if status == Status::Done { last_val.or(best_val) } else { None },
        best_val_loss: best_val,
        final_train_loss: metrics.train_loss.last().map(|&v| v as f64),
        steps: if status == Status::Diverged { diverged_at.unwrap_or(0) } else { done_steps },
        tokens: done_steps as u64 * tokens_per_step,
        tokens_per_s: if median > 0.0 { tokens_per_step as f64 / median } else { 0.0 },
        step_time_s: median,
        wall_s: wall,
        diverged: status == Status::Diverged,
        diverged_at,
        seed: cfg.seed,
        n_params: model.num_params(),
        normlab_version: env!("CARGO_PKG_VERSION").to_string(),
        backend: opts.backend.as_str().to_string(),
        threads: rayon::current_num_threads(),
        flush_denormals: crate::backend::flush_denormals_enabled(),
        // The last evaluation's diagnostics (mean |α|, s_z, hidden norms, ...) plus the end-of-run ones.
        final_diagnostics: if status == Status::Done {
            last_diags.into_iter().chain(model.final_diagnostics()).collect()
        } else {
            Default::default()
        },
        error: None,
    };
    dir.write_summary(&summary)?;
    Ok(summary)
}

/// Diagnostics recorded at eval points: the architecture's own, hidden-state norms after
/// each block on the first validation batch, and the deviation from the weight constraint.
pub fn eval_diagnostics<A: Architecture>(model: &A, data: &Dataset, device: &Device) -> Vec<(String, f64)> {
    use crate::model::diagnostics::{constraint_deviation, hidden_norms};
    let mut d = model.diagnostics();
    let valid = model.valid();
    if let Some(b) = data.val_batches().first() {
        d.extend(hidden_norms(&valid, tokens(&b.inputs, b.batch, b.seq_len, device)));
    }
    if A::CONSTRAINT.is_some() {
        let (dev, max) = constraint_deviation(&valid);
        d.push(("constraint_max_dev".into(), dev));
        d.push(("constraint_max_norm".into(), max));
    }
    d
}

fn progress_bar(steps: usize, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] step {pos}/{len} {msg} (eta {eta})")
            .unwrap()
            .progress_chars("=> "),
    );
    bar
}

/// Final weights as safetensors (module paths as names), written atomically.
pub fn save_weights<A: Architecture>(model: &A, dir: &RunDir) -> Result<()> {
    let tmp = crate::record::tmp_path(&dir.weights());
    model
        .clone()
        .save_into(&mut SafetensorsStore::from_file(&tmp).overwrite(true))
        .map_err(|e| anyhow::anyhow!("saving {}: {e:?}", tmp.display()))?;
    std::fs::rename(&tmp, dir.weights())?;
    Ok(())
}

/// Load final weights saved by [`save_weights`] into a freshly built model.
pub fn load_weights<A: Architecture>(model: A, dir: &RunDir) -> Result<A> {
    let mut model = model;
    let path = dir.weights();
    let res = model
        .load_from(&mut SafetensorsStore::from_file(&path))
        .map_err(|e| anyhow::anyhow!("loading {}: {e:?}", path.display()))?;
    if !res.missing.is_empty() {
        anyhow::bail!("{}: missing tensors {:?}", path.display(), res.missing);
    }
    Ok(model)
}

/// Write model + optimizer + state into `checkpoint.new/`, then swap it in for `checkpoint/`.
fn save_checkpoint<A: Architecture>(dir: &RunDir, model: &A, optim: &Optimizer, step: usize, wall_s: f64, step_times: &[f64]) -> Result<()> {
    let new = dir.root.join("checkpoint.new");
    let old = dir.root.join("checkpoint.old");
    let cur = dir.checkpoint();
    let _ = std::fs::remove_dir_all(&new);
    std::fs::create_dir_all(&new)?;
    model.clone().save_file(new.join("model.bpk")).map_err(|e| anyhow::anyhow!("saving checkpoint model: {e:?}"))?;
    optim.inner.save(new.join("optim.bpk")).map_err(|e| anyhow::anyhow!("saving checkpoint optimizer: {e:?}"))?;
    let state = CheckpointState { step, wall_s, step_times: step_times.to_vec() };
    atomic_write(&new.join("state.json"), serde_json::to_string(&state)?.as_bytes())?;
    sync_dir(&new);
    if cur.exists() {
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(&cur, &old)?;
    }
    std::fs::rename(&new, &cur)?;
    let _ = std::fs::remove_dir_all(&old);
    sync_dir(&dir.root);
    Ok(())
}

fn sync_dir(path: &std::path::Path) {
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.sync_all();
    }
}

/// The newest complete checkpoint (`checkpoint/`, else `checkpoint.old/` if a swap was cut short).
fn find_checkpoint(dir: &RunDir) -> Result<Option<(PathBuf, CheckpointState)>> {
    for cand in [dir.checkpoint(), dir.root.join("checkpoint.old")] {
        let state_file = cand.join("state.json");
        let Ok(text) = std::fs::read_to_string(&state_file) else { continue };
        let state: CheckpointState = serde_json::from_str(&text).with_context(|| format!("reading {}", state_file.display()))?;
        return Ok(Some((cand, state)));
    }
    Ok(None)
}
