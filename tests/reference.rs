//! Golden conformance: every check of `verify-reference` against the PyTorch reference
//! folders kept in tests/data/reference (copies of ../shared/reference).

mod common;
use normlab::reference::{print_report, verify};

fn check(folder: &str) {
    let dir = common::root().join("tests/data/reference").join(folder);
    let checks = verify(&dir).unwrap();
    // logits, loss, activations, grads, grad_norm, 3 optimizer-alone, 5 end-to-end checks
    assert!(checks.len() >= 14, "{folder}: only {} checks ran", checks.len());
    assert!(print_report(&checks), "{folder}: verify-reference failed");
}

#[test]
fn gpt_reference_rope() {
    check("gpt");
}

#[test]
fn gpt_standard_rope() {
    check("gpt-stdrope");
}

#[test]
fn ngpt_reference_rope() {
    check("ngpt");
}

#[test]
fn ngpt_standard_rope() {
    check("ngpt-stdrope");
}

/// A wrong rotary function must be caught (the check is not vacuous).
#[test]
fn swapped_rope_folder_fails() {
    let src = common::root().join("tests/data/reference/gpt");
    let dir = common::tmpdir("swapped-rope");
    for f in std::fs::read_dir(&src).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
    }
    let cfg = std::fs::read_to_string(dir.join("config.json")).unwrap().replace("\"reference\"", "\"standard\"");
    std::fs::write(dir.join("config.json"), cfg).unwrap();
    let checks = verify(&dir).unwrap();
    let logits = checks.iter().find(|c| c.name == "logits").unwrap();
    assert!(!logits.pass(), "standard RoPE on the reference-RoPE folder should not match (err {})", logits.err);
}
