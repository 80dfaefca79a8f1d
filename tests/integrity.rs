//! What survives what, through the real CLI: a changed config, a rerun of a finished run,
//! torn checkpoints and records, kill -9, two runners on one sweep, a model too big for
//! memory, a full disk.

mod common;
use normlab::record::{Metrics, RunDir, Status};
use normlab::sweep::merge;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_normlab"))
}

/// `train experiments/gpt-tiny.toml` shrunk to a d=32, one-block model, plus `extra` sets.
fn train_cmd(out: Option<&Path>, extra: &[&str]) -> Command {
    let mut c = Command::new(exe());
    c.arg("train").arg(common::root().join("experiments/gpt-tiny.toml"));
    let data = format!("data.path=\"{}\"", common::root().join("data/kjv.txt").display());
    for s in ["model.d_model=32", "model.n_layer=1", "model.n_head=2", "data.seq_len=32", "data.batch_size=8", &data] {
        c.args(["--set", s]);
    }
    for s in extra {
        c.args(["--set", s]);
    }
    if let Some(o) = out {
        c.arg("--out").arg(o);
    }
    c.arg("--quiet").current_dir(common::root());
    c
}

fn run(mut c: Command) -> (Output, String) {
    let o = c.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    (o, err)
}

fn wait_for(cond: impl Fn() -> bool, secs: u64) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn bits(m: &Metrics) -> Vec<u32> {
    m.train_loss.iter().map(|x| x.to_bits()).collect()
}

fn assert_complete(dir: &RunDir, steps: usize) -> Metrics {
    let s = dir.read_summary().expect("summary readable");
    assert_eq!(s.status, Status::Done);
    let m = Metrics::read(&dir.metrics()).unwrap();
    assert_eq!(m.len(), steps);
    assert!(m.step.iter().enumerate().all(|(i, s)| *s as usize == i), "one row per step, in order");
    m
}

#[test]
fn changed_config_is_refused_finished_run_is_not_retrained_force_starts_over() {
    let tmp = common::tmpdir("identity");
    let dir = tmp.join("run");
    let steps = ["train.steps=60", "train.eval_every=30", "train.checkpoint_every=20"];
    let (o, err) = run(train_cmd(Some(&dir), &steps));
    assert!(o.status.success(), "{err}");
    let rd = RunDir::new(&dir);
    assert!(!rd.checkpoint().exists() && !rd.checkpoint_prev().exists(), "checkpoints removed once finished");
    let s = rd.read_summary().unwrap();
    let cfg = normlab::config::RunConfig::load(&rd.config(), &[]).unwrap();
    assert_eq!(s.config_hash.as_deref(), Some(normlab::record::identity::config_hash(&cfg).as_str()));
    let mtime = std::fs::metadata(rd.metrics()).unwrap().modified().unwrap();

    // The same command again: says so, trains nothing.
    let (o, err) = run(train_cmd(Some(&dir), &steps));
    assert!(o.status.success(), "{err}");
    assert!(err.contains("already finished") && !err.contains("starting at step"), "{err}");
    assert_eq!(std::fs::metadata(rd.metrics()).unwrap().modified().unwrap(), mtime);

    // A different LR into the same directory: refused, naming the key, nothing touched.
    let changed = [steps[0], steps[1], steps[2], "optim.lr=0.05"];
    let (o, err) = run(train_cmd(Some(&dir), &changed));
    assert_eq!(o.status.code(), Some(2), "{err}");
    for needle in ["different config", "optim.lr: 0.002 → 0.05", "--out", "--force"] {
        assert!(err.contains(needle), "`{needle}` missing: {err}");
    }
    assert_eq!(rd.read_summary().unwrap(), s);
    assert!(std::fs::read_to_string(rd.config()).unwrap().contains("lr = 0.002"));

    // --force starts it over from step 0 under the new config.
    let mut c = train_cmd(Some(&dir), &changed);
    c.arg("--force");
    let (o, err) = run(c);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("starting at step 0/60"), "{err}");
    assert!(std::fs::read_to_string(rd.config()).unwrap().contains("lr = 0.05"));
    assert_ne!(rd.read_summary().unwrap().config_hash, s.config_hash);

    // Without --out, two variants of one experiment get two directories named by their hash.
    for lr in ["optim.lr=0.002", "optim.lr=0.004"] {
        let mut c = train_cmd(None, &["train.steps=5", "train.eval_every=5", lr]);
        c.current_dir(&tmp);
        let (o, err) = run(c);
        assert!(o.status.success(), "{err}");
    }
    let mut dirs: Vec<String> =
        std::fs::read_dir(tmp.join("results/runs")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    dirs.sort();
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    for d in &dirs {
        let rd = RunDir::new(tmp.join("results/runs").join(d));
        let hash = rd.read_summary().unwrap().config_hash.unwrap();
        assert_eq!(d, &format!("gpt-tiny-{}", &hash[..8]));
    }
}

