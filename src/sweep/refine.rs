//! Adaptive η* search (`[refine]` in a sweep file): after the coarse grid, rounds that add LR
//! points (each run at every refine seed) around each group's current η* until its 95%
//! interval is narrower than `target` (hi/lo) or the run budget is spent. Since the interval
//! is never narrower than the measured LRs bracketing η* allow, a round first brackets η* at
//! the target spacing (η*/√target, η*·√target), then adds points around it.
//!
//! Refine runs are ordinary planned runs: the group's config with another LR and seed, so their
//! ids are content hashes like every other run's. A round's LRs depend only on the results
//! already on disk, so an interrupted sweep (even kill -9) rerun recomputes the same rounds,
//! skips the finished runs and resumes the rest; `sweep merge` and `sweep status` read the run
//! directories and see refine runs like any other. The same replay ([`stage`]) lets shards
//! (`--shard i/n`) run every round together and the Slurm driver (`sweep refine-step`) submit
//! each round as one job array.
//!
//! ```toml
//! [refine]
//! target = 1.5      # stop when every group's η* interval hi/lo ≤ 1.5
//! budget = 48       # at most 48 refine runs in all
//! points = 2        # new LRs per group per round
//! seeds = [1, 2, 3] # each new LR runs with these seeds (default: sweep.seeds; ≥ 2 needed)
//! rounds = 3        # at most 3 rounds
//! ```

use super::plan::{FLOPS_PER_THREAD, PlannedRun, run_id, shard, train_flops};
use super::runner::run_dir;
use super::spec::{Refine, round_sig};
use crate::analysis::bootstrap::{DRAWS, Interval, optimum_boot};
use crate::analysis::lr_optimum::Bound;
use crate::record::Status;
use anyhow::{Result, bail};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// One LR-curve group: the runs sharing every setting but LR and seed.
#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    pub template: PlannedRun,
    pub runs: Vec<PlannedRun>,
}

/// Groups of `runs` by config without LR and seed, in plan order.
pub fn groups(runs: &[PlannedRun]) -> Vec<Group> {
    let mut order: Vec<String> = Vec::new();
    let mut by: BTreeMap<String, Group> = BTreeMap::new();
    for r in runs {
        let mut c = r.cfg.clone();
        (c.optim.lr, c.seed) = (0.0, 0);
        let key = run_id(&c);
        let name = r.varying.iter().filter(|(k, _)| k != "optim.lr" && k != "seed").map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>();
        by.entry(key.clone())
            .or_insert_with(|| {
                order.push(key.clone());
                Group { name: if name.is_empty() { "all runs".into() } else { name.join(" ") }, template: r.clone(), runs: Vec::new() }
            })
            .runs
            .push(r.clone());
    }
    order.into_iter().map(|k| by.remove(&k).expect("inserted above")).collect()
}

/// Per seed, (lr, final loss; +∞ diverged) of the group's finished runs.
fn seed_points(g: &Group, out: &Path) -> Vec<Vec<(f64, f64)>> {
    let mut by: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
    for r in &g.runs {
        let Some(s) = run_dir(out, &r.id).read_summary() else { continue };
        let loss = match s.status {
            Status::Done => s.final_val_loss.unwrap_or(f64::NAN),
            Status::Diverged => f64::INFINITY,
            _ => continue,
        };
        by.entry(r.cfg.seed).or_default().push((r.cfg.optim.lr, loss));
    }
    by.into_values().collect()
}

/// Where a group stands after a round.
#[derive(Clone, Debug, PartialEq)]
pub enum State {
    /// Interval hi/lo within the target.
    Met(Interval),
    /// Interval (maybe unavailable) still wider than the target.
    Open(Interval),
    AllDiverged,
    NoData,
}

