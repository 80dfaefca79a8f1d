//! `[refine]` beyond the local runner: the Slurm driver's step on a directory of finished
//! (fake) runs, `--round K` refusing a round that cannot be planned yet, and `--shard i/n`
//! shards running every round together and ending equal to the unsharded sweep.

mod common;
use normlab::record::{RunDir, Status, Summary};
use normlab::sweep::refine::{Stage, stage};
use normlab::sweep::{merge, plan, plan::PlannedRun, spec::Sweep};
use std::path::{Path, PathBuf};
use std::process::Command;

fn normlab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_normlab")).args(args).current_dir(common::root()).output().unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

const BASE: &str = "[base]\narch = \"gpt\"\nmodel = { d_model = 32, n_layer = 2, n_head = 2 }\n\
    data = { path = \"data/kjv.txt\", seq_len = 32, batch_size = 8 }\n\
    optim = { warmup_steps = 10 }\ntrain = { steps = 60, eval_every = 20, checkpoint_every = 20 }\n";

/// A finished run as `train` leaves it, with a chosen final loss: a parabola in ln LR whose
/// minimum is 6e-3 for seed 2 and moves by a factor e^±0.3 for seeds 1 and 3 (seed noise, so the
/// 3-seed interval stays wider than the target).
fn fake_done(out: &Path, r: &PlannedRun) {
    let x = (r.cfg.optim.lr / 6e-3).ln() - 0.3 * (r.cfg.seed as f64 - 2.0);
    let loss = 2.0 + 0.2 * x * x + 0.004 * r.cfg.seed as f64;
    let dir = RunDir::new(out.join("runs").join(&r.id));
    std::fs::create_dir_all(&dir.root).unwrap();
    let s = Summary {
        status: Status::Done,
        final_val_loss: Some(loss),
        best_val_loss: Some(loss),
        final_train_loss: Some(loss),
        steps: r.cfg.train.steps,
        tokens: 0,
        tokens_per_s: 1.0,
        step_time_s: 0.01,
        wall_s: 1.0,
        diverged: false,
        diverged_at: None,
        seed: r.cfg.seed,
        n_params: 1,
        flops_per_step: None,
        vocab_size: None,
        normlab_version: "test".into(),
        backend: "flex".into(),
        threads: 1,
        flush_denormals: Some(false),
        final_diagnostics: Default::default(),
        error: None,
        config_hash: None,
        warnings: Vec::new(),
        provenance: None,
        branches: Vec::new(),
    };
    dir.write_summary(&s).unwrap();
    std::fs::write(dir.config(), r.cfg.to_toml()).unwrap();
}

fn pending(s: &Sweep, out: &Path) -> (usize, Vec<PlannedRun>) {
    let all = plan::plan(s).unwrap();
    let t = s.file.refine.as_ref().unwrap();
    let seeds = t.validate("test", &s.file.sweep.seeds).unwrap();
    match stage(&all, t, &seeds, s.name(), out) {
        Stage::Pending { round, runs, .. } => (round, runs),
        Stage::Finished(sum) => panic!("expected a pending round, got {sum}"),
    }
}

