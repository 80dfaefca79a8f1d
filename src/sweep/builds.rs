//! Which builds a sweep's finished runs come from. A run id is the hash of its config, not of
//! the code, so a sweep resumed after a code change merges old and new runs under one table;
//! results of two builds need not agree bit for bit (η* moved between builds that differed
//! only in f32 summation order). `sweep merge`, `sweep status`, `report` and report.html say
//! so when a sweep mixes builds, `sweep` warns on resume, and `sweep --rerun-other-builds`
//! moves the other builds' runs aside (under `<out>/other-builds/`, nothing deleted) so that
//! they are retrained by this binary.

use crate::record::lock::RunLock;
use crate::record::provenance::Build;
use crate::record::{RunDir, Status};
use anyhow::{Context, Result};
use polars::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The finished (done or diverged) runs of a sweep by the build that trained them; a run
/// without recorded provenance counts under the build "unknown".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Builds {
    pub runs: BTreeMap<Build, Vec<String>>,
}

impl Builds {
    pub fn is_mixed(&self) -> bool {
        self.runs.len() > 1
    }

    /// "14263c3: 120 runs, 58ee978+dirty: 72 runs", the largest first.
    pub fn describe(&self) -> String {
        let mut v: Vec<(&Build, usize)> = self.runs.iter().map(|(b, ids)| (b, ids.len())).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v.iter().map(|(b, n)| format!("{b}: {n} run{}", if *n == 1 { "" } else { "s" })).collect::<Vec<_>>().join(", ")
    }

    /// The warning every command prints for a mixed sweep; None when one build made every run.
    pub fn warning(&self) -> Option<String> {
        self.is_mixed().then(|| {
            format!(
                "the finished runs of this sweep come from {} builds ({}): results of different builds need not agree bit for bit; \
                 `normlab sweep FILE --rerun-other-builds` retrains the runs of every build but the binary's",
                self.runs.len(),
                self.describe()
            )
        })
    }

    /// Ids of the runs from any build other than `b`.
    pub fn other_than(&self, b: &Build) -> Vec<String> {
        self.runs.iter().filter(|(k, _)| *k != b).flat_map(|(_, ids)| ids.iter().cloned()).collect()
    }

    fn add(&mut self, build: Build, id: String) {
        self.runs.entry(build).or_default().push(id);
    }
}

fn unknown() -> Build {
    Build { commit: "unknown".into(), dirty: None }
}

fn finished(s: Status) -> bool {
    matches!(s, Status::Done | Status::Diverged)
}

/// The builds of the finished runs under `out/runs/` (what `sweep status` and the resume
/// check read).
pub fn of_run_dirs(out: &Path) -> Builds {
    let mut b = Builds::default();
    for (id, dir) in super::merge::run_dirs(out) {
        if let Some(s) = dir.read_summary().filter(|s| finished(s.status)) {
            b.add(s.provenance.map(|p| p.build()).unwrap_or_else(unknown), id);
        }
    }
    b
}

/// The builds of the finished runs of a merged table (`prov.git_commit`, `prov.git_dirty`;
/// a cool-down branch row is its trunk's run and is not counted again).
pub fn of_results(df: &DataFrame) -> Result<Builds> {
    let n = df.height();
    let text = |name: &str| -> Result<Vec<Option<String>>> {
        Ok(match df.column(name) {
            Ok(c) => c.cast(&DataType::String)?.str()?.iter().map(|v| v.map(str::to_string)).collect(),
            Err(_) => vec![None; n],
        })
    };
    let (ids, status, branch_of, commit) = (text("run_id")?, text("status")?, text("branch_of")?, text("prov.git_commit")?);
    let dirty: Vec<Option<bool>> = match df.column("prov.git_dirty") {
        Ok(c) => c.cast(&DataType::Boolean)?.bool()?.iter().collect(),
        Err(_) => vec![None; n],
    };
    let mut b = Builds::default();
    for i in 0..n {
        let done = matches!(status[i].as_deref(), Some("done" | "diverged"));
        if !done || branch_of[i].is_some() {
            continue;
        }
        let build = match &commit[i] {
            Some(c) => Build { commit: c.clone(), dirty: dirty[i] },
            None => unknown(),
        };
        b.add(build, ids[i].clone().unwrap_or_default());
    }
    Ok(b)
}

