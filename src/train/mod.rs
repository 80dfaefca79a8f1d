//! The one training loop every architecture runs through: schedule → batch → forward →
//! loss → backward → clip → AdamW step → constraint → metrics → eval / checkpoint.

pub mod optim;

use crate::backend::{Backend, DeviceSpec};
use crate::config::RunConfig;
use crate::config::cooldown_start;
use crate::data::Dataset;
use crate::model::{Architecture, Probe, cross_entropy, tokens, with_arch};
use crate::param::Scaling;
use crate::record::Branch;
use crate::record::identity::{Prepared, config_hash, prepare};
use crate::record::{Metrics, RunDir, Status, Summary, atomic_write, progress, provenance::Provenance, tensorboard};
use anyhow::Result;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use checkpoint::{CheckpointState, warn};
use device_failure::{device_failed, on_device};
use indicatif::{ProgressBar, ProgressStyle};
use optim::{Optimizer, ParamInfo, lr_at, min_lr_frac, param_table};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// How to run (not what to run: that is the config).
#[derive(Clone, Debug, Default)]
pub struct TrainOptions {
    pub out: PathBuf,
    /// Backend and graphics API to train on (flex by default).
    pub device: DeviceSpec,
    /// No progress bar (CI, sweeps).
    pub quiet: bool,
    /// Set by SIGINT/SIGTERM: checkpoint and stop cleanly.
    pub stop: Option<Arc<AtomicBool>>,
    /// Print a line every this many steps when quiet or stderr is not a terminal (0 = never).
    pub log_every: usize,
    /// Start the directory over from step 0, whatever it holds (`--force`).
    pub force: bool,
}

pub mod branches;
pub mod checkpoint;
mod device_failure;
pub mod memory;

/// Train one run into `opts.out`, resuming from its checkpoint if one exists. A run already
/// finished there returns its summary untouched; a different config there is refused.
pub fn train(cfg: &RunConfig, data: &Dataset, opts: &TrainOptions) -> Result<Summary> {
    // The estimate is of host memory; a GPU run keeps its activations on the device, whose
    // running out ends the run in one line instead (device_failure.rs).
    if opts.device.backend == Backend::Flex {
        memory::check(cfg, data.vocab_size())?;
    }
    let dir = RunDir::new(&opts.out);
    let (_lock, warnings) = match prepare(cfg, &dir, opts.force)? {
        Prepared::Finished(s) => {
            eprintln!("{}: already finished in {} ({:?}); not training it again (--force to redo it)", cfg.name, dir.root.display(), s.status);
            return Ok(*s);
        }
        Prepared::Train { lock, warnings } => (lock, warnings),
    };
    with_arch!(cfg.arch, |A| train_arch::<A>(cfg, data, opts, warnings))
}