/// The ids and (lr, seed) of `<out>/slurm/round-K.ids`.
fn ids_file(out: &Path, k: usize) -> Vec<String> {
    std::fs::read_to_string(out.join("slurm").join(format!("round-{k}.ids")))
        .unwrap()
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

#[test]
fn driver_step_on_finished_fake_runs_writes_the_round_the_local_runner_plans_next() {
    let dir = common::tmpdir("refine-driver");
    let file = dir.join("s.toml");
    std::fs::write(
        &file,
        format!(
            "[sweep]\nname = \"drv\"\nseeds = [1, 2, 3]\n{BASE}[grid]\noptim.lr = [1e-3, 4e-3, 1.6e-2, 6.4e-2]\n\
             [refine]\ntarget = 1.01\nbudget = 12\npoints = 2\nrounds = 3\n"
        ),
    )
    .unwrap();
    let out = dir.join("out");
    let (f, o) = (file.to_str().unwrap(), out.to_str().unwrap());
    let s = Sweep::load(&file, &[]).unwrap();
    let grid = plan::plan(&s).unwrap();
    let step = || normlab(&["sweep", "refine-step", f, "--out", o, "--array-size", "4", "--dry-run"]);

    // Nothing finished: the pending round is the grid, as one array of 4 tasks over 12 runs.
    let r = step();
    assert!(r.status.success() && text(&r).contains("round 0: 12 run(s) as an array of 4 task(s)"), "{}", text(&r));
    let sb = std::fs::read_to_string(out.join("slurm/round-0.sbatch")).unwrap();
    assert!(sb.contains("#SBATCH --array=0-3") && sb.contains("--shard auto") && sb.contains("--round 0"), "{sb}");
    assert_eq!(ids_file(&out, 0), grid.iter().map(|p| p.id.clone()).collect::<Vec<_>>());

    // The grid finished except one run: still round 0 (never planned from a partial grid).
    for p in &grid[1..] {
        fake_done(&out, p);
    }
    assert_eq!(pending(&s, &out).0, 0);
    fake_done(&out, &grid[0]);

    // Whole grid finished: round 1 = 2 new LRs around η* ≈ 6e-3, each at the 3 seeds.
    let r = step();
    assert!(r.status.success() && text(&r).contains("round 1: 6 run(s) as an array of 4 task(s)"), "{}", text(&r));
    let (k, round1) = pending(&s, &out);
    assert_eq!(k, 1);
    assert_eq!(ids_file(&out, 1), round1.iter().map(|p| p.id.clone()).collect::<Vec<_>>());
    let mut lrs: Vec<f64> = round1.iter().map(|p| p.cfg.optim.lr).collect();
    lrs.dedup();
    assert_eq!(lrs.len(), 2, "{lrs:?}");
    assert!(lrs.iter().all(|l| (2e-3..1.6e-2).contains(l) && ![4e-3, 1.6e-2].contains(l)), "new LRs bracket η* = 6e-3 inside the grid: {lrs:?}");
    assert_eq!(round1.iter().map(|p| p.cfg.seed).collect::<Vec<_>>(), vec![1, 2, 3, 1, 2, 3]);
    assert!(round1.iter().all(|p| !grid.iter().any(|g| g.id == p.id)));
    let sb = std::fs::read_to_string(out.join("slurm/round-1.sbatch")).unwrap();
    assert!(sb.contains("#SBATCH --array=0-3") && sb.contains("--round 1") && sb.contains("--job-name=normlab-round1"), "{sb}");
    let drv = std::fs::read_to_string(out.join("slurm/driver.sbatch")).unwrap();
    assert!(drv.contains("sweep refine-step") && drv.contains("--array-size 4") && drv.contains("--cpus-per-task 1"), "{drv}");

    // The driver resubmits an unfinished round once; after two arrays of it (rounds.tsv) it
    // stops, naming the runs and the command that resumes, and that command (a person's
    // `sweep submit`) still submits the round.
    let tsv = out.join("slurm/rounds.tsv");
    std::fs::write(&tsv, "0\t10\t11\t12\t4\n1\t12\t13\t6\t4\n1\t14\t15\t6\t4\n").unwrap();
    let r = step();
    let t = text(&r);
    assert!(!r.status.success() && t.contains("round 1: 2 arrays ran and 6 run(s) are still unfinished") && t.contains(&round1[0].id), "{t}");
    assert!(t.contains("sweep submit") && t.contains("resumes from here"), "{t}");
    let r = normlab(&["sweep", "submit", f, "--slurm", "--out", o, "--array-size", "4", "--dry-run"]);
    assert!(r.status.success() && text(&r).contains("round 1: 6 run(s) as an array of 4 task(s)"), "{}", text(&r));
    std::fs::remove_file(&tsv).unwrap();

    // An array task of round 2 before round 1 has finished is refused, naming the round.
    let r = normlab(&["sweep", "run", f, "--out", o, "--shard", "0/4", "--round", "2", "--quiet"]);
    assert!(!r.status.success() && text(&r).contains("round 1 still has 6 unfinished run(s)"), "{}", text(&r));

    // Round 1 finished: round 2 spends the last 6 of the budget; then the driver finishes.
    for p in &round1 {
        fake_done(&out, p);
    }
    let r = step();
    assert!(text(&r).contains("round 2: 6 run(s)"), "{}", text(&r));
    let (k, round2) = pending(&s, &out);
    assert_eq!(k, 2);
    assert!(round2.iter().all(|p| !round1.iter().any(|q| q.id == p.id)));
    for p in &round2 {
        fake_done(&out, p);
    }
    let r = step();
    let t = text(&r);
    assert!(r.status.success() && t.contains("refine: 2 round(s), 12 run(s) added") && t.contains("target NOT met"), "{t}");
    // A late array task of a finished round has nothing to do.
    let r = normlab(&["sweep", "run", f, "--out", o, "--shard", "1/4", "--round", "1", "--quiet"]);
    assert!(r.status.success() && text(&r).contains("round 1 has no unfinished run; nothing to do"), "{}", text(&r));
}

fn final_losses(dir: &Path) -> Vec<(String, Option<u64>)> {
    merge::run_dirs(dir).into_iter().map(|(id, d)| (id, d.read_summary().and_then(|s| s.final_val_loss).map(f64::to_bits))).collect()
}

#[test]
fn shards_run_every_refine_round_together_and_end_equal_to_the_unsharded_sweep() {
    let dir = common::tmpdir("refine-shards");
    let file: PathBuf = dir.join("s.toml");
    std::fs::write(
        &file,
        format!("[sweep]\nname = \"sh\"\nseeds = [1, 2]\n{BASE}[grid]\noptim.lr = [4e-3, 1.6e-2, 6.4e-2]\n[refine]\ntarget = 1.01\nbudget = 4\npoints = 1\nrounds = 2\n"),
    )
    .unwrap();
    let (a, b) = (dir.join("sharded"), dir.join("local"));
    let f = file.to_str().unwrap().to_string();
    let shard = |i: usize| {
        Command::new(env!("CARGO_BIN_EXE_normlab"))
            .args(["sweep", &f, "--out", a.to_str().unwrap(), "--shard", &format!("{i}/2"), "--jobs", "1", "--quiet"])
            .current_dir(common::root())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (s0, s1) = (shard(0), shard(1));
    let (o0, o1) = (s0.wait_with_output().unwrap(), s1.wait_with_output().unwrap());
    assert!(o0.status.success() && o1.status.success(), "{}\n{}", text(&o0), text(&o1));
    // Both shards trained part of a refine round, and both saw the rounds end the same way.
    for o in [&o0, &o1] {
        let t = text(o);
        assert!(t.contains("refine round 1: 2 run(s), 1 in shard") && t.contains("refine: 2 round(s), 4 run(s) added"), "{t}");
    }
    let o = normlab(&["sweep", &f, "--out", b.to_str().unwrap(), "--jobs", "1", "--quiet"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("refine: 2 round(s), 4 run(s) added"), "{}", text(&o));
    assert_eq!(final_losses(&a), final_losses(&b));
    assert_eq!(final_losses(&a).len(), 10);
}
