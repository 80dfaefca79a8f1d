//! The sweep engine through the real CLI: expansion, bad files, divergence as a data point,
//! SIGKILL in the middle of a run followed by an exact resume, sharding.

mod common;
use normlab::record::{Metrics, RunDir, Status};
use normlab::sweep::{merge, plan, spec::Sweep};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_normlab"))
}

fn normlab(args: &[&str]) -> std::process::Output {
    Command::new(exe()).args(args).current_dir(common::root()).output().unwrap()
}

fn write_sweep(tag: &str, body: &str) -> PathBuf {
    let p = common::tmpdir(tag).join("s.toml");
    std::fs::write(&p, body).unwrap();
    p
}

const TINY_BASE: &str = "[base]\narch = \"gpt\"\nmodel = { d_model = 32, n_layer = 2, n_head = 2 }\n\
    data = { path = \"data/kjv.txt\", seq_len = 32, batch_size = 8 }\n\
    optim = { warmup_steps = 10 }\ntrain = { steps = 60, eval_every = 20, checkpoint_every = 20 }\n";

#[test]
fn grid_zip_seeds_and_when_expand_as_documented() {
    let p = write_sweep(
        "expand",
        &format!(
            "[sweep]\nname = \"x\"\nseeds = [1, 2]\n{TINY_BASE}[grid]\narch = [\"gpt\", \"ngpt\"]\n\
             optim.lr = {{ log = [1e-4, 1e-2], n = 3 }}\n[[zip]]\nmodel.d_model = [32, 64]\nmodel.n_head = [2, 4]\n\
             [[when]]\nmatch = {{ arch = \"ngpt\" }}\nset = {{ optim.weight_decay = 0.0, optim.warmup_steps = 0 }}\n"
        ),
    );
    let s = Sweep::load(&p, &[]).unwrap();
    let runs = plan::plan(&s).unwrap();
    assert_eq!(runs.len(), 2 * 3 * 2 * 2);
    let lrs: Vec<f64> = runs.iter().map(|r| r.cfg.optim.lr).collect();
    assert!(lrs.contains(&1e-4) && lrs.contains(&1e-3) && lrs.contains(&1e-2), "{lrs:?}");
    for r in &runs {
        assert_eq!(r.cfg.model.d_model / r.cfg.model.n_head, 16, "zip keeps d_head");
        let ngpt = r.cfg.arch == normlab::config::ArchName::Ngpt;
        assert_eq!(r.cfg.optim.weight_decay == 0.0, ngpt);
        assert_eq!(r.cfg.optim.warmup_steps == 0, ngpt);
    }
    // Run ids are content hashes: same point → same id, regardless of the sweep's name.
    let p2 = write_sweep("expand2", &std::fs::read_to_string(&p).unwrap().replace("name = \"x\"", "name = \"y\""));
    let ids2: Vec<String> = plan::plan(&Sweep::load(&p2, &[]).unwrap()).unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(runs.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), ids2);
    // Shards partition the plan.
    let mut all: Vec<String> = (0..3).flat_map(|i| plan::shard(&runs, i, 3)).map(|r| r.id).collect();
    all.sort();
    let mut want: Vec<String> = runs.iter().map(|r| r.id.clone()).collect();
    want.sort();
    assert_eq!(all, want);
}

