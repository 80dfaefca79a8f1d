//! Where and from what a run came: the build (git commit, dirty flag, normlab and burn
//! versions, set by build.rs), the machine (host, CPU model, threads), the device it computed
//! on and the run's UTC start and end, recorded in summary.json (and so in results.parquet as
//! `prov.*` columns).

use crate::backend::DeviceInfo;
use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Provenance {
    /// `git rev-parse HEAD` at build time, or "unknown" when not built from a checkout.
    pub git_commit: String,
    /// Uncommitted changes in the checkout at build time (None: not built from a checkout).
    pub git_dirty: Option<bool>,
    pub normlab_version: String,
    pub burn_version: String,
    pub host: String,
    pub cpu_model: String,
    pub threads: usize,
    /// The device opened for the run (adapter name, hardware or software, graphics API,
    /// shader language, driver); flattened into `device`, `device_type`, ... keys.
    #[serde(flatten)]
    pub device: DeviceInfo,
    /// RFC 3339 UTC.
    pub start_time: String,
    pub end_time: String,
}

/// The build a run came from: the commit of the checkout the binary was built from and its
/// dirty flag. Two dirty builds of one commit look alike (the uncommitted diff is not
/// recorded), and so do all builds made outside a git checkout ("unknown").
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Build {
    pub commit: String,
    pub dirty: Option<bool>,
}

impl Build {
    /// This binary's build.
    pub fn current() -> Self {
        let dirty = match env!("NORMLAB_GIT_DIRTY") {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
        Build { commit: env!("NORMLAB_GIT_COMMIT").to_string(), dirty }
    }
}

/// "14263c3", "14263c3+dirty", "unknown".
impl std::fmt::Display for Build {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.commit.is_empty() {
            return write!(f, "unknown");
        }
        let short: String = self.commit.chars().take(if self.commit.chars().all(|c| c.is_ascii_hexdigit()) { 7 } else { 40 }).collect();
        write!(f, "{short}{}", if self.dirty == Some(true) { "+dirty" } else { "" })
    }
}

impl Provenance {
    /// Everything but the end time, taken when the run starts.
    pub fn at_start(threads: usize, device: DeviceInfo) -> Self {
        let build = Build::current();
        Self {
            git_commit: build.commit,
            git_dirty: build.dirty,
            normlab_version: env!("CARGO_PKG_VERSION").to_string(),
            burn_version: env!("NORMLAB_BURN_VERSION").to_string(),
            host: hostname(),
            cpu_model: cpu_model(),
            threads,
            device,
            start_time: rfc3339(SystemTime::now()),
            end_time: String::new(),
        }
    }

    pub fn build(&self) -> Build {
        Build { commit: self.git_commit.clone(), dirty: self.git_dirty }
    }

    pub fn finish(mut self) -> Self {
        self.end_time = rfc3339(SystemTime::now());
        self
    }
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) } == 0;
    let name = if ok { String::from_utf8_lossy(&buf[..buf.iter().position(|&b| b == 0).unwrap_or(0)]).to_string() } else { String::new() };
    if name.is_empty() { "unknown".into() } else { name }
}

/// The first `model name` of /proc/cpuinfo ("unknown" where there is none, e.g. macOS, ARM).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| t.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_string()))
        .unwrap_or_else(|| "unknown".into())
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a time (UTC, whole seconds).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Howard Hinnant's days-since-epoch → (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + (m <= 2) as i64, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_matches_known_dates() {
        let at = |s: u64| rfc3339(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        // `date -u -d @951782400` (the leap day of a year divisible by 400).
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(at(4_102_444_800), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn build_provenance_is_filled_in() {
        let p = Provenance::at_start(3, DeviceInfo::flex()).finish();
        assert!(!p.git_commit.is_empty());
        assert_eq!(p.burn_version, "0.22.1");
        assert_eq!(p.threads, 3);
        // The device's fields sit beside the others in summary.json (one `prov.*` column each).
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["device"], "CPU");
        assert_eq!(json["device_type"], "cpu");
        assert!(p.start_time.ends_with('Z') && p.end_time >= p.start_time);
    }
}
