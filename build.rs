//! Build provenance for summary.json: git commit and dirty flag of the checkout (if this is
//! one; "unknown" otherwise, never an error) and the burn version from Cargo.lock.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    // Only this crate's own checkout counts (not a parent repository it was unpacked into).
    let manifest = std::env::var("CARGO_MANIFEST_DIR").ok().and_then(|d| std::fs::canonicalize(d).ok());
    let top = git(&["rev-parse", "--show-toplevel"]).and_then(|t| std::fs::canonicalize(t).ok());
    let own = manifest.is_some() && top == manifest;
    let commit = git(&["rev-parse", "HEAD"]).filter(|c| own && !c.is_empty());
    let dirty = match &commit {
        Some(_) => git(&["status", "--porcelain", "--untracked-files=no"]).map(|s| (!s.is_empty()).to_string()),
        None => None,
    };
    println!("cargo:rustc-env=NORMLAB_GIT_COMMIT={}", commit.as_deref().unwrap_or("unknown"));
    println!("cargo:rustc-env=NORMLAB_GIT_DIRTY={}", dirty.as_deref().unwrap_or("unknown"));
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let burn = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"burn\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=NORMLAB_BURN_VERSION={burn}");
    // Rerun when the commit, the index or the sources change (so the dirty flag follows edits).
    for p in ["HEAD", "index"] {
        if let Some(path) = git(&["rev-parse", "--git-path", p]) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    if let Some(refs) = git(&["rev-parse", "--symbolic-full-name", "HEAD"]).and_then(|r| git(&["rev-parse", "--git-path", &r])) {
        println!("cargo:rerun-if-changed={refs}");
    }
    for p in ["src", "Cargo.toml", "Cargo.lock", "build.rs"] {
        println!("cargo:rerun-if-changed={p}");
    }
}
