//! What a run leaves for people and tools, through the real CLI with stderr to a pipe (no
//! terminal): progress lines, TensorBoard event records with valid CRCs, provenance in
//! summary.json, typed results/report Parquet, and an unwritable event directory.

mod common;
use normlab::record::tensorboard::masked_crc;
use normlab::record::{RunDir, Status, read_parquet};
use polars::prelude::DataType;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_normlab"))
}

const TINY: [&str; 12] = [
    "--set",
    "model.d_model=32",
    "--set",
    "model.n_layer=2",
    "--set",
    "model.n_head=2",
    "--set",
    "data.seq_len=32",
    "--set",
    "data.batch_size=8",
    "--set",
    "train.eval_every=10",
];

/// `normlab train` of a 40-step tiny run into `out`, stderr captured (a pipe, not a TTY).
fn train(out: &Path, extra: &[&str]) -> Output {
    Command::new(exe())
        .args(["train", "experiments/gpt-tiny.toml", "--out", out.to_str().unwrap(), "--set", "train.steps=40"])
        .args(TINY)
        .args(extra)
        .current_dir(common::root())
        .output()
        .unwrap()
}

/// Records of a TFRecord file, each CRC checked; panics on a bad length or CRC.
fn records(path: &Path) -> Vec<Vec<u8>> {
    let b = std::fs::read(path).unwrap();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < b.len() {
        let len_bytes = &b[i..i + 8];
        let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
        assert_eq!(u32::from_le_bytes(b[i + 8..i + 12].try_into().unwrap()), masked_crc(len_bytes), "length CRC at {i}");
        let data = &b[i + 12..i + 12 + len];
        assert_eq!(u32::from_le_bytes(b[i + 12 + len..i + 16 + len].try_into().unwrap()), masked_crc(data), "data CRC at {i}");
        out.push(data.to_vec());
        i += 16 + len;
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn train_without_a_terminal_prints_step_lines_and_writes_events_and_provenance() {
    let dir = common::tmpdir("records-train");
    let o = train(&dir.join("run"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("%) loss")).collect();
    // Default: every 10% of 40 steps.
    let want: Vec<String> = (1..=10).map(|k| format!("gpt-tiny: step {}/40 ({}%) loss", 4 * k, 10 * k)).collect();
    assert_eq!(lines.len(), 10, "{err}");
    for (l, w) in lines.iter().zip(&want) {
        assert!(l.starts_with(w.as_str()) && l.contains(" eta ") && l.ends_with("tok/s"), "{l}");
    }
    let o = train(&dir.join("run5"), &["--log-every", "5"]);
    assert_eq!(stderr(&o).lines().filter(|l| l.contains("%) loss")).count(), 8, "{}", stderr(&o));

    let run = RunDir::new(dir.join("run"));
    let s = run.read_summary().unwrap();
    assert_eq!(s.status, Status::Done);
    let p = s.provenance.expect("provenance in summary.json");
    assert_eq!(p.git_commit.len(), 40, "{p:?}");
    assert!(p.git_dirty.is_some() && p.burn_version == "0.22.1" && !p.host.is_empty() && !p.cpu_model.is_empty());
    assert!(p.start_time.len() == 20 && p.start_time <= p.end_time, "{p:?}");
    // file_version + session log + session start + one event per step + end metrics + session end, all CRC-valid.
    let files: Vec<PathBuf> = std::fs::read_dir(dir.join("run/tb")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let recs = records(&files[0]);
    assert_eq!(recs.len(), 1 + 2 + 40 + 2);
    assert!(contains(&recs[0], b"brain.Event:2"));
    assert!(contains(&recs[2], b"_hparams_/session_start_info"));
    assert!(contains(&recs[44], b"_hparams_/session_end_info"));
}

#[test]
fn unwritable_event_directory_warns_once_and_the_run_finishes() {
    let dir = common::tmpdir("records-unwritable");
    std::fs::create_dir_all(dir.join("run")).unwrap();
    // A plain file where tb/ should go: unwritable even for root.
    std::fs::write(dir.join("run/tb"), b"not a directory").unwrap();
    let o = train(&dir.join("run"), &["--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let warnings: Vec<String> = stderr(&o).lines().filter(|l| l.contains("TensorBoard")).map(String::from).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].starts_with("warning: TensorBoard events disabled") && warnings[0].contains("run/tb"), "{warnings:?}");
    assert_eq!(RunDir::new(dir.join("run")).read_summary().unwrap().status, Status::Done);
}

#[test]
fn sweep_without_a_terminal_prints_one_line_per_run_and_writes_typed_tables() {
    let dir = common::tmpdir("records-sweep");
    let file = dir.join("s.toml");
    std::fs::write(
        &file,
        "[sweep]\nname = \"rec\"\n[base]\narch = \"gpt\"\nmodel = { d_model = 32, n_layer = 2, n_head = 2 }\n\
         data = { path = \"data/kjv.txt\", seq_len = 32, batch_size = 8 }\noptim = { warmup_steps = 5 }\n\
         train = { steps = 30, eval_every = 10, checkpoint_every = 0 }\n[grid]\noptim.lr = [1e-3, 2e-3, 4e-3]\n",
    )
    .unwrap();
    let out = dir.join("out");
    let o = Command::new(exe())
        .args(["sweep", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--jobs", "2"])
        .current_dir(common::root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(lines.len(), 3, "{err}");
    for (k, l) in lines.iter().enumerate() {
        assert!(l.starts_with(&format!("[{}/3] ", k + 1)) && l.contains(" done val ") && l.contains(" elapsed ") && l.contains(" eta "), "{l}");
    }
    assert!(lines[2].ends_with("eta 0.0s"), "{}", lines[2]);

    let df = read_parquet(&out.join("results.parquet")).unwrap();
    assert_eq!(df.height(), 3);
    let dtype = |c: &str| df.column(c).unwrap_or_else(|_| panic!("no column {c}")).dtype().clone();
    for c in ["cfg.model.d_model", "cfg.data.batch_size", "cfg.train.steps", "cfg.seed", "steps", "tokens", "n_params"] {
        assert_eq!(dtype(c), DataType::Int64, "{c}");
    }
    for c in ["cfg.model.norm.scalar_alpha", "cfg.model.norm.no_qk_norm", "diverged", "prov.git_dirty"] {
        assert_eq!(dtype(c), DataType::Boolean, "{c}");
    }
    for c in ["cfg.optim.lr", "final_val_loss", "wall_s"] {
        assert_eq!(dtype(c), DataType::Float64, "{c}");
    }
    for c in ["run_id", "status", "cfg.arch", "prov.git_commit", "prov.cpu_model", "prov.start_time"] {
        assert_eq!(dtype(c), DataType::String, "{c}");
    }
    let report = read_parquet(&out.join("report.parquet")).unwrap();
    assert!(report.height() >= 1);
    for (c, t) in [("n", DataType::Int64), ("seeds", DataType::Int64), ("at_edge", DataType::Boolean), ("kind", DataType::String)] {
        assert_eq!(report.column(c).unwrap().dtype(), &t, "report.parquet {c}");
    }
    // HParams: each run knows its swept key; the sweep root holds the experiment.
    for id in df.column("run_id").unwrap().str().unwrap().iter().flatten() {
        let hp = std::fs::read_to_string(out.join("runs").join(id).join("hparams.json")).unwrap();
        assert!(hp.starts_with("[[\"optim.lr\","), "{hp}");
    }
    let exp = out.join("tb/events.out.tfevents.0.normlab-experiment");
    let recs = records(&exp);
    assert_eq!(recs.len(), 2);
    assert!(contains(&recs[1], b"_hparams_/experiment") && contains(&recs[1], b"optim.lr"));
}

#[test]
fn with_a_terminal_the_bar_stays_and_no_step_lines_are_printed() {
    // util-linux `script` gives the child a pseudo-terminal; skip where it is missing.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: no `script` for a pseudo-terminal");
        return;
    }
    let dir = common::tmpdir("records-tty");
    let typescript = dir.join("typescript");
    let cmd =
        format!("{} train experiments/gpt-tiny.toml --out {} --set train.steps=40 {}", exe().display(), dir.join("run").display(), TINY.join(" "));
    let o = Command::new("script").args(["-qec", &cmd]).arg(&typescript).current_dir(common::root()).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&std::fs::read(&typescript).unwrap()).to_string();
    // indicatif redraws at most 20 times a second: some position of the bar, not necessarily the last.
    assert!(text.contains("] step ") && text.contains("/40 loss"), "{text}");
    assert!(!text.contains("%) loss"), "{text}");
}