/// The group's state and the LRs to add next (at most `n`, none already in the grid).
pub fn propose(seeds: &[Vec<(f64, f64)>], target: f64, n: usize) -> (State, Vec<f64>) {
    if seeds.iter().all(|s| s.is_empty()) {
        return (State::NoData, Vec::new());
    }
    let b = optimum_boot(seeds, DRAWS);
    let Some(opt) = &b.opt else { return (State::AllDiverged, Vec::new()) };
    if let Some((lo, hi)) = b.eta.bounds()
        && hi / lo <= target
        && opt.bound == Bound::Interior
    {
        return (State::Met(b.eta), Vec::new());
    }
    let mut lrs: Vec<f64> = seeds.iter().flatten().map(|p| p.0).collect();
    lrs.sort_by(f64::total_cmp);
    lrs.dedup();
    // The local grid step: the smallest ratio between neighbouring LRs around η*.
    let step = lrs.windows(2).map(|w| w[1] / w[0]).filter(|r| *r > 1.0).fold(f64::INFINITY, f64::min);
    let step = if step.is_finite() { step } else { 2.0 };
    let e = opt.eta_star;
    let candidates: Vec<f64> = match opt.bound {
        // Past the edge by half grid steps: a coarse grid's full step would overshoot the
        // optimum as often as it finds it.
        Bound::AtLeast => (1..=n).map(|k| lrs[lrs.len() - 1] * step.powf(0.5 * k as f64)).collect(),
        Bound::AtMost => (1..=n).map(|k| lrs[0] / step.powf(0.5 * k as f64)).collect(),
        Bound::Interior => {
            // First bracket η* by measured LRs at the target spacing (the interval is never
            // narrower than that bracket, lr_optimum's `resolution`), then points around it.
            // No bracket finer than ±5%: runs closer than that differ by seed noise only. A
            // measured LR within 2% of η* brackets it on both sides.
            let half = target.sqrt().max(1.05);
            let below = lrs.iter().rev().find(|&&x| x <= e * 1.02).map_or(f64::INFINITY, |&x| e / x);
            let above = lrs.iter().find(|&&x| x >= e / 1.02).map_or(f64::INFINITY, |&x| x / e);
            let mut bracket = [(below > half * 1.02).then_some(e / half), (above > half * 1.02).then_some(e * half)];
            if above > below {
                bracket.reverse(); // the wider side first
            }
            let around = [-0.5, 0.5, 0.0, -0.25, 0.25, -0.75, 0.75].iter().map(|p| e * step.powf(*p));
            bracket.into_iter().flatten().chain(around).collect()
        }
    };
    let new: Vec<f64> = candidates
        .into_iter()
        .map(|lr| round_sig(lr, 4))
        .filter(|lr| !lrs.iter().any(|x| (lr / x - 1.0).abs() < 0.02))
        .fold(Vec::new(), |mut v, lr| {
            if !v.contains(&lr) {
                v.push(lr);
            }
            v
        })
        .into_iter()
        .take(n)
        .collect();
    (State::Open(b.eta), new)
}

/// The planned run of `g` at (lr, seed): the template with both replaced, id recomputed.
pub fn run_at(g: &Group, lr: f64, seed: u64, sweep_name: &str) -> PlannedRun {
    let mut cfg = g.template.cfg.clone();
    (cfg.optim.lr, cfg.seed) = (lr, seed);
    let id = run_id(&cfg);
    cfg.name = format!("{sweep_name}-{id}");
    let varying = g
        .template
        .varying
        .iter()
        .map(|(k, v)| match k.as_str() {
            "optim.lr" => (k.clone(), toml::Value::Float(lr)),
            "seed" => (k.clone(), toml::Value::Integer(seed as i64)),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    let cost_s = train_flops(&cfg) / FLOPS_PER_THREAD;
    PlannedRun { id, cfg, varying, cost_s }
}

/// What the refine rounds ended with.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub rounds: usize,
    pub added: usize,
    /// (group name, final state).
    pub groups: Vec<(String, String)>,
    pub all_met: bool,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "refine: {} round(s), {} run(s) added", self.rounds, self.added)?;
        for (g, s) in &self.groups {
            writeln!(f, "  {g}: {s}")?;
        }
        if self.all_met {
            write!(f, "refine: every group's η* interval is within the target")
        } else {
            write!(f, "refine: target NOT met for every group within the budget/rounds; the intervals above are the best reached")
        }
    }
}

