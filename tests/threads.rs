//! The invariant that lets the sweep runner give a run more threads at a sweep's tail without
//! making the thread count part of the run's identity (runner.rs): the same run trained by real
//! `normlab train` processes with RAYON_NUM_THREADS=1 and =2 records bit-identical losses and
//! gradient norms at every step.

mod common;
use normlab::record::{Metrics, RunDir};
use std::path::Path;
use std::process::Command;

/// Train `cfg` into `dir` with `threads` rayon threads; its metrics and recorded thread count.
fn train(cfg: &normlab::config::RunConfig, dir: &Path, threads: usize) -> (Metrics, usize) {
    std::fs::create_dir_all(dir).unwrap();
    let config = dir.join("run.toml");
    std::fs::write(&config, cfg.to_toml()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_normlab"))
        .args(["train", config.to_str().unwrap(), "--out", dir.join("run").to_str().unwrap(), "--quiet"])
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run = RunDir::new(dir.join("run"));
    (Metrics::read(&run.metrics()).unwrap(), run.read_summary().unwrap().threads)
}

#[test]
fn losses_are_bit_identical_at_one_and_two_threads() {
    // d = 128 with B·T = 1024 rows: the projections (1024·128·128 multiply-adds and up) are past
    // the GEMM's threshold for splitting over threads, and the row-wise kernels run 8 tasks.
    // A high LR (GPT) and νGPT's normalization + scalings cover the other kernels.
    for (arch, param, lr) in [("gpt", "sp", "6.4e-2"), ("ngpt", "nugpt", "4e-3")] {
        let sets = [
            "model.d_model=128".to_string(),
            "model.n_head=8".into(),
            "data.seq_len=64".into(),
            "data.batch_size=16".into(),
            "train.steps=12".into(),
            "train.eval_every=4".into(),
            format!("param.name=\"{param}\""),
            format!("optim.lr={lr}"),
        ];
        let cfg = common::tiny(arch, &sets.iter().map(String::as_str).collect::<Vec<_>>());
        let root = common::tmpdir(&format!("threads-{arch}"));
        let ((one, t1), (two, t2)) = (train(&cfg, &root.join("1"), 1), train(&cfg, &root.join("2"), 2));
        assert_eq!((t1, t2), (1, 2), "{arch}: the runs did not get the thread counts asked for");
        assert_eq!(one.len(), 12);
        let bits = |m: &Metrics| {
            let val: Vec<Option<u32>> = m.val_loss.iter().map(|v| v.map(f32::to_bits)).collect();
            (m.train_loss.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), val, m.grad_norm.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
        };
        assert_eq!(bits(&one), bits(&two), "{arch}/{param}: 1 thread {:?} vs 2 threads {:?}", one.train_loss, two.train_loss);
        assert!(one.val_loss.iter().flatten().count() >= 3, "{arch}: evaluations were compared");
    }
}