/// kill -9 once two checkpoints exist, tear the newest: the rerun falls back to the previous
/// one, records the warning, and ends with the same curve as an uninterrupted run. With both
/// torn it restarts from step 0.
#[test]
fn torn_checkpoint_falls_back_to_the_previous_then_to_step_0() {
    let tmp = common::tmpdir("torn");
    let sets = ["train.steps=400", "train.eval_every=100", "train.checkpoint_every=40"];
    let straight = tmp.join("straight");
    let (o, err) = run(train_cmd(Some(&straight), &sets));
    assert!(o.status.success(), "{err}");
    let want = bits(&Metrics::read(&RunDir::new(&straight).metrics()).unwrap());

    for tear_both in [false, true] {
        let dir = tmp.join(format!("run-{tear_both}"));
        let rd = RunDir::new(&dir);
        let mut child = train_cmd(Some(&dir), &sets).stderr(Stdio::null()).spawn().unwrap();
        assert!(wait_for(|| rd.checkpoint_prev().join("MANIFEST.json").exists(), 120), "no second checkpoint");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let state = |p: &Path| -> usize {
            let t = std::fs::read_to_string(p.join("state.json")).unwrap();
            serde_json::from_str::<serde_json::Value>(&t).unwrap()["step"].as_u64().unwrap() as usize
        };
        let prev_step = state(&rd.checkpoint_prev());
        let torn = rd.checkpoint().join("state.json");
        let len = std::fs::metadata(&torn).unwrap().len();
        std::fs::OpenOptions::new().write(true).open(&torn).unwrap().set_len(len / 2).unwrap();
        if tear_both {
            // Flip one byte of the previous checkpoint's weights: same size, wrong sha256.
            let p = rd.checkpoint_prev().join("model.bpk");
            let mut b = std::fs::read(&p).unwrap();
            let i = b.len() / 2;
            b[i] ^= 0xff;
            std::fs::write(&p, b).unwrap();
        }
        let (o, err) = run(train_cmd(Some(&dir), &sets));
        assert!(o.status.success(), "{err}");
        let s = rd.read_summary().unwrap();
        assert!(s.warnings.iter().any(|w| w.contains("torn or truncated")), "{:?}", s.warnings);
        if tear_both {
            assert!(err.contains("starting at step 0/"), "{err}");
            assert!(s.warnings.iter().any(|w| w.contains("sha256 differs")), "{:?}", s.warnings);
            assert!(s.warnings.iter().any(|w| w.contains("restarted from step 0")), "{:?}", s.warnings);
        } else {
            assert!(err.contains(&format!("starting at step {prev_step}/400")), "{err}");
        }
        let m = assert_complete(&rd, 400);
        assert_eq!(bits(&m), want, "recovered curve differs from the uninterrupted one");
    }
}

