//! `sweep plan`'s wall estimate, calibrated on this machine: a few training steps of the
//! sweep's cheapest and dearest model through the real `normlab train` path (a child process
//! with the runner's thread count), then each run's seconds per step interpolated in FLOPs
//! per step between the two probes, times its steps, packed longest-first onto the jobs.
//! Without the probe (`--no-probe`) the estimate is the FLOP count over a fixed rate and says
//! it is uncalibrated.

use super::plan::{FLOPS_PER_THREAD, PLAN_VOCAB, PlannedRun};
use crate::record::RunDir;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Steps of each probe: enough for a median step time past the first (allocating) steps.
pub const PROBE_STEPS: usize = 20;

/// A measured seconds-per-step at a model's FLOPs per step.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    pub label: String,
    pub flops_per_step: f64,
    pub s_per_step: f64,
}

/// What the estimate rests on.
#[derive(Clone, Debug)]
pub enum Basis {
    /// One or two probes (cheapest, dearest model) and the probing's own wall seconds.
    Probed {
        probes: Vec<Probe>,
        probe_wall_s: f64,
    },
    Uncalibrated,
}

/// Training FLOPs of one step of a run (the vocabulary the plan's costs assume).
pub fn flops_per_step(r: &PlannedRun) -> f64 {
    crate::model::flops::step_flops(&r.cfg, PLAN_VOCAB).total()
}

/// Seconds per step at `f` FLOPs per step: the line through the probes (one probe: through
/// the origin), so runs between the cheapest and dearest model are interpolated, never
/// extrapolated; without probes, the fixed single-thread rate.
pub fn seconds_per_step(f: f64, basis: &Basis) -> f64 {
    let probes = match basis {
        Basis::Probed { probes, .. } if !probes.is_empty() => probes,
        _ => return f / FLOPS_PER_THREAD,
    };
    let (lo, hi) = (&probes[0], &probes[probes.len() - 1]);
    if hi.flops_per_step <= lo.flops_per_step {
        return lo.s_per_step * f / lo.flops_per_step;
    }
    let w = (f - lo.flops_per_step) / (hi.flops_per_step - lo.flops_per_step);
    lo.s_per_step + w * (hi.s_per_step - lo.s_per_step)
}

/// Estimated training seconds of each run.
pub fn run_seconds(runs: &[PlannedRun], basis: &Basis) -> Vec<f64> {
    runs.iter().map(|r| seconds_per_step(flops_per_step(r), basis) * r.cfg.optimizer_steps() as f64).collect()
}

/// Wall seconds of running `secs` longest-first on `jobs` slots, each run starting on the
/// slot that frees first (what the local runner does).
pub fn makespan(secs: &[f64], jobs: usize) -> f64 {
    let mut order = secs.to_vec();
    order.sort_by(|a, b| b.total_cmp(a));
    let mut load = vec![0.0f64; jobs.max(1)];
    for s in order {
        let i = (0..load.len()).min_by(|&a, &b| load[a].total_cmp(&load[b])).unwrap();
        load[i] += s;
    }
    load.into_iter().fold(0.0, f64::max)
}

/// Time `PROBE_STEPS` steps of the cheapest and the dearest run (by FLOPs per step) with
/// `threads` threads each, one after the other, in a scratch directory.
pub fn probe(runs: &[PlannedRun], exe: &Path, threads: usize) -> Result<Basis> {
    if runs.is_empty() {
        bail!("sweep plan: no runs to probe");
    }
    let by_cost = |a: &&PlannedRun, b: &&PlannedRun| flops_per_step(a).total_cmp(&flops_per_step(b));
    let (lo, hi) = (runs.iter().min_by(by_cost).unwrap(), runs.iter().max_by(by_cost).unwrap());
    let picks: Vec<&PlannedRun> = if flops_per_step(lo) == flops_per_step(hi) { vec![lo] } else { vec![lo, hi] };
    let scratch = std::env::temp_dir().join(format!("normlab-plan-probe-{}", std::process::id()));
    let t0 = Instant::now();
    let mut probes = Vec::new();
    for r in picks {
        let measured = probe_one(r, exe, threads, &scratch.join(&r.id));
        let _ = std::fs::remove_dir_all(&scratch);
        let s_per_step = measured?;
        let label = format!("{} d={} L={}", r.cfg.arch, r.cfg.model.d_model, r.cfg.model.n_layer);
        probes.push(Probe { label, flops_per_step: flops_per_step(r), s_per_step });
    }
    Ok(Basis::Probed { probes, probe_wall_s: t0.elapsed().as_secs_f64() })
}

fn probe_one(r: &PlannedRun, exe: &Path, threads: usize, dir: &Path) -> Result<f64> {
    let mut cfg = r.cfg.clone();
    (cfg.train.steps, cfg.train.branches) = (PROBE_STEPS, Vec::new());
    (cfg.train.eval_every, cfg.train.checkpoint_every, cfg.train.alignment_every) = (PROBE_STEPS, 0, 0);
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let config = dir.join("probe.toml");
    std::fs::write(&config, cfg.to_toml()).with_context(|| format!("writing {}", config.display()))?;
    let out = Command::new(exe)
        .arg("train")
        .arg(&config)
        .arg("--out")
        .arg(dir.join("run"))
        .arg("--quiet")
        .env("RAYON_NUM_THREADS", threads.max(1).to_string())
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting {}", exe.display()))?;
    let summary = RunDir::new(dir.join("run")).read_summary();
    match summary {
        Some(s) if out.status.success() && s.step_time_s > 0.0 => Ok(s.step_time_s),
        _ => bail!("sweep plan: the probe of run {} failed ({}): {}", r.id, out.status, String::from_utf8_lossy(&out.stderr).trim()),
    }
}

