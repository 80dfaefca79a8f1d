//! Shared helpers for the integration tests.
#![allow(dead_code)]

use normlab::config::RunConfig;
use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A model small enough for sub-second steps on 2 cores, on the shipped corpus.
pub fn tiny(arch: &str, extra: &[&str]) -> RunConfig {
    let text = format!(
        "name = \"t\"\narch = \"{arch}\"\nseed = 7\n[model]\nd_model = 32\nn_layer = 2\nn_head = 2\n\
         [data]\npath = \"{}\"\nseq_len = 32\nbatch_size = 8\n[optim]\nlr = 3e-3\nwarmup_steps = 5\n\
         [train]\nsteps = 30\neval_every = 10\ncheckpoint_every = 0\n",
        root().join("data/kjv.txt").display()
    );
    let overrides: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    RunConfig::from_toml_str(&text, "tiny", &overrides).unwrap()
}

pub fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("normlab-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `curves.parquet` as `sweep merge` writes it, from per-run (step, val loss) curves: tokens =
/// step × `tokens_per_step`, train loss = val loss + `train_offset`.
pub fn write_curves(dir: &std::path::Path, curves: &[(String, Vec<(u32, f32)>)], tokens_per_step: u64, train_offset: f32) {
    use polars::prelude::*;
    let (mut ids, mut step, mut tokens, mut train, mut val) = (vec![], vec![], vec![], vec![], vec![]);
    for (id, c) in curves {
        for &(s, v) in c {
            ids.push(id.clone());
            step.push(s);
            tokens.push(s as u64 * tokens_per_step);
            train.push(v + train_offset);
            val.push(Some(v));
        }
    }
    let mut df = DataFrame::new(
        ids.len(),
        vec![
            Column::new("run_id".into(), ids),
            Column::new("step".into(), step),
            Column::new("tokens".into(), tokens),
            Column::new("train_loss".into(), train),
            Column::new("val_loss".into(), val),
        ],
    )
    .unwrap();
    normlab::record::write_parquet(&dir.join("curves.parquet"), &mut df).unwrap();
}

/// One run of a synthetic `results.parquet`, with the columns `sweep merge` writes that the
/// analysis and the report read. `..Default::default()` fills the ones a test does not vary.
#[derive(Clone, Debug)]
pub struct ResultRow {
    pub id: String,
    pub status: &'static str,
    pub arch: &'static str,
    pub param: &'static str,
    pub lr: f64,
    pub d: f64,
    pub steps: f64,
    pub seq: f64,
    pub seed: f64,
    pub loss: Option<f64>,
    pub step_time: f64,
    pub diverged_at: Option<f64>,
    pub error: Option<&'static str>,
    /// Architecture switches set (cfg.model.norm.<name> = true).
    pub flags: &'static [&'static str],
    /// prov.git_commit and prov.git_dirty: the build that trained the run.
    pub commit: &'static str,
    pub dirty: bool,
    /// cfg.data.batch_size.
    pub batch: f64,
}

impl Default for ResultRow {
    fn default() -> Self {
        Self {
            id: String::new(),
            status: "done",
            arch: "gpt",
            param: "sp",
            lr: 1e-3,
            d: 32.0,
            steps: 500.0,
            seq: 64.0,
            seed: 1.0,
            loss: None,
            step_time: 0.01,
            diverged_at: None,
            error: None,
            flags: &[],
            commit: "0123456789abcdef0123456789abcdef01234567",
            dirty: false,
            batch: 16.0,
        }
    }
}

/// `DIR/results.parquet` from `rows`. Besides the settings, n_head follows d_model (fixed head
/// dimension) and warmup follows the budget and the architecture, as in the shipped sweeps:
/// neither may become a group key.
pub fn write_results(dir: &std::path::Path, rows: &[ResultRow]) {
    use polars::prelude::*;
    std::fs::create_dir_all(dir).unwrap();
    let f = |g: &dyn Fn(&ResultRow) -> f64| rows.iter().map(g).collect::<Vec<f64>>();
    let flag = |name: &'static str| f(&move |r| r.flags.contains(&name) as u8 as f64);
    let mut df = DataFrame::new(
        rows.len(),
        vec![
            Column::new("run_id".into(), rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>()),
            Column::new("status".into(), rows.iter().map(|r| r.status).collect::<Vec<_>>()),
            Column::new("cfg.arch".into(), rows.iter().map(|r| r.arch).collect::<Vec<_>>()),
            Column::new("cfg.param.name".into(), rows.iter().map(|r| r.param).collect::<Vec<_>>()),
            Column::new("cfg.optim.lr".into(), f(&|r| r.lr)),
            Column::new("cfg.model.d_model".into(), f(&|r| r.d)),
            Column::new("cfg.model.n_head".into(), f(&|r| r.d / 16.0)),
            Column::new("cfg.train.steps".into(), f(&|r| r.steps)),
            Column::new("cfg.optim.warmup_steps".into(), f(&|r| if r.arch == "gpt" { (0.05 * r.steps).round() } else { 0.0 })),
            Column::new("cfg.data.seq_len".into(), f(&|r| r.seq)),
            Column::new("cfg.data.batch_size".into(), f(&|r| r.batch)),
            Column::new("cfg.model.norm.no_qk_norm".into(), flag("no_qk_norm")),
            Column::new("cfg.model.norm.norm_at_most_one".into(), flag("norm_at_most_one")),
            Column::new("cfg.seed".into(), f(&|r| r.seed)),
            Column::new("final_val_loss".into(), rows.iter().map(|r| r.loss).collect::<Vec<_>>()),
            Column::new("step_time_s".into(), f(&|r| r.step_time)),
            Column::new("steps".into(), f(&|r| r.diverged_at.unwrap_or(r.steps))),
            Column::new("diverged_at".into(), rows.iter().map(|r| r.diverged_at).collect::<Vec<_>>()),
            Column::new("error".into(), rows.iter().map(|r| r.error).collect::<Vec<_>>()),
            Column::new("prov.git_commit".into(), rows.iter().map(|r| r.commit).collect::<Vec<_>>()),
            Column::new("prov.git_dirty".into(), rows.iter().map(|r| r.dirty).collect::<Vec<_>>()),
        ],
    )
    .unwrap();
    normlab::record::write_parquet(&dir.join("results.parquet"), &mut df).unwrap();
}