/// Whether a run has ended for good (done, diverged or failed): an interrupted or unstarted run
/// still belongs to its round.
pub fn finished(out: &Path, run: &PlannedRun) -> bool {
    run_dir(out, &run.id).read_summary().is_some_and(|s| s.status != Status::Interrupted)
}

/// Where the adaptive search stands, replayed from the run directories alone.
#[derive(Clone, Debug)]
pub enum Stage {
    /// Round `round` (0 = the grid) still has unfinished runs; `runs` is the whole round (in
    /// plan order, finished ones included, so a shard of it is the same on every machine).
    Pending { round: usize, runs: Vec<PlannedRun>, budget_left: usize },
    /// Every round has ended; nothing more to plan.
    Finished(Summary),
}

/// Replay the rounds from what is on disk: round k's LRs depend only on the finished runs of
/// the grid and of rounds < k, so every process that calls this (the local runner, each shard,
/// the Slurm driver) plans the same rounds with the same run ids. The first round that still
/// has an unfinished run is returned as pending.
pub fn stage(coarse: &[PlannedRun], r: &Refine, seeds: &[u64], sweep_name: &str, out: &Path) -> Stage {
    if coarse.iter().any(|p| !finished(out, p)) {
        return Stage::Pending { round: 0, runs: coarse.to_vec(), budget_left: r.budget };
    }
    let mut gs = groups(coarse);
    let mut sum = Summary::default();
    let mut budget = r.budget;
    let show = |i: &Interval| i.show(|v| format!("{v:.3e}"));
    for round in 0..=r.rounds {
        let mut todo = Vec::new();
        let (states, proposals): (Vec<State>, Vec<Vec<f64>>) = gs.iter().map(|g| propose(&seed_points(g, out), r.target, r.points)).unzip();
        // The last pass only reports. The budget goes breadth-first: every group's first new LR
        // before any group's second, so a small budget does not starve the groups planned last.
        let depth = if round == r.rounds { 0 } else { proposals.iter().map(Vec::len).max().unwrap_or(0) };
        for k in 0..depth {
            for (g, lrs) in gs.iter_mut().zip(&proposals) {
                let Some(&lr) = lrs.get(k) else { continue };
                if budget < seeds.len() {
                    break;
                }
                budget -= seeds.len();
                for &s in seeds {
                    let run = run_at(g, lr, s, sweep_name);
                    g.runs.push(run.clone());
                    todo.push(run);
                }
            }
        }
        sum.groups = gs
            .iter()
            .zip(&states)
            .map(|(g, s)| {
                let text = match s {
                    State::Met(i) => format!("η* 95% {} (target met)", show(i)),
                    State::Open(i) => format!("η* 95% {} (wider than the target)", show(i)),
                    State::AllDiverged => "every run diverged: no η*, nothing to refine around".into(),
                    State::NoData => "no finished runs".into(),
                };
                (g.name.clone(), text)
            })
            .collect();
        sum.all_met = states.iter().all(|s| matches!(s, State::Met(_)));
        if todo.is_empty() {
            break;
        }
        sum.rounds += 1;
        sum.added += todo.len();
        if todo.iter().any(|p| !finished(out, p)) {
            return Stage::Pending { round: sum.rounds, runs: todo, budget_left: budget };
        }
    }
    Stage::Finished(sum)
}