/// A freshly initialized model for `cfg` on `device`. The weights depend on (config, seed)
/// only: they are drawn on the CPU (flex, whose generator is the same everywhere) and then
/// moved, so every backend starts a run from the same weights.
pub fn init_model<A: Architecture>(cfg: &RunConfig, vocab: usize, device: &Device) -> (A, Scaling) {
    let scaling = Scaling::of(cfg);
    let cpu = if device.is_autodiff() { Device::flex().autodiff() } else { Device::flex() };
    cpu.seed(cfg.seed);
    let model = A::init(cfg, vocab, &scaling, &cpu);
    // burn initializes a parameter lazily, on first access, on whatever device it has been
    // moved to by then (with that device's generator): draw every weight now, on the CPU, in
    // module order (the order the parameter table reads them in, as flex always did).
    crate::model::params::params(&model);
    (if cpu == *device { model } else { model.fork(device) }, scaling)
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

fn train_arch<A: Architecture>(cfg: &RunConfig, data: &Dataset, opts: &TrainOptions, mut warnings: Vec<String>) -> Result<Summary> {
    let dir = RunDir::new(&opts.out);
    let hash = config_hash(cfg);
    atomic_write(&dir.config(), cfg.to_toml().as_bytes())?;

    crate::backend::apply_flush_denormals(cfg.train.flush_denormals);
    let (base, device_info) = opts.device.open()?;
    let device = base.clone().autodiff();
    let (mut model, scaling) = init_model::<A>(cfg, data.vocab_size(), &device);
    let mut optim = Optimizer::new(&param_table(&model, &scaling), &cfg.optim);
    let mut metrics = Metrics::default();
    let mut branches: Vec<Branch> = Vec::new();
    let (mut start, mut wall_before, mut step_times) = (0usize, 0.0f64, Vec::new());
    let candidates = checkpoint::candidates(&dir, &hash, &mut warnings);
    let had_checkpoint = crate::record::checkpoint_dirs(&dir).iter().any(|d| d.exists());
    for (path, state) in candidates {
        // Rows before the checkpoint's step must all be there, or the curve would have a hole.
        let rows = Metrics::read(&dir.metrics()).map(|mut m| {
            m.truncate(m.step.iter().take_while(|&&s| (s as usize) < state.step).count());
            m
        });
        let rows = match rows {
            Ok(m) if m.len() == state.step && m.step.iter().enumerate().all(|(i, &s)| s as usize == i) => m,
            Ok(m) => {
                warn(
                    &mut warnings,
                    format!("{}: metrics.parquet has {} of the {} rows before it; not resuming from it", path.display(), m.len(), state.step),
                );
                continue;
            }
            Err(e) => {
                warn(&mut warnings, format!("{}: not resuming from it, metrics unreadable: {e:#}", path.display()));
                continue;
            }
        };
        let fresh = init_model::<A>(cfg, data.vocab_size(), &device).0;
        match checkpoint::load(fresh, &path, |m| Optimizer::new(&param_table(m, &scaling), &cfg.optim)) {
            Ok((m, o)) => {
                (model, optim, metrics) = (m, o, rows);
                (start, wall_before, step_times) = (state.step, state.wall_s, state.step_times.clone());
                branches = state.branches.clone();
                break;
            }
            Err(e) => warn(&mut warnings, format!("checkpoint skipped: {e:#}")),
        }
    }
    if had_checkpoint && start == 0 {
        warn(&mut warnings, "no usable checkpoint; restarted from step 0".into());
        let _ = std::fs::remove_file(dir.metrics());
    }
    let params: Vec<ParamInfo> = param_table(&model, &scaling);
    let floor = min_lr_frac(cfg, &scaling);
    // Alignment exponents are measured against the weights at step 0 (fresh runs only).
    let align = (cfg.train.alignment_every > 0 && start == 0).then(|| {
        let b = data.train_batch(cfg.seed ^ 0xA11, 0);
        crate::model::alignment::AlignmentProbe::new(&model, tokens(&b.inputs, b.batch, b.seq_len, &base))
    });

    let steps = cfg.train.steps;
    eprintln!("{}: starting at step {start}/{steps} on {}", cfg.name, device_info.describe(opts.device.backend));
    let prov = Provenance::at_start(rayon::current_num_threads(), device_info);
    let mut tb = tensorboard::EventWriter::create(&tensorboard::tb_dir(&dir.root));
    let group = dir.root.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    tb.session_start(&tensorboard::run_hparams(&dir.root, &cfg.to_toml())?, &group, start as u64);
    let tokens_per_step = (data.batch_size * data.seq_len) as u64;
    // Without a terminal the bar draws nothing: lines instead (quiet's, plus every log_every).
    let quiet = !progress::bars(opts.quiet);
    let bar = progress_bar(steps, quiet);
    bar.set_position(start as u64);
    let t0 = Instant::now();
    let mut status = Status::Done;
    let mut diverged_at = None;
    let mut best_val: Option<f64> = metrics.val_loss.iter().flatten().map(|&v| v as f64).reduce(f64::min);
    let mut last_val: Option<f64> = None;
    let mut last_diags: Vec<(String, f64)> = Vec::new();
    let backend = opts.device.backend;
    let mut last_checkpoint = (start > 0).then_some(start);

    for step in start..steps {
        if opts.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) {
            status = Status::Interrupted;
            break;
        }
        // A cool-down branch whose stable phase ends here (after `step` trunk steps).
        let due = branches::pending(cfg, &branches).find(|&b| cooldown_start(b, cfg.optim.cooldown_frac) == step);
        if let Some(budget) = due {
            match branches::cool_down(&model, &optim, &params, cfg, data, &base, budget, floor, opts) {
                Some(mut branch) => {
                    branch.wall_s += wall_before + t0.elapsed().as_secs_f64();
                    let val = branch.final_val_loss.map_or("diverged".into(), |v| format!("{v:.4}"));
                    if quiet {
                        eprintln!("{}: branch {budget}: val {val}", cfg.name);
                    } else {
                        bar.println(format!("branch {budget:>5}  val {val}"));
                    }
                    branches.push(branch);
                }
                None => {
                    status = Status::Interrupted;
                    break;
                }
            }
        }
        let ts = Instant::now();
        let lr = lr_at(&cfg.optim, step, steps, floor);
        let stepped = on_device(backend, || take_step(model, &mut optim, &params, cfg, data, &device, step, lr));
        let (m, loss_value, gnorm) = stepped.map_err(|e| device_failed(&cfg.name, step, last_checkpoint, &e))?;
        model = m;
        let Some(gnorm) = gnorm else {
            metrics.push(step, step as u64 * tokens_per_step, lr, loss_value, f32::NAN, wall_before + t0.elapsed().as_secs_f64());
            tb.metrics_row(&metrics, metrics.len() - 1, 0.0);
            status = Status::Diverged;
            diverged_at = Some(step);
            // A separate run of any later branch's length would have diverged here too.
            for b in branches::pending(cfg, &branches).collect::<Vec<_>>() {
                branches.push(Branch {
                    steps: b,
                    final_val_loss: None,
                    final_train_loss: None,
                    diverged: true,
                    wall_s: wall_before + t0.elapsed().as_secs_f64(),
                });
            }
            break;
        };
        step_times.push(ts.elapsed().as_secs_f64());
        let done = step + 1;
        metrics.push(step, done as u64 * tokens_per_step, lr, loss_value, gnorm as f32, wall_before + t0.elapsed().as_secs_f64());

        if let Some(a) = &align
            && done % cfg.train.alignment_every == 0
        {
            metrics.set_diags(&a.measure(&model));
        }
        if done % cfg.train.eval_every == 0 || done == steps {
            let val = on_device(backend, || evaluate(&model, data, data.seq_len, &base))
                .map_err(|e| device_failed(&cfg.name, done, last_checkpoint, &e))?;
            best_val = Some(best_val.map_or(val, |b| b.min(val)));
            last_val = Some(val);
            last_diags = eval_diagnostics(&model, data, &base);
            metrics.set_eval(val as f32, &last_diags);
            dir.write_metrics(&metrics)?;
            if quiet {
                eprintln!("{}: step {done}/{steps} train {loss_value:.4} val {val:.4}", cfg.name);
            } else {
                bar.println(format!("step {done:>6}  train {loss_value:.4}  val {val:.4}"));
            }
        }
        let tok_s = (done - start) as f64 * tokens_per_step as f64 / t0.elapsed().as_secs_f64();
        tb.metrics_row(&metrics, metrics.len() - 1, tokens_per_step as f64 / step_times.last().copied().unwrap_or(f64::NAN));
        if quiet && opts.log_every > 0 && done % opts.log_every == 0 {
            eprintln!("{}", progress::step_line(&cfg.name, done, start, steps, loss_value, t0.elapsed().as_secs_f64(), tok_s));
        }
        bar.set_position(done as u64);
        bar.set_message(format!("loss {loss_value:.4}  {tok_s:.0} tok/s"));
        if cfg.train.checkpoint_every > 0 && done % cfg.train.checkpoint_every == 0 && done < steps {
            dir.write_metrics(&metrics)?;
            let state = CheckpointState {
                step: done,
                wall_s: wall_before + t0.elapsed().as_secs_f64(),
                step_times: step_times.clone(),
                config_hash: Some(hash.clone()),
                branches: branches.clone(),
            };
            checkpoint::save(&dir, &model, &optim, &state)?;
            last_checkpoint = Some(done);
        }
    }
    bar.finish_and_clear();

    let done_steps = metrics.step.last().map(|&s| s as usize + 1).unwrap_or(0);
    let wall = wall_before + t0.elapsed().as_secs_f64();
    if status == Status::Interrupted {
        dir.write_metrics(&metrics)?;
        let state = CheckpointState {
            step: done_steps,
            wall_s: wall,
            step_times: step_times.clone(),
            config_hash: Some(hash.clone()),
            branches: branches.clone(),
        };
        checkpoint::save(&dir, &model, &optim, &state)?;
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
        flops_per_step: Some(crate::model::flops::step_flops(cfg, data.vocab_size()).total()),
        vocab_size: Some(data.vocab_size()),
        normlab_version: env!("CARGO_PKG_VERSION").to_string(),
        backend: opts.device.backend.as_str().to_string(),
        threads: rayon::current_num_threads(),
        flush_denormals: Some(crate::backend::flush_denormals_everywhere()),
        // The last evaluation's diagnostics (mean |α|, s_z, hidden norms, ...) plus the end-of-run ones.
        final_diagnostics: if status == Status::Done {
            last_diags.into_iter().chain(model.final_diagnostics()).collect()
        } else {
            Default::default()
        },
        error: None,
        config_hash: Some(hash),
        warnings,
        provenance: Some(prov.finish()),
        branches,
    };
    tb.session_end(done_steps as u64, status, summary.final_val_loss, summary.best_val_loss);
    if status == Status::Interrupted {
        dir.write_summary(&summary)?;
    } else {
        crate::record::identity::finish(&dir, &summary)?;
    }
    Ok(summary)
}