/// kill -9 of a WSD run with cool-down branches, once the first branch is behind its newest
/// checkpoint: the rerun keeps that branch from the checkpoint (it does not train it again),
/// trains the second, and every branch loss equals an uninterrupted run's bit for bit.
#[test]
fn kill9_keeps_finished_cool_down_branches_and_the_rest_match_an_uninterrupted_run() {
    let tmp = common::tmpdir("branch-kill");
    let sets = [
        "train.steps=400",
        "train.eval_every=100",
        "train.checkpoint_every=40",
        "optim.schedule=\"wsd\"",
        "train.branches=[100, 300]",
        "optim.warmup_steps=20",
    ];
    let straight = tmp.join("straight");
    let (o, err) = run(train_cmd(Some(&straight), &sets));
    assert!(o.status.success(), "{err}");
    let want = RunDir::new(&straight).read_summary().unwrap().branches;
    assert_eq!(want.len(), 2);
    let dir = tmp.join("killed");
    let rd = RunDir::new(&dir);
    let mut child = train_cmd(Some(&dir), &sets).stderr(Stdio::null()).spawn().unwrap();
    let step = |p: &Path| -> Option<usize> {
        let t = std::fs::read_to_string(p.join("state.json")).ok()?;
        Some(serde_json::from_str::<serde_json::Value>(&t).ok()?["step"].as_u64()? as usize)
    };
    // The first branch's cool-down starts at step 80; the second's at 240.
    assert!(wait_for(|| step(&rd.checkpoint()).is_some_and(|s| s >= 120), 120), "no checkpoint after the first branch");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (o, err) = run(train_cmd(Some(&dir), &sets));
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("branch 100:"), "the finished branch was trained again: {err}");
    let got = rd.read_summary().unwrap().branches;
    let key = |b: &[normlab::record::Branch]| b.iter().map(|b| (b.steps, b.final_val_loss.map(f64::to_bits), b.diverged)).collect::<Vec<_>>();
    assert_eq!(key(&got), key(&want));
}

/// While one `train` holds a run, a second is refused with exit 75 naming the holder; kill -9
/// of the holder releases the lock at once (the OS drops a flock), and the run resumes.
#[test]
fn second_train_is_refused_while_one_runs_and_kill9_releases_the_lock() {
    let dir = common::tmpdir("lock").join("run");
    let rd = RunDir::new(&dir);
    let sets = ["train.steps=3000", "train.eval_every=100", "train.checkpoint_every=50"];
    let mut child = train_cmd(Some(&dir), &sets).stderr(Stdio::null()).spawn().unwrap();
    assert!(wait_for(|| rd.checkpoint().join("MANIFEST.json").exists(), 120), "no checkpoint");
    let (o, err) = run(train_cmd(Some(&dir), &sets));
    assert_eq!(o.status.code(), Some(75), "{err}");
    assert!(err.contains("being trained by another process") && err.contains(&format!("pid {}", child.id())), "{err}");
    child.kill().unwrap();
    child.wait().unwrap();
    // Resumes (not from 0); stop it with SIGTERM once it is running to keep the test short.
    let mut again = train_cmd(Some(&dir), &sets).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let mut err = String::new();
    for line in std::io::BufRead::lines(std::io::BufReader::new(again.stderr.take().unwrap())) {
        let line = line.unwrap();
        err.push_str(&line);
        err.push('\n');
        if line.contains("starting at step") {
            break;
        }
    }
    unsafe { libc::kill(again.id() as i32, libc::SIGTERM) };
    again.wait().unwrap();
    assert!(err.contains("starting at step") && !err.contains("starting at step 0/"), "{err}");
    assert!(!err.contains("another process"), "{err}");
}

/// The O_EXCL fallback (NORMLAB_LOCK=excl): a live lock file refuses, one without heartbeat
/// for longer than NORMLAB_LOCK_STALE_S is taken over.
#[test]
fn excl_lock_file_refuses_when_fresh_and_is_taken_over_when_stale() {
    let dir = common::tmpdir("excl").join("run");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = dir.join(".lock.excl");
    std::fs::write(&lock, "pid 1 on elsewhere since unix time 0\n").unwrap();
    let sets = ["train.steps=5", "train.eval_every=5"];
    let mut c = train_cmd(Some(&dir), &sets);
    c.env("NORMLAB_LOCK", "excl").env("NORMLAB_LOCK_STALE_S", "30");
    let (o, err) = run(c);
    assert_eq!(o.status.code(), Some(75), "{err}");
    assert!(err.contains("pid 1 on elsewhere"), "{err}");
    let old = std::time::SystemTime::now() - Duration::from_secs(120);
    std::fs::File::options().write(true).open(&lock).unwrap().set_modified(old).unwrap();
    let mut c = train_cmd(Some(&dir), &sets);
    c.env("NORMLAB_LOCK", "excl").env("NORMLAB_LOCK_STALE_S", "30");
    let (o, err) = run(c);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("taking over a stale lock"), "{err}");
    assert!(!lock.exists(), "the lock file is removed when the run ends");
}

