//! Durable files: write to a temporary name, fsync the file, rename, fsync the directory, so
//! after a crash or power loss a path holds either its old or its new bytes, never a mix; and
//! `MANIFEST.json` (size + sha256 per file) so a torn or altered file is detected on load.

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "MANIFEST.json";

/// Write `bytes` to `path` durably (see the module doc).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_via(path, |tmp| {
        let mut f = std::fs::File::create(tmp)?;
        f.write_all(bytes)?;
        Ok(())
    })
}

/// Let `write` produce the file at a temporary path (a Parquet or safetensors writer), then
/// fsync it and rename it over `path`. A failed write removes the temporary file, so a full
/// disk is not left fuller, and `path` keeps its previous contents.
pub fn write_via(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = tmp_path(path);
    let res = write(&tmp)
        .and_then(|_| sync_file(&tmp))
        .and_then(|_| std::fs::rename(&tmp, path).with_context(|| format!("renaming {} → {}", tmp.display(), path.display())));
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(explain(e, path));
    }
    sync_dir(path.parent().unwrap_or(Path::new("."))).map_err(|e| explain(e, path))
}

pub fn tmp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp{}", std::process::id()))
}

pub fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path).and_then(|f| f.sync_all()).with_context(|| format!("fsync {}", path.display()))
}

/// fsync a directory, which makes the renames and removals inside it durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let d = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    std::fs::File::open(d).and_then(|f| f.sync_all()).with_context(|| format!("fsync directory {}", d.display()))
}

/// Whether an error chain holds ENOSPC / EDQUOT (disk full or over quota).
pub fn is_disk_full(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .and_then(|io| io.raw_os_error())
            .is_some_and(|code| code == libc::ENOSPC || code == libc::EDQUOT)
            // Writers that flatten the io::Error into text (polars, burn) still say so.
            || c.to_string().contains("No space left on device")
            || c.to_string().contains("Disk quota exceeded")
    })
}

/// Name the file; on a full disk also say what was kept and how to continue.
pub fn explain(e: anyhow::Error, path: &Path) -> anyhow::Error {
    if is_disk_full(&e) {
        e.context(format!(
            "disk full writing {}: nothing already written was replaced (the last complete checkpoint is kept); \
             free space and rerun the same command to resume",
            path.display()
        ))
    } else {
        e.context(format!("writing {}", path.display()))
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub size: u64,
    pub sha256: String,
}

/// `MANIFEST.json` of a directory: file name → size and sha256.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub files: BTreeMap<String, Entry>,
}

pub fn entry_of(path: &Path) -> Result<Entry> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(entry_of_bytes(&bytes))
}

pub fn entry_of_bytes(bytes: &[u8]) -> Entry {
    Entry { size: bytes.len() as u64, sha256: format!("{:x}", Sha256::digest(bytes)) }
}

impl Manifest {
    /// Entries for `names` (files already in `dir`).
    pub fn of_files(dir: &Path, names: &[&str]) -> Result<Self> {
        let mut m = Manifest::default();
        for n in names {
            m.files.insert(n.to_string(), entry_of(&dir.join(n))?);
        }
        Ok(m)
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        write_atomic(&dir.join(MANIFEST), serde_json::to_string_pretty(self)?.as_bytes())
    }

    /// `Ok(None)` when `dir` has no manifest; an error when it has an unreadable one.
    pub fn read(dir: &Path) -> Result<Option<Self>> {
        let p = dir.join(MANIFEST);
        match std::fs::read_to_string(&p) {
            Ok(text) => Ok(Some(serde_json::from_str(&text).with_context(|| format!("{}: unreadable manifest", p.display()))?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow!(e).context(format!("reading {}", p.display()))),
        }
    }

    /// Every listed file exists with the recorded size and sha256.
    pub fn verify(&self, dir: &Path) -> Result<()> {
        for (name, want) in &self.files {
            let p = dir.join(name);
            let got = entry_of(&p)?;
            if got.size != want.size {
                bail!("{}: {} bytes, the manifest records {} (torn or truncated)", p.display(), got.size, want.size);
            }
            if got.sha256 != want.sha256 {
                bail!("{}: sha256 differs from the manifest (corrupt)", p.display());
            }
        }
        Ok(())
    }
}

/// Check one file against its directory's manifest, where the manifest lists it (files written
/// before a manifest existed, or while a run is in progress, have no entry and pass).
pub fn verify_file(path: &Path) -> Result<()> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(());
    };
    let Some(m) = Manifest::read(dir)? else {
        return Ok(());
    };
    let Some(want) = m.files.get(&*name.to_string_lossy()) else {
        return Ok(());
    };
    Manifest { files: BTreeMap::from([(name.to_string_lossy().to_string(), want.clone())]) }.verify(dir)
}