/// The builds of `dir/results.parquet`.
pub fn of_results_file(dir: &Path) -> Result<Builds> {
    of_results(&super::merge::read_results(dir)?)
}

/// What `--rerun-other-builds` set aside.
#[derive(Clone, Debug, Default)]
pub struct SetAside {
    /// (run id, its build, where it went).
    pub moved: Vec<(String, String, PathBuf)>,
}

/// Move every run directory under `out/runs/` that this binary (`current`) would not have
/// produced to `out/other-builds/<build>/<id>/`, so the sweep retrains it: finished,
/// interrupted or failed runs of another build, and unfinished ones whose build is not
/// recorded (a checkpoint without a summary: resuming it would mix two builds in one run).
/// Failed runs without provenance (the runner's record of a child that died) have no result
/// and stay. Each directory moves under its run lock, so a run another process is training
/// stops the move with an error before anything moves.
pub fn set_aside_other_builds(out: &Path, current: &Build) -> Result<SetAside> {
    let mut todo: Vec<(String, RunDir, String)> = Vec::new();
    for (id, dir) in super::merge::run_dirs(out) {
        let build = match dir.read_summary() {
            Some(s) => match s.provenance {
                Some(p) => Some(p.build()),
                None if s.status == Status::Failed => continue,
                None => None,
            },
            None if dir.checkpoint().exists() => None,
            None => continue,
        };
        if build.as_ref() != Some(current) {
            todo.push((id, dir, build.map_or_else(|| "unrecorded".into(), |b| b.to_string())));
        }
    }
    let mut locks = Vec::new();
    for (_, dir, _) in &todo {
        locks.push(RunLock::try_acquire(&dir.root).with_context(|| format!("--rerun-other-builds: not moving {}", dir.root.display()))?);
    }
    let mut done = SetAside::default();
    for ((id, dir, build), _lock) in todo.into_iter().zip(locks) {
        let parent = out.join("other-builds").join(build.replace(['/', ' '], "_"));
        std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
        let mut dest = parent.join(&id);
        let mut k = 2;
        while dest.exists() {
            dest = parent.join(format!("{id}.{k}"));
            k += 1;
        }
        std::fs::rename(&dir.root, &dest).with_context(|| format!("moving {} to {}", dir.root.display(), dest.display()))?;
        done.moved.push((id, build, dest));
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(c: &str, dirty: Option<bool>) -> Build {
        Build { commit: c.into(), dirty }
    }

    #[test]
    fn one_build_is_not_mixed_and_a_dirty_twin_is_another_build() {
        let mut b = Builds::default();
        for i in 0..3 {
            b.add(build("14263c3aaaa", Some(false)), format!("r{i}"));
        }
        assert!(!b.is_mixed() && b.warning().is_none());
        b.add(build("14263c3aaaa", Some(true)), "r9".into());
        assert!(b.is_mixed());
        assert_eq!(b.describe(), "14263c3: 3 runs, 14263c3+dirty: 1 run");
        assert_eq!(b.other_than(&build("14263c3aaaa", Some(false))), vec!["r9".to_string()]);
        assert!(b.warning().unwrap().contains("2 builds (14263c3: 3 runs, 14263c3+dirty: 1 run)"));
    }

    #[test]
    fn the_merged_table_counts_finished_runs_once_and_unrecorded_ones_as_unknown() {
        let df = df!(
            "run_id" => ["a", "a@100", "b", "c", "d", "e"],
            "status" => ["done", "done", "diverged", "failed", "done", "pending"],
            "branch_of" => [None, Some("a"), None, None, None, None],
            "prov.git_commit" => [Some("aaaaaaaaaa"), Some("aaaaaaaaaa"), Some("bbbbbbbbbb"), Some("cccccccccc"), None, None],
            "prov.git_dirty" => [Some(false), Some(false), Some(true), Some(false), None, None],
        )
        .unwrap();
        let b = of_results(&df).unwrap();
        assert_eq!(b.describe(), "aaaaaaa: 1 run, bbbbbbb+dirty: 1 run, unknown: 1 run");
        assert_eq!(b.runs.values().map(Vec::len).sum::<usize>(), 3, "the branch row, the failed and the pending run are not counted");
    }
}