/// The estimate's lines: what it rests on (CPU model, probes or "uncalibrated") and the wall.
pub fn describe(runs: &[PlannedRun], basis: &Basis, jobs: usize, threads: usize, cpu: &str) -> String {
    let secs = run_seconds(runs, basis);
    let (total, wall) = (secs.iter().sum::<f64>(), makespan(&secs, jobs));
    let mut s = String::new();
    match basis {
        Basis::Probed { probes, probe_wall_s } => {
            let each: Vec<String> = probes.iter().map(|p| format!("{} {:.1} ms/step", p.label, 1e3 * p.s_per_step)).collect();
            s.push_str(&format!(
                "calibrated on {cpu} by a {probe_wall_s:.1} s probe ({PROBE_STEPS} steps each, {threads} thread(s), one run at a time): {}\n",
                each.join(", ")
            ));
        }
        Basis::Uncalibrated => s.push_str(&format!(
            "uncalibrated (--no-probe): FLOPs at a fixed {:.0} GFLOP/s per thread (a rate once measured on a 2-core AMD EPYC, Zen 4); this machine: {cpu}\n",
            FLOPS_PER_THREAD / 1e9
        )),
    }
    s.push_str(&format!(
        "estimated {total:.0} s of training ≈ {wall:.0} s ({:.1} min) wall with {jobs} jobs (training steps only; evaluations, checkpoints and jobs sharing memory bandwidth add to it)\n",
        wall / 60.0
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunConfig;

    fn run(d: usize, steps: usize) -> PlannedRun {
        let text = format!("arch = \"gpt\"\n[model]\nd_model = {d}\nn_layer = 2\nn_head = 2\n[train]\nsteps = {steps}\n");
        let cfg = RunConfig::from_toml_str(&text, "t", &[]).unwrap();
        PlannedRun { id: format!("d{d}"), cfg, varying: vec![], cost_s: 0.0 }
    }

    #[test]
    fn step_time_is_interpolated_between_the_probes() {
        let (a, b) = (run(32, 100), run(128, 100));
        let (fa, fb) = (flops_per_step(&a), flops_per_step(&b));
        let probes = vec![
            Probe { label: "a".into(), flops_per_step: fa, s_per_step: 0.004 },
            Probe { label: "b".into(), flops_per_step: fb, s_per_step: 0.030 },
        ];
        let basis = Basis::Probed { probes, probe_wall_s: 1.0 };
        assert!((seconds_per_step(fa, &basis) - 0.004).abs() < 1e-12);
        assert!((seconds_per_step(fb, &basis) - 0.030).abs() < 1e-12);
        assert!((seconds_per_step(0.5 * (fa + fb), &basis) - 0.017).abs() < 1e-12);
        // Steps scale each run: 300 steps of the large model = 9 s.
        let secs = run_seconds(&[run(128, 300), a], &basis);
        assert!((secs[0] - 9.0).abs() < 1e-9 && (secs[1] - 0.4).abs() < 1e-9, "{secs:?}");
        // One probe: proportional to FLOPs.
        let one = Basis::Probed { probes: vec![Probe { label: "a".into(), flops_per_step: fa, s_per_step: 0.004 }], probe_wall_s: 1.0 };
        assert!((seconds_per_step(2.0 * fa, &one) - 0.008).abs() < 1e-12);
        assert!((seconds_per_step(fb, &Basis::Uncalibrated) - fb / FLOPS_PER_THREAD).abs() < 1e-15);
    }

    #[test]
    fn makespan_packs_longest_first_onto_the_jobs() {
        // Longest-first is what the runner does, not the optimum (3+3 | 2+2+2 would end at 6).
        assert_eq!(makespan(&[3.0, 3.0, 2.0, 2.0, 2.0], 2), 7.0);
        assert_eq!(makespan(&[4.0, 3.0, 3.0, 2.0], 2), 6.0);
        assert_eq!(makespan(&[1.0, 9.0, 1.0], 2), 9.0, "one long run bounds the wall");
        assert_eq!(makespan(&[1.0, 2.0, 3.0], 1), 6.0);
        assert_eq!(makespan(&[], 4), 0.0);
    }

    #[test]
    fn the_estimate_names_the_cpu_and_says_when_it_is_uncalibrated() {
        let runs = [run(32, 10_000), run(32, 10_000)];
        let text = describe(&runs, &Basis::Uncalibrated, 2, 1, "Test CPU 9000");
        assert!(text.contains("uncalibrated") && text.contains("Test CPU 9000"), "{text}");
        let probes = vec![Probe { label: "gpt d=32 L=2".into(), flops_per_step: flops_per_step(&runs[0]), s_per_step: 0.006 }];
        let text = describe(&runs, &Basis::Probed { probes, probe_wall_s: 2.5 }, 2, 1, "Test CPU 9000");
        assert!(text.contains("calibrated on Test CPU 9000") && text.contains("6.0 ms/step"), "{text}");
        // Two 60 s runs on two jobs: 120 s of training, 60 s wall.
        assert!(text.contains("estimated 120 s of training ≈ 60 s (1.0 min) wall with 2 jobs"), "{text}");
    }
}
