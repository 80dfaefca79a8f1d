//! Pre-flight memory check: estimate a run's peak memory from its shape and refuse, before
//! allocating anything, a run that cannot fit (instead of an OOM kill without a message).
//! Set `NORMLAB_SKIP_MEMORY_CHECK=1` to train anyway when the estimate is wrong.

use crate::config::RunConfig;
use anyhow::{Result, bail};

/// Estimated peak bytes of training `cfg`, split into (weights + grads + Adam, activations).
pub fn estimate(cfg: &RunConfig, vocab: usize) -> (f64, f64) {
    let (d, l, h) = (cfg.model.d_model as f64, cfg.model.n_layer as f64, cfg.model.n_head as f64);
    let (b, t, v) = (cfg.data.batch_size as f64, cfg.data.seq_len as f64, vocab as f64);
    // Per block: q, k, v, o (4d²) + SwiGLU c_fc (8d²) + c_proj (4d²); embedding and readout.
    let params = l * (16.0 * d * d + 2.0 * d) + 2.0 * v * d + d;
    // fp32 weights, gradients, Adam m and v, plus one transient copy during the update.
    let state = 5.0 * 4.0 * params;
    // Saved for backward per token and block: ~30 d-vectors (residuals, norms, q/k/v, the
    // 8d c_fc output, the 4d SwiGLU hidden) and the H·T attention probabilities twice;
    // logits, softmax and their gradient over the vocabulary once per token.
    let act = 4.0 * b * t * (l * (30.0 * d + 2.0 * h * t) + 3.0 * v);
    (state, act)
}

/// Memory this process may use, the smallest of what the system says, and where it came from.
pub fn available() -> Option<(f64, String)> {
    let mut best: Option<(f64, String)> = None;
    let mut offer = |bytes: f64, from: String| {
        if bytes > 0.0 && best.as_ref().is_none_or(|(b, _)| bytes < *b) {
            best = Some((bytes, from));
        }
    };
    let read = |p: &str| std::fs::read_to_string(p).ok().map(|s| s.trim().to_string());
    if let Some(kb) = read("/proc/meminfo")
        .and_then(|m| m.lines().find(|l| l.starts_with("MemAvailable:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
    {
        offer(kb * 1024.0, "MemAvailable in /proc/meminfo".into());
    }
    // The cgroup's own directory, and the namespace root where a container sees only itself.
    let cgroup = read("/proc/self/cgroup").unwrap_or_default();
    for line in cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrl, path) = (parts.next(), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let files: Vec<String> = if ctrl.is_empty() {
            vec![format!("/sys/fs/cgroup{path}/memory.max"), "/sys/fs/cgroup/memory.max".into()]
        } else if ctrl.split(',').any(|c| c == "memory") {
            vec![format!("/sys/fs/cgroup/memory{path}/memory.limit_in_bytes"), "/sys/fs/cgroup/memory/memory.limit_in_bytes".into()]
        } else {
            continue;
        };
        for f in files {
            // "max" (v2) or a huge page-rounded i64 (v1) mean no limit; both fail or exceed 2^60.
            if let Some(v) = read(&f).and_then(|s| s.parse::<f64>().ok())
                && v < 2f64.powi(60)
            {
                offer(v, format!("cgroup limit {f}"));
                break;
            }
        }
    }
    let mb = |k: &str| std::env::var(k).ok().and_then(|v| v.trim_end_matches(['M', 'm']).parse::<f64>().ok());
    if let Some(m) = mb("SLURM_MEM_PER_NODE") {
        offer(m * 1048576.0, "SLURM_MEM_PER_NODE".into());
    }
    if let Some(m) = mb("SLURM_MEM_PER_CPU") {
        let cpus = ["SLURM_CPUS_PER_TASK", "SLURM_CPUS_ON_NODE"].iter().find_map(|k| mb(k)).unwrap_or(1.0);
        offer(m * cpus * 1048576.0, format!("SLURM_MEM_PER_CPU × {cpus} CPUs"));
    }
    best
}

fn gib(b: f64) -> String {
    format!("{:.2} GiB", b / 1073741824.0)
}

/// Refuse a run whose estimate exceeds the available memory.
pub fn check(cfg: &RunConfig, vocab: usize) -> Result<()> {
    if std::env::var("NORMLAB_SKIP_MEMORY_CHECK").is_ok_and(|v| v == "1") {
        return Ok(());
    }
    let (state, act) = estimate(cfg, vocab);
    let Some((avail, from)) = available() else {
        return Ok(());
    };
    if state + act > avail {
        bail!(
            "{}: model.d_model = {}, model.n_layer = {}, data.batch_size = {}, data.seq_len = {} need an estimated {} \
             (weights + gradients + Adam state {}, activations {}), more than the {} available ({from}); \
             reduce model.d_model or data.batch_size (NORMLAB_SKIP_MEMORY_CHECK=1 trains anyway)",
            cfg.name,
            cfg.model.d_model,
            cfg.model.n_layer,
            cfg.data.batch_size,
            cfg.data.seq_len,
            gib(state + act),
            gib(state),
            gib(act),
            gib(avail)
        );
    }
    Ok(())
}
