//! The sweep summary's CPU seconds. getrusage(RUSAGE_CHILDREN) counts every child the process
//! has reaped since it started, so each `runner::execute` reports only its own growth of it and
//! a caller running several executions (the grid, then refine rounds) sums them. Alone in its
//! test binary: no other test's children can land in this process's counter.

mod common;
use normlab::sweep::utilization::children_cpu_seconds;
use normlab::sweep::{plan, runner, spec::Sweep};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[test]
fn each_execution_reports_its_own_children_cpu_and_the_sum_is_the_total() {
    let dir = common::tmpdir("cpu-accounting");
    let file = dir.join("s.toml");
    std::fs::write(
        &file,
        format!(
            "[sweep]\nname = \"cpu\"\n[base]\narch = \"gpt\"\nmodel = {{ d_model = 32, n_layer = 2, n_head = 2 }}\n\
             data = {{ path = \"{}\", seq_len = 32, batch_size = 8 }}\ntrain = {{ steps = 40, eval_every = 20, checkpoint_every = 0 }}\n\
             [grid]\noptim.lr = [1e-3, 2e-3]\n",
            common::root().join("data/kjv.txt").display()
        ),
    )
    .unwrap();
    let runs = plan::plan(&Sweep::load(&file, &[]).unwrap()).unwrap();
    let o = runner::RunnerOptions {
        out: dir.join("out"),
        jobs: 1,
        threads_per_run: 1,
        quiet: true,
        retry_failed: false,
        restart_diverged: false,
        exe: env!("CARGO_BIN_EXE_normlab").into(),
        device: normlab::backend::DeviceSpec::FLEX,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let before = children_cpu_seconds();
    let first = runner::execute(&runs[..1], &o, stop.clone()).unwrap();
    let second = runner::execute(&runs[1..], &o, stop.clone()).unwrap();
    // Everything finished: nothing runs, so no CPU (the old cumulative reading repeated the total).
    let third = runner::execute(&runs, &o, stop).unwrap();
    let total = children_cpu_seconds() - before;
    assert_eq!((first.done, second.done, third.skipped), (1, 1, 2));
    assert!(first.cpu_s > 0.05 && second.cpu_s > 0.05, "each run burned CPU: {} {}", first.cpu_s, second.cpu_s);
    assert!(third.cpu_s.abs() < 1e-9, "{}", third.cpu_s);
    assert!((first.cpu_s + second.cpu_s + third.cpu_s - total).abs() < 1e-6, "{} + {} vs {total}", first.cpu_s, second.cpu_s);

    // Through the CLI (grid + 2 refine rounds): the printed children CPU is the sum over the
    // three executions. It cannot exceed what this process saw the sweep and its children use
    // (summing the old cumulative readings would), nor be a small part of it (the last round's
    // alone would be ≈ a fifth of the runs).
    let before = children_cpu_seconds();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_normlab"))
        .args(["sweep", "sweeps/smoke-refine.toml", "--jobs", "1", "--quiet", "--out"])
        .arg(dir.join("refine"))
        .current_dir(common::root())
        .output()
        .unwrap();
    let seen = children_cpu_seconds() - before;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("10 done"), "{stdout}");
    let printed: f64 =
        stdout.split("children CPU ").nth(1).and_then(|t| t.split(' ').next()).and_then(|v| v.parse().ok()).expect("children CPU in the summary");
    assert!(printed <= seen + 0.05 && printed >= 0.5 * seen, "printed {printed} s, the sweep and its children used {seen} s");
}