/// One optimizer step on the batch of `step`: forward, loss, backward, clip, AdamW,
/// constraint. The gradient norm is `None` when the loss is not finite or above
/// `train.diverge_loss`; the model is then returned unchanged.
#[allow(clippy::too_many_arguments)]
pub(crate) fn take_step<A: Architecture>(
    model: A,
    optim: &mut Optimizer,
    params: &[ParamInfo],
    cfg: &RunConfig,
    data: &Dataset,
    device: &Device,
    step: usize,
    lr: f64,
) -> (A, f32, Option<f64>) {
    let b = data.train_batch(cfg.seed, step);
    let x = tokens(&b.inputs, b.batch, b.seq_len, device);
    let y = tokens(&b.targets, b.batch, b.seq_len, device);
    let loss = cross_entropy(model.forward(x, &mut Probe::off()), y);
    let loss_value = loss.clone().into_scalar::<f32>();
    if !loss_value.is_finite() || loss_value as f64 > cfg.train.diverge_loss {
        return (model, loss_value, None);
    }
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let (model, gnorm) = optim.step(model, grads, params, lr);
    (model, loss_value, Some(gnorm))
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
    bar.set_style(ProgressStyle::with_template("{elapsed_precise} [{bar:30}] step {pos}/{len} {msg} (eta {eta})").unwrap().progress_chars("=> "));
    bar
}

/// Final weights as safetensors (module paths as names), written atomically.
pub fn save_weights<A: Architecture>(model: &A, dir: &RunDir) -> Result<()> {
    crate::record::durable::write_via(&dir.weights(), |tmp| {
        model.clone().save_into(&mut SafetensorsStore::from_file(tmp).overwrite(true)).map_err(|e| anyhow::anyhow!("saving {}: {e:?}", tmp.display()))
    })
}

/// Load final weights saved by [`save_weights`] into a freshly built model.
pub fn load_weights<A: Architecture>(model: A, dir: &RunDir) -> Result<A> {
    let mut model = model;
    let path = dir.weights();
    let res = model.load_from(&mut SafetensorsStore::from_file(&path)).map_err(|e| anyhow::anyhow!("loading {}: {e:?}", path.display()))?;
    if !res.missing.is_empty() {
        anyhow::bail!("{}: missing tensors {:?}", path.display(), res.missing);
    }
    Ok(model)
}
