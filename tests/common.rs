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