fn write_sweep(dir: &Path, runs: &[f64], steps: usize) -> PathBuf {
    let p = dir.join("s.toml");
    let lrs: Vec<String> = runs.iter().map(|x| format!("{x:e}")).collect();
    std::fs::write(
        &p,
        format!(
            "[sweep]\nname = \"i\"\n[base]\narch = \"gpt\"\nmodel = {{ d_model = 32, n_layer = 1, n_head = 2 }}\n\
             data = {{ path = \"data/kjv.txt\", seq_len = 32, batch_size = 8 }}\noptim = {{ warmup_steps = 5 }}\n\
             train = {{ steps = {steps}, eval_every = 40, checkpoint_every = 40 }}\n[grid]\noptim.lr = [{}]\n",
            lrs.join(", ")
        ),
    )
    .unwrap();
    p
}

fn sweep(file: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(exe());
    c.args(["sweep", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--jobs", "1", "--quiet"]).args(extra).current_dir(common::root());
    c
}

fn starts_from_zero(d: &RunDir) -> usize {
    std::fs::read_to_string(d.root.join("train.log")).unwrap_or_default().matches("starting at step 0/").count()
}

/// Two runners started together on one sweep (a double launch): both finish, every run is
/// done and was trained exactly once; with flock and with the O_EXCL fallback.
#[test]
fn two_runners_on_one_sweep_train_each_run_once() {
    for mode in ["flock", "excl"] {
        let tmp = common::tmpdir(&format!("double-{mode}"));
        let p = write_sweep(&tmp, &[1e-3, 2e-3, 3e-3, 4e-3], 120);
        let out = tmp.join("out");
        let spawn = || sweep(&p, &out, &[]).env("NORMLAB_LOCK", mode).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let (a, b) = (spawn(), spawn());
        let (oa, ob) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        for o in [&oa, &ob] {
            assert!(o.status.success(), "{mode}: {}", String::from_utf8_lossy(&o.stderr));
        }
        let runs = merge::run_dirs(&out);
        assert_eq!(runs.len(), 4);
        for (id, d) in &runs {
            assert_complete(d, 120);
            assert_eq!(starts_from_zero(d), 1, "{mode}: {id} trained {} times", starts_from_zero(d));
        }
        // Between them they trained all four (each one's own count is in its summary line).
        let trained =
            |o: &Output| String::from_utf8_lossy(&o.stdout).split(" done,").next().and_then(|s| s.rsplit(' ').next()?.parse::<usize>().ok()).unwrap();
        assert!(trained(&oa) + trained(&ob) >= 4, "{mode}: {} + {}", trained(&oa), trained(&ob));
    }
}

/// A finished run whose metrics.parquet was cut short: `sweep status` and `merge` name it,
/// merge keeps its row as `damaged`, and the next sweep moves the damaged files aside and
/// redoes it.
#[test]
fn truncated_metrics_of_a_done_run_is_named_and_redone() {
    let tmp = common::tmpdir("torn-metrics");
    let p = write_sweep(&tmp, &[1e-3, 2e-3], 80);
    let out = tmp.join("out");
    let o = sweep(&p, &out, &[]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let runs = merge::run_dirs(&out);
    let (bad_id, bad) = &runs[0];
    let good_bits = bits(&Metrics::read(&bad.metrics()).unwrap());
    let len = std::fs::metadata(bad.metrics()).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(bad.metrics()).unwrap().set_len(len - 100).unwrap();

    let st = Command::new(exe()).args(["sweep", "status", out.to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(text.contains("damaged: 1") && text.contains(&format!("damaged {bad_id}")) && text.contains("metrics.parquet"), "{text}");

    let m = Command::new(exe()).args(["sweep", "merge", out.to_str().unwrap()]).output().unwrap();
    assert!(m.status.success());
    let err = String::from_utf8_lossy(&m.stderr);
    assert!(err.contains(bad_id.as_str()) && err.contains("damaged"), "merge must name the run: {err}");
    let df = merge::read_results(&out).unwrap();
    let status: Vec<&str> = df.column("status").unwrap().str().unwrap().iter().flatten().collect();
    assert_eq!(status, ["damaged", "done"]);

    let o = sweep(&p, &out, &[]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = assert_complete(bad, 80);
    assert_eq!(bits(&m), good_bits, "redone run reproduces the original curve");
    assert_eq!(starts_from_zero(bad), 2);
    assert_eq!(starts_from_zero(&runs[1].1), 1, "the intact run is not retrained");
    assert!(bad.root.join("damaged/metrics.parquet").exists(), "the damaged file is kept, not deleted");
    assert!(bad.read_summary().unwrap().warnings.iter().any(|w| w.contains("damaged")));
    let curves = normlab::record::read_parquet(&merge::curves_path(&out)).unwrap();
    assert_eq!(curves.height(), 160);
}

#[test]
fn a_model_that_cannot_fit_is_refused_before_allocating() {
    let dir = common::tmpdir("mem").join("run");
    let (o, err) = run(train_cmd(Some(&dir), &["model.d_model=65536", "model.n_head=512"]));
    assert_eq!(o.status.code(), Some(2), "{err}");
    for needle in ["model.d_model = 65536", "data.batch_size = 8", "GiB available", "reduce model.d_model or data.batch_size"] {
        assert!(err.contains(needle), "`{needle}` missing: {err}");
    }
    assert!(!dir.join("checkpoint").exists());
    // A Slurm allocation smaller than the machine is what counts.
    let mut c = train_cmd(Some(&dir), &["train.steps=5"]);
    c.env("SLURM_MEM_PER_NODE", "1");
    let (o, err) = run(c);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("0.00 GiB available (SLURM_MEM_PER_NODE)"), "{err}");
}

/// The estimate never refuses a shipped experiment or sweep point, and stays near the
/// measured peak: ≤ 1 GiB for every shipped shape.
#[test]
fn shipped_configs_pass_the_memory_check() {
    use normlab::train::memory::estimate;
    let mut n = 0;
    for e in std::fs::read_dir(common::root().join("experiments")).unwrap() {
        let cfg = normlab::config::RunConfig::load(&e.unwrap().path(), &[]).unwrap();
        let (s, a) = estimate(&cfg, 1024);
        assert!(s + a < 4.0 * 1073741824.0, "{}: {:.2} GiB", cfg.name, (s + a) / 1073741824.0);
        n += 1;
    }
    for e in std::fs::read_dir(common::root().join("sweeps")).unwrap() {
        let path = e.unwrap().path();
        let s = normlab::sweep::spec::Sweep::load(&path, &[]).unwrap();
        for r in normlab::sweep::plan::plan(&s).unwrap() {
            let (st, a) = estimate(&r.cfg, 1024);
            assert!(st + a < 4.0 * 1073741824.0, "{} {}: {:.2} GiB", path.display(), r.id, (st + a) / 1073741824.0);
            n += 1;
        }
    }
    assert!(n > 50, "{n} configs checked");
}

/// A real ENOSPC on a small tmpfs: the run ends with a clear error, the last checkpoint
/// survives intact, and once space is back the same command resumes and finishes.
#[test]
fn disk_full_ends_the_run_keeps_the_checkpoint_and_it_resumes() {
    let mnt = common::tmpdir("enospc");
    let ok = Command::new("mount").args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"]).arg(&mnt).status().is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED disk_full test: `mount -t tmpfs` is not permitted here (needs root or CAP_SYS_ADMIN)");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.clone());
    let dir = mnt.join("run");
    let rd = RunDir::new(&dir);
    let sets = ["train.steps=1000", "train.eval_every=50", "train.checkpoint_every=50"];
    let child = train_cmd(Some(&dir), &sets).stderr(Stdio::piped()).spawn().unwrap();
    assert!(wait_for(|| rd.checkpoint().join("MANIFEST.json").exists(), 120), "no checkpoint");
    // Fill the disk: the next metrics or checkpoint write hits ENOSPC.
    let filler = mnt.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 4096];
    while std::io::Write::write_all(&mut f, &chunk).is_ok() {}
    drop(f);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("disk full") && err.contains("No space left on device") && err.contains("rerun the same command"), "{err}");
    let m = normlab::record::durable::Manifest::read(&rd.checkpoint()).unwrap().expect("checkpoint kept");
    m.verify(&rd.checkpoint()).expect("the kept checkpoint is intact");
    assert!(rd.read_summary().is_none());
    eprintln!("disk full, as reported: {}", err.lines().last().unwrap_or(""));

    std::fs::remove_file(&filler).unwrap();
    let (o, err) = run(train_cmd(Some(&dir), &sets));
    assert!(o.status.success(), "{err}");
    assert!(err.contains("starting at step") && !err.contains("starting at step 0/"), "{err}");
    assert_complete(&rd, 1000);
}