/// Run the refine rounds after the coarse grid `coarse` (already executed into `out`).
/// `execute` runs a round's runs (skipping finished ones) and returns false when the sweep was
/// interrupted.
pub fn refine(
    coarse: &[PlannedRun],
    r: &Refine,
    seeds: &[u64],
    sweep_name: &str,
    out: &Path,
    mut execute: impl FnMut(&[PlannedRun]) -> Result<bool>,
) -> Result<Summary> {
    let mut last = None;
    loop {
        match stage(coarse, r, seeds, sweep_name, out) {
            Stage::Finished(sum) => return Ok(sum),
            Stage::Pending { round, runs, budget_left } => {
                if last == Some(round) {
                    let left = runs.iter().filter(|p| !finished(out, p)).map(|p| p.id.as_str()).collect::<Vec<_>>();
                    bail!("refine round {round}: run(s) {} did not finish although the round was executed", left.join(", "));
                }
                last = Some(round);
                if round > 0 {
                    eprintln!("refine round {round}: {} new run(s) around the current η* ({budget_left} of the budget left)", runs.len());
                }
                if !execute(&runs)? {
                    bail!("refine interrupted in round {round}; rerun the sweep to resume (finished runs are kept)");
                }
            }
        }
    }
}

/// The refine rounds as shard `i` of `n` (`sweep --shard i/n` on machines sharing `out`): each
/// round is planned by [`stage`] from every shard's finished runs, this shard runs its
/// cost-balanced share ([`plan::shard`] of the whole round, so the shares partition it), then
/// waits until the other shards have finished theirs. `execute` is as for [`refine`]; a stop
/// (SIGINT/SIGTERM, `stop`) while waiting ends with an error saying how to resume.
pub fn refine_shard(
    coarse: &[PlannedRun],
    r: &Refine,
    seeds: &[u64],
    sweep_name: &str,
    out: &Path,
    (i, n, stop): (usize, usize, &AtomicBool),
    mut execute: impl FnMut(&[PlannedRun]) -> Result<bool>,
) -> Result<Summary> {
    loop {
        let (round, runs) = match stage(coarse, r, seeds, sweep_name, out) {
            Stage::Finished(sum) => return Ok(sum),
            Stage::Pending { round, runs, .. } => (round, runs),
        };
        let mine = shard(&runs, i, n);
        if round > 0 {
            eprintln!("refine round {round}: {} run(s), {} in shard {i}/{n}", runs.len(), mine.len());
        }
        if !execute(&mine)? {
            bail!("refine interrupted in round {round}; rerun the same command to resume (finished runs are kept)");
        }
        let mut said = false;
        while runs.iter().any(|p| !finished(out, p)) {
            if stop.load(Ordering::SeqCst) {
                bail!("stopped while round {round} waited for the other shards' runs; rerun the same command to resume");
            }
            if !said {
                let left = runs.iter().filter(|p| !finished(out, p)).count();
                eprintln!(
                    "round {round}: waiting for {left} run(s) of the other shards in {} (start every shard i/{n} on this directory; Ctrl-C and rerun to resume)",
                    out.display()
                );
                said = true;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }
}

/// The `sweep plan` line for a refine table: its worst case on top of the coarse grid.
pub fn plan_note(coarse: &[PlannedRun], r: &Refine, seeds: &[u64], jobs: usize, basis: &super::estimate::Basis) -> String {
    let groups = groups(coarse).len();
    let per_round = groups * r.points * seeds.len();
    let max_runs = r.budget.min(per_round * r.rounds);
    // Refine runs are the groups' configs at other LRs and seeds: cost them as the mean grid run.
    let secs = super::estimate::run_seconds(coarse, basis);
    let coarse_cpu: f64 = secs.iter().sum();
    let cpu = max_runs as f64 * coarse_cpu / coarse.len().max(1) as f64;
    let how = if matches!(basis, super::estimate::Basis::Uncalibrated) { "uncalibrated" } else { "calibrated as above" };
    format!(
        "refine: ≤ {max_runs} more runs (budget {}, ≤ {} rounds × {groups} groups × {} LRs × {} seeds = {per_round} per round), \
         ≈ {cpu:.0} s of training; worst case in all {} runs, {:.0} s ≈ {:.1} min wall with {jobs} jobs ({how}; target η* interval hi/lo ≤ {})\n",
        r.budget,
        r.rounds,
        r.points,
        seeds.len(),
        coarse.len() + max_runs,
        coarse_cpu + cpu,
        (coarse_cpu + cpu) / jobs.max(1) as f64 / 60.0,
        r.target
    )
}
