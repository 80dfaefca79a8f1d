//! One process per run directory. The default is `flock(2)` on `DIR/.lock`: the kernel
//! releases it when the holder exits, however it exits (kill -9 included), so a lock is never
//! stale. Local filesystems, NFSv4 and Linux NFSv3 clients (where flock is emulated with
//! byte-range locks through lockd) honour it across machines; NFS mounted with
//! `local_lock=flock|all`, some FUSE and Lustre mounts (without `-o flock`) do not, silently
//! or with ENOLCK/EOPNOTSUPP. There — `NORMLAB_LOCK=excl`, or automatically when flock is
//! refused — an `O_EXCL`-created `DIR/.lock.excl` holding pid, host and a heartbeat (its
//! mtime, touched every few seconds) is used instead; a lock whose heartbeat is older than
//! `NORMLAB_LOCK_STALE_S` (default 60 s) belongs to a dead holder and is taken over.

use anyhow::{Context, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

/// Another process holds the run directory (the `train` command exits with [`BUSY_EXIT`]).
#[derive(Debug)]
pub struct Busy {
    pub dir: PathBuf,
    pub holder: String,
}

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is being trained by another process ({}); not starting a second copy", self.dir.display(), self.holder.trim())
    }
}

impl std::error::Error for Busy {}

/// Exit status of `normlab train` when the run is locked by another process (EX_TEMPFAIL).
pub const BUSY_EXIT: i32 = 75;

/// Held while alive; dropping it (or the process dying) releases the directory.
pub struct RunLock {
    _file: Option<File>,
    excl: Option<(PathBuf, Arc<AtomicBool>)>,
}

fn holder_line() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    format!("pid {} on {} since unix time {now}\n", std::process::id(), host.trim())
}

fn stale_after() -> Duration {
    let s = std::env::var("NORMLAB_LOCK_STALE_S").ok().and_then(|v| v.parse().ok()).unwrap_or(60u64);
    Duration::from_secs(s)
}

impl RunLock {
    /// Take the run directory's lock without waiting; `Err(Busy)` when another process has it.
    pub fn try_acquire(dir: &Path) -> Result<RunLock> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating run directory {}", dir.display()))?;
        if std::env::var("NORMLAB_LOCK").is_ok_and(|v| v == "excl") {
            return Self::try_excl(dir);
        }
        let path = dir.join(".lock");
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let err = std::io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::EWOULDBLOCK) => {
                    let mut holder = String::new();
                    let _ = f.read_to_string(&mut holder);
                    Err(Busy { dir: dir.to_path_buf(), holder }.into())
                }
                // The filesystem does not do flock: fall back to the lock file.
                Some(libc::ENOLCK | libc::EOPNOTSUPP | libc::ENOSYS) => Self::try_excl(dir),
                _ => Err(anyhow::Error::new(err).context(format!("flock {}", path.display()))),
            };
        }
        // Who holds it, for the message a second process prints.
        let _ = f.set_len(0).and_then(|_| f.rewind()).and_then(|_| f.write_all(holder_line().as_bytes()));
        Ok(RunLock { _file: Some(f), excl: None })
    }

    fn try_excl(dir: &Path) -> Result<RunLock> {
        let path = dir.join(".lock.excl");
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    f.write_all(holder_line().as_bytes())?;
                    f.sync_all()?;
                    let stop = Arc::new(AtomicBool::new(false));
                    heartbeat(path.clone(), stop.clone());
                    return Ok(RunLock { _file: None, excl: Some((path, stop)) });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = std::fs::metadata(&path).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    if age.is_some_and(|a| a > stale_after()) {
                        eprintln!(
                            "{}: taking over a stale lock (no heartbeat for {:.0} s): {}",
                            dir.display(),
                            age.unwrap().as_secs_f64(),
                            holder.trim()
                        );
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    return Err(Busy { dir: dir.to_path_buf(), holder }.into());
                }
                Err(e) => {
                    return Err(anyhow::Error::new(e).context(format!("creating {}", path.display())));
                }
            }
        }
        Err(Busy { dir: dir.to_path_buf(), holder: "another process took over the stale lock first".into() }.into())
    }

    /// Whether some process holds `dir` right now (probes and releases at once).
    pub fn is_held(dir: &Path) -> bool {
        if !dir.exists() {
            return false;
        }
        match RunLock::try_acquire(dir) {
            Ok(_) => false,
            Err(e) => e.downcast_ref::<Busy>().is_some(),
        }
    }
}

/// Touch the lock file every stale/6 seconds so other hosts can tell the holder is alive.
fn heartbeat(path: PathBuf, stop: Arc<AtomicBool>) {
    let every = (stale_after() / 6).max(Duration::from_millis(200));
    std::thread::spawn(move || {
        let tick = Duration::from_millis(100);
        let mut waited = Duration::ZERO;
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(tick);
            waited += tick;
            if waited >= every {
                waited = Duration::ZERO;
                if let Ok(f) = OpenOptions::new().write(true).open(&path) {
                    let _ = f.set_modified(SystemTime::now());
                }
            }
        }
    });
}

impl Drop for RunLock {
    fn drop(&mut self) {
        if let Some((path, stop)) = &self.excl {
            stop.store(true, Ordering::SeqCst);
            // Only remove it if it is still ours (a stale takeover may have replaced it).
            let mine = format!("pid {} on", std::process::id());
            if std::fs::read_to_string(path).is_ok_and(|t| t.starts_with(&mine)) {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}