#[test]
fn bad_sweep_files_give_located_errors() {
    let cases: [(&str, &str, &[&str]); 4] = [
        ("unknown", "[sweep]\nname = \"x\"\ncolour = 1\n", &["s.toml", "colour", "unknown field"]),
        ("empty", "[sweep]\nname = \"x\"\n[base]\narch = \"gpt\"\n[grid]\noptim.lr = []\n", &["s.toml", "grid.optim.lr", "empty axis"]),
        (
            "zip",
            "[sweep]\nname = \"x\"\n[base]\narch = \"gpt\"\n[[zip]]\nmodel.d_model = [32, 64]\nmodel.n_head = [2]\n",
            &["s.toml", "zip", "equal lengths", "model.d_model has 2", "model.n_head has 1"],
        ),
        ("badrun", "[sweep]\nname = \"x\"\n[base]\narch = \"gpt\"\n[grid]\nmodel.n_head = [3]\n", &["s.toml", "model.n_head=3", "divide d_model"]),
    ];
    for (tag, body, needles) in cases {
        let p = write_sweep(tag, body);
        let out = normlab(&["sweep", "plan", p.to_str().unwrap()]);
        assert!(!out.status.success(), "{tag} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        for n in needles {
            assert!(err.contains(n), "{tag}: `{n}` missing from: {err}");
        }
    }
    let out = normlab(&["sweep", "sweeps/smoke.toml", "--shard", "3/2", "--dry-run"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--shard 3/2") && err.contains("out of range"), "{err}");
    let out = Command::new(exe())
        .args(["sweep", "sweeps/smoke.toml", "--shard", "auto", "--dry-run"])
        .env_remove("SLURM_ARRAY_TASK_ID")
        .current_dir(common::root())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("SLURM_ARRAY_TASK_ID"));
}

#[test]
fn absurd_lr_run_is_recorded_as_diverged_and_the_sweep_finishes() {
    let p = write_sweep(
        "diverge",
        &format!(
            "[sweep]\nname = \"d\"\n{TINY_BASE}[grid]\noptim.lr = [3e-3, 1e3]\n[[when]]\nmatch = {{ optim.lr = 1e3 }}\nset = {{ optim.grad_clip = 0.0, optim.warmup_steps = 0, train.diverge_loss = 6.0 }}\n"
        ),
    );
    let out_dir = p.parent().unwrap().join("out");
    let out = normlab(&["sweep", p.to_str().unwrap(), "--out", out_dir.to_str().unwrap(), "--quiet"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let df = merge::read_results(&out_dir).unwrap();
    let status: Vec<&str> = df.column("status").unwrap().str().unwrap().iter().flatten().collect();
    assert_eq!(status.iter().filter(|s| **s == "done").count(), 1, "{status:?}");
    assert_eq!(status.iter().filter(|s| **s == "diverged").count(), 1, "{status:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 done, 1 diverged"), "{stdout}");

    // --restart-diverged must not delete a run directory a live process holds: a real second
    // process (flock(1) on the run's lock file, as `normlab train` takes it) holds the diverged run.
    let diverged = merge::run_dirs(&out_dir).into_iter().find(|(_, d)| d.read_summary().unwrap().status == Status::Diverged).unwrap().1;
    // sh opens the lock file, flock(1) locks it, and the shell becomes `sleep`: one process holds
    // the lock and killing it releases it.
    let mut holder = Command::new("sh")
        .args(["-c", "exec 9>>\"$0\" && flock 9 && exec sleep 60"])
        .arg(diverged.root.join(".lock"))
        .spawn()
        .expect("sh + flock(1) from util-linux");
    assert!(common::wait_for(|| normlab::record::lock::RunLock::is_held(&diverged.root), 10), "the second process never took the lock");
    let restart = || normlab(&["sweep", p.to_str().unwrap(), "--out", out_dir.to_str().unwrap(), "--quiet", "--restart-diverged"]);
    let out = restart();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "deleted a held run: {err}");
    assert!(err.contains("--restart-diverged") && err.contains(&*diverged.root.to_string_lossy()) && err.contains("another process"), "{err}");
    assert_eq!(diverged.read_summary().map(|s| s.status), Some(Status::Diverged), "the held run's records were touched");
    holder.kill().unwrap();
    holder.wait().unwrap();
    // Released: the restart goes ahead (and diverges again).
    let out = restart();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 done, 1 diverged"), "{}", String::from_utf8_lossy(&out.stdout));
}

/// At a sweep's tail the free cores go to the runs left: a lone run on 2 jobs trains with 2
/// threads, two runs on 2 jobs with 1 each.
#[test]
fn a_lone_run_gets_the_free_cores() {
    if normlab::sweep::utilization::machine_cpus() < 2 {
        eprintln!("skipped: needs 2 CPUs");
        return;
    }
    for (lrs, want) in [("[3e-3]", vec![2]), ("[3e-3, 4e-3]", vec![1, 1])] {
        let p = write_sweep("tail", &format!("[sweep]\nname = \"t\"\n{}[grid]\noptim.lr = {lrs}\n", TINY_BASE.replace("steps = 60", "steps = 20")));
        let out_dir = p.parent().unwrap().join("out");
        let out = normlab(&["sweep", p.to_str().unwrap(), "--out", out_dir.to_str().unwrap(), "--quiet", "--jobs", "2"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let threads: Vec<usize> = merge::run_dirs(&out_dir).into_iter().map(|(_, d)| d.read_summary().unwrap().threads).collect();
        assert_eq!(threads, want, "{lrs}");
    }
}

/// `sweep plan` probes this machine (a few real training steps) and names its CPU, or says the
/// estimate is uncalibrated with --no-probe.
#[test]
fn plan_calibrates_on_this_machine_or_says_uncalibrated() {
    let p = write_sweep("plan", &format!("[sweep]\nname = \"p\"\n{TINY_BASE}[grid]\nmodel.d_model = [32, 64]\n"));
    let cpu = normlab::record::provenance::cpu_model();
    let out = normlab(&["sweep", "plan", p.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(&format!("calibrated on {cpu}")) && !text.contains("uncalibrated"), "{text}");
    assert!(text.contains("gpt d=32 L=2") && text.contains("gpt d=64 L=2") && text.contains("ms/step"), "both models probed: {text}");
    let out = normlab(&["sweep", "plan", p.to_str().unwrap(), "--no-probe"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("uncalibrated") && text.contains(&cpu) && text.contains("min) wall with"), "{text}");
}

fn final_losses(out: &Path) -> Vec<(String, f64)> {
    merge::run_dirs(out).into_iter().map(|(id, d)| (id, d.read_summary().unwrap().final_val_loss.unwrap())).collect()
}

/// SIGKILL the sweep in the middle of a run, rerun it: every run completes, none restarts
/// from scratch, no file is corrupt, and the resumed curve equals an uninterrupted one.
#[test]
fn sigkill_mid_run_then_rerun_resumes_exactly() {
    let k = common::sigkill_sweep_then_rerun("kill", 600, 50, &[]);
    let out_dir = k.out_dir;
    let a = Metrics::read(&k.run.metrics()).unwrap();
    let b = Metrics::read(&k.straight.metrics()).unwrap();
    let bits = |m: &Metrics| m.train_loss.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a), bits(&b), "resumed loss curve differs from the uninterrupted one");
    let resumed = k.run.read_summary().unwrap().final_val_loss.unwrap();
    let straight = k.straight.read_summary().unwrap().final_val_loss.unwrap();
    assert_eq!(resumed, straight);
    // Merge is idempotent.
    let m1 = merge::merge(&out_dir).unwrap();
    let m2 = merge::merge(&out_dir).unwrap();
    assert!(m1.equals_missing(&m2));
    assert_eq!(final_losses(&out_dir).len(), 2);
}

#[test]
fn shards_together_equal_one_local_run() {
    let p = write_sweep("shards", &format!("[sweep]\nname = \"s\"\n{TINY_BASE}[grid]\noptim.lr = [1e-3, 2e-3, 4e-3]\n"));
    let dir = p.parent().unwrap();
    let (a, b) = (dir.join("sharded"), dir.join("local"));
    for i in 0..2 {
        let o = normlab(&["sweep", p.to_str().unwrap(), "--out", a.to_str().unwrap(), "--shard", &format!("{i}/2"), "--quiet"]);
        assert!(o.status.success());
    }
    let o = normlab(&["sweep", p.to_str().unwrap(), "--out", b.to_str().unwrap(), "--jobs", "1", "--quiet"]);
    assert!(o.status.success());
    assert_eq!(final_losses(&a), final_losses(&b));
}

#[test]
fn refine_adds_lrs_around_eta_star_within_its_budget_and_resumes_with_the_same_ids() {
    // 4 coarse LRs × 2 seeds (η* of this 60-step model lies inside); a target no 2-seed interval can meet, so the budget (2 new LRs
    // × 2 seeds) is spent in round 1 and the sweep ends saying the target was not met.
    let body = format!(
        "[sweep]\nname = \"r\"\nseeds = [1, 2]\n{TINY_BASE}[grid]\noptim.lr = [4e-3, 1.6e-2, 6.4e-2, 0.256]\n\
         [refine]\ntarget = 1.0001\nbudget = 5\npoints = 2\nrounds = 2\n"
    );
    let p = write_sweep("refine", &body);
    let out_dir = p.parent().unwrap().join("out");
    let plan_out = normlab(&["sweep", "plan", p.to_str().unwrap(), "--jobs", "2", "--no-probe"]);
    let plan_text = String::from_utf8_lossy(&plan_out.stdout);
    assert!(plan_text.contains("8 runs") && plan_text.contains("refine: ≤ 5 more runs"), "{plan_text}");
    let run = || normlab(&["sweep", p.to_str().unwrap(), "--out", out_dir.to_str().unwrap(), "--quiet"]);
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("refine: 1 round(s), 4 run(s) added") && stdout.contains("target NOT met"), "{stdout}");
    assert!(stdout.contains("η* 95%") && stdout.contains("(wider than the target)"), "{stdout}");
    let ids: Vec<String> = merge::run_dirs(&out_dir).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 12);
    // The new LRs sit between grid points around η*, each at both seeds.
    let df = merge::read_results(&out_dir).unwrap();
    let lrs: Vec<f64> = df.column("cfg.optim.lr").unwrap().f64().unwrap().iter().flatten().collect();
    let new: Vec<f64> = lrs.iter().cloned().filter(|l| ![4e-3, 1.6e-2, 6.4e-2, 0.256].contains(l)).collect();
    assert_eq!(new.len(), 4, "{lrs:?}");
    assert!(new.iter().all(|l| (4e-3..=0.256).contains(l)), "between the grid's ends: {new:?}");
    // Rerun: the same rounds from the same results, so the same ids, nothing new trained.
    let out = run();
    let stdout2 = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout2.contains("refine: 1 round(s), 4 run(s) added") && stdout2.contains("0 done"), "{stdout2}");
    let ids2: Vec<String> = merge::run_dirs(&out_dir).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ids2);
    // Fewer than 2 seeds can never give an interval: refused up front, naming the field.
    let p1 = write_sweep("refine1", &body.replace("seeds = [1, 2]", "seeds = [1]"));
    let out = normlab(&["sweep", "plan", p1.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("refine.seeds") && err.contains("≥ 2 seeds"), "{err}");
}