/// Poll `cond` every 20 ms for up to `secs` seconds.
pub fn wait_for(cond: impl Fn() -> bool, secs: u64) -> bool {
    let t = std::time::Instant::now();
    while t.elapsed() < std::time::Duration::from_secs(secs) {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

/// What [`sigkill_sweep_then_rerun`] leaves for the caller to compare.
pub struct Killed {
    pub out_dir: PathBuf,
    /// The run that was interrupted, resumed to the end.
    pub run: normlab::record::RunDir,
    /// The same run trained again without interruption, in a fresh directory.
    pub straight: normlab::record::RunDir,
}

/// A 2-run sweep of the tiny GPT (`steps` steps, a checkpoint every `every`) killed with
/// SIGKILL once its first run has a checkpoint, then rerun (with `extra` arguments both times,
/// e.g. the backend): every run completes, none restarts from scratch, each has one metrics row
/// per step in order, and the interrupted one resumed from its checkpoint.
pub fn sigkill_sweep_then_rerun(tag: &str, steps: usize, every: usize, extra: &[&str]) -> Killed {
    use normlab::record::{Metrics, Status};
    use normlab::sweep::merge;
    use std::process::{Command, Stdio};
    let exe = env!("CARGO_BIN_EXE_normlab");
    let dir = tmpdir(tag);
    let sweep = dir.join("s.toml");
    std::fs::write(
        &sweep,
        format!(
            "[sweep]\nname = \"k\"\n[base]\narch = \"gpt\"\nmodel = {{ d_model = 32, n_layer = 2, n_head = 2 }}\n\
             data = {{ path = \"data/kjv.txt\", seq_len = 32, batch_size = 8 }}\noptim = {{ warmup_steps = 10 }}\n\
             train = {{ steps = {steps}, eval_every = {every}, checkpoint_every = {every} }}\n[grid]\noptim.lr = [2e-3, 4e-3]\n"
        ),
    )
    .unwrap();
    let out_dir = dir.join("out");
    let args: Vec<&str> = ["sweep", sweep.to_str().unwrap(), "--out", out_dir.to_str().unwrap(), "--jobs", "1", "--quiet"]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    let mut child = Command::new(exe).args(&args).current_dir(root()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // Kill once the first run has a checkpoint but has not finished.
    let first_has_ckpt = || merge::run_dirs(&out_dir).iter().any(|(_, d)| d.checkpoint().join("state.json").exists() && d.read_summary().is_none());
    assert!(wait_for(first_has_ckpt, 300), "no checkpoint appeared");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300)); // the training child dies with its parent (PDEATHSIG)
    let interrupted: Vec<_> = merge::run_dirs(&out_dir).into_iter().filter(|(_, d)| d.read_summary().is_none()).collect();
    assert!(!interrupted.is_empty());

    let out = Command::new(exe).args(&args).current_dir(root()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let runs = merge::run_dirs(&out_dir);
    assert_eq!(runs.len(), 2);
    for (id, d) in &runs {
        assert_eq!(d.read_summary().unwrap().status, Status::Done, "{id}");
        let m = Metrics::read(&d.metrics()).expect("metrics.parquet readable");
        assert_eq!(m.len(), steps, "{id}: one row per step");
        assert!(m.step.iter().enumerate().all(|(i, s)| *s as usize == i), "{id}: steps in order, none repeated");
        let log = std::fs::read_to_string(d.root.join("train.log")).unwrap();
        assert!(log.matches("starting at step 0/").count() == 1, "{id} was run twice from scratch:\n{log}");
    }
    let (rid, run) = interrupted.into_iter().next().unwrap();
    let log = std::fs::read_to_string(run.root.join("train.log")).unwrap();
    assert!(log.lines().any(|l| l.contains("starting at step") && !l.contains("starting at step 0/")), "{rid} did not resume:\n{log}");

    let fresh = tmpdir(&format!("{tag}-fresh"));
    let config = run.config();
    let train: Vec<&str> =
        ["train", config.to_str().unwrap(), "--out", fresh.to_str().unwrap(), "--quiet"].into_iter().chain(extra.iter().copied()).collect();
    let o = Command::new(exe).args(&train).current_dir(root()).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Killed { out_dir, run, straight: normlab::record::RunDir::new(&fresh) }
}