#[test]
fn refine_names_a_group_whose_every_run_diverged_and_proposes_nothing_for_it() {
    use normlab::sweep::refine::{State, propose};
    let diverged = vec![vec![(1e-3, f64::INFINITY), (2e-3, f64::INFINITY)]; 2];
    assert_eq!(propose(&diverged, 1.5, 2), (State::AllDiverged, vec![]));
    // Still falling at the grid's top: extend the grid upwards by half its own step (2× here),
    // so the optimum past the edge is bracketed rather than overshot.
    let rising: Vec<Vec<(f64, f64)>> = (0..2).map(|s| vec![(1e-3, 2.0 + 0.01 * s as f64), (2e-3, 1.9), (4e-3, 1.8)]).collect();
    let (state, lrs) = propose(&rising, 1.5, 2);
    assert!(matches!(state, State::Open(_)), "{state:?}");
    assert_eq!(lrs, vec![5.657e-3, 8e-3]);
}

/// A WSD sweep with cool-down branches, end to end: each trunk's branches become rows of
/// `results.parquet` at their own budget (losses as the trunk recorded them, `branch_of` naming
/// the trunk), and the report derives a speedup at every budget from them.
#[test]
fn wsd_branches_become_budget_rows_and_the_speedup_reads_them() {
    let body = "[sweep]\nname = \"w\"\nseeds = [1, 2]\n[base]\nmodel = { d_model = 32, n_layer = 1, n_head = 2 }\n\
        data = { path = \"data/kjv.txt\", seq_len = 32, batch_size = 8 }\n\
        optim = { lr = 4e-3, warmup_steps = 5, schedule = \"wsd\" }\n\
        train = { steps = 60, branches = [15, 30], eval_every = 20, checkpoint_every = 0 }\n\
        [grid]\narch = [\"gpt\", \"ngpt\"]\n[[when]]\nmatch = { arch = \"ngpt\" }\nset = { optim.warmup_steps = 0, optim.weight_decay = 0.0 }\n";
    let p = write_sweep("wsd", body);
    let out = p.parent().unwrap().join("out");
    let o = normlab(&["sweep", p.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let trunks: BTreeMap<String, normlab::record::Summary> =
        merge::run_dirs(&out).into_iter().map(|(id, d)| (id, d.read_summary().unwrap())).collect();
    assert_eq!(trunks.len(), 4);
    let df = merge::read_results(&out).unwrap();
    assert_eq!(df.height(), 4 * 3, "4 trunks + 2 branches each");
    let col = |n: &str| df.column(n).unwrap().clone();
    let (ids, of, steps, loss) = (col("run_id"), col("branch_of"), col("cfg.train.steps"), col("final_val_loss"));
    let (ids, of, steps, loss) = (ids.str().unwrap(), of.str().unwrap(), steps.i64().unwrap(), loss.f64().unwrap());
    for i in 0..df.height() {
        let (id, st, l) = (ids.get(i).unwrap(), steps.get(i).unwrap() as usize, loss.get(i).unwrap());
        match of.get(i) {
            None => assert_eq!((st, Some(l)), (60, trunks[id].final_val_loss)),
            Some(parent) => {
                assert_eq!(id, format!("{parent}@{st}"));
                let b = trunks[parent].branches.iter().find(|b| b.steps == st).unwrap();
                assert_eq!(Some(l), b.final_val_loss);
            }
        }
    }
    let a = normlab::report::Analysis::load(&out).unwrap();
    let mut budgets: Vec<f64> = a.speedups.iter().map(|s| s.s.budget_ref).collect();
    budgets.dedup();
    assert_eq!(budgets, [15.0, 30.0, 60.0], "{:?}", a.speedups);
    assert!(a.speedups.iter().all(|s| s.seeds == (2, 2)), "{:?}", a.speedups);
}

/// Rewrite a finished run's recorded build, as if another binary had trained it.
fn fake_build(dir: &Path, commit: &str) {
    let path = dir.join("summary.json");
    let mut s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    s["provenance"]["git_commit"] = commit.into();
    s["provenance"]["git_dirty"] = true.into();
    std::fs::write(&path, serde_json::to_string_pretty(&s).unwrap()).unwrap();
    // Re-seal it, or the run would read as damaged (and be redone for that reason).
    use normlab::record::durable::{Manifest, entry_of};
    let mut m = Manifest::read(dir).unwrap().expect("a finished run has a manifest");
    m.files.insert("summary.json".into(), entry_of(&path).unwrap());
    m.write(dir).unwrap();
}

#[test]
fn runs_of_another_build_are_flagged_everywhere_and_rerun_other_builds_retrains_them_keeping_the_old() {
    let p = write_sweep("builds", &format!("[sweep]\nname = \"b\"\n{TINY_BASE}[grid]\noptim.lr = [1e-3, 3e-3, 1e-2]\n"));
    let out = p.parent().unwrap().join("out");
    let (file, outs) = (p.to_str().unwrap(), out.to_str().unwrap());
    let o = normlab(&["sweep", file, "--out", outs, "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let before = final_losses(&out);
    let runs = merge::run_dirs(&out);
    let (old_id, old_dir) = &runs[1];
    fake_build(&old_dir.root, "feedfacefeedfacefeedfacefeedfacefeedface");
    let current = normlab::record::provenance::Build::current().to_string();
    let want = format!("2 builds ({current}: 2 runs, feedfac+dirty: 1 run)");

    let text = |o: &std::process::Output| format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let status = normlab(&["sweep", "status", outs]);
    assert!(text(&status).contains(&want), "sweep status: {}", text(&status));
    let merged = normlab(&["sweep", "merge", outs]);
    assert!(merged.status.success() && text(&merged).contains(&want), "sweep merge: {}", text(&merged));
    let report = normlab(&["report", outs]);
    assert!(report.status.success() && text(&report).contains(&want), "report: {}", text(&report));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("id=\"mixed-builds\""));
    assert!(std::fs::read_to_string(out.join("report.md")).unwrap().contains("**Mixed builds:**"));

    // Resuming warns and trains nothing; one shard may not move runs.
    let resumed = normlab(&["sweep", file, "--out", outs, "--quiet"]);
    assert!(
        text(&resumed).contains(&format!("1 finished run(s) in {outs} come from another build than this binary ({current})")),
        "{}",
        text(&resumed)
    );
    assert!(text(&resumed).contains("0 done, 0 diverged, 0 failed, 0 interrupted, 3 already finished"), "{}", text(&resumed));
    let shard = normlab(&["sweep", file, "--out", outs, "--shard", "0/2", "--rerun-other-builds"]);
    assert!(!shard.status.success() && text(&shard).contains("without --shard/--round"), "{}", text(&shard));
    assert!(old_dir.root.join("summary.json").exists(), "a refused move moves nothing");

    // --rerun-other-builds: the old run is kept aside, retrained by this binary, and the
    // sweep is one build again (its loss is the same: the "other" build was this one).
    let rerun = normlab(&["sweep", file, "--out", outs, "--quiet", "--rerun-other-builds"]);
    assert!(rerun.status.success(), "{}", text(&rerun));
    assert!(text(&rerun).contains("moved 1 run(s) of other builds (feedfac+dirty: 1)"), "{}", text(&rerun));
    assert!(text(&rerun).contains("1 done, 0 diverged, 0 failed, 0 interrupted, 2 already finished"), "{}", text(&rerun));
    let kept = out.join("other-builds").join("feedfac+dirty").join(old_id).join("summary.json");
    assert!(std::fs::read_to_string(&kept).unwrap().contains("feedfacefeedface"), "the old run is kept under other-builds/");
    let retrained = RunDir::new(out.join("runs").join(old_id)).read_summary().unwrap();
    assert_eq!(retrained.provenance.unwrap().build().to_string(), current);
    assert_eq!(final_losses(&out), before);
    let status = normlab(&["sweep", "status", outs]);
    assert!(!text(&status).contains("warning") && text(&status).contains(&format!("build: {current}: 3 runs")), "{}", text(&status));
    let _ = std::fs::remove_dir_all(p.parent().unwrap());
}

/// `[transfer]` tolerances: missing, negative or non-numeric ones are located errors; once a
/// run has finished, a sweep whose tolerances differ from those its output directory declared
/// is refused (a tolerance chosen after the data is not a tolerance), and the report reads the
/// declared ones.
#[test]
fn transfer_tolerances_are_located_and_fixed_before_the_data() {
    let head = "[sweep]\nname = \"x\"\n[base]\narch = \"gpt\"\n";
    let cases: [(&str, &str, &[&str]); 3] = [
        ("tol-missing", "[transfer]\nregret_tol = 0.01\n", &["s.toml", "slope_tol", "missing"]),
        ("tol-negative", "[transfer]\nregret_tol = -0.01\nslope_tol = 0.15\n", &["s.toml", "transfer.regret_tol", "-0.01", "≥ 0"]),
        ("tol-text", "[transfer]\nregret_tol = 0.01\nslope_tol = \"tight\"\n", &["s.toml", "slope_tol", "line 7"]),
    ];
    for (tag, table, needles) in cases {
        let p = write_sweep(tag, &format!("{head}{table}"));
        let out = normlab(&["sweep", "plan", p.to_str().unwrap(), "--no-probe"]);
        assert!(!out.status.success(), "{tag} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        for n in needles {
            assert!(err.contains(n), "{tag}: `{n}` missing from: {err}");
        }
    }
    let body = format!(
        "[sweep]\nname = \"tol\"\nseeds = [1, 2]\n{TINY_BASE}[grid]\noptim.lr = [1e-3, 4e-3, 1.6e-2]\n[transfer]\nregret_tol = 0.01\nslope_tol = 0.15\n"
    );
    let p = write_sweep("tol-run", &body);
    let out_dir = p.parent().unwrap().join("out");
    let (f, o) = (p.to_str().unwrap(), out_dir.to_str().unwrap());
    let r = normlab(&["sweep", f, "--out", o, "--quiet"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let a = normlab::report::Analysis::load(&out_dir).unwrap();
    assert_eq!((a.tolerances.regret_tol, a.tolerances.slope_tol), (0.01, 0.15));
    assert!(a.tolerance_source.contains("declared"), "{}", a.tolerance_source);
    // Loosened after the data: refused, naming both tables; the declared file is untouched.
    std::fs::write(&p, body.replace("slope_tol = 0.15", "slope_tol = 0.5")).unwrap();
    let r = normlab(&["sweep", f, "--out", o, "--quiet"]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(!r.status.success() && err.contains("slope_tol = 0.5") && err.contains("slope_tol = 0.15") && err.contains("not a tolerance"), "{err}");
    let a = normlab::report::Analysis::load(&out_dir).unwrap();
    assert_eq!(a.tolerances.slope_tol, 0.15);
    std::fs::remove_dir_all(p.parent().unwrap()).unwrap();
}
