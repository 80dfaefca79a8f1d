//! Progress for logs without a terminal (nohup, Slurm, `> log 2>&1`): plain lines in place of
//! indicatif's bars, which draw nothing when stderr is not a TTY.

use std::io::IsTerminal;

/// Whether to draw bars: not asked to be quiet and stderr is a terminal.
pub fn bars(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

/// Default line interval of `train` without a terminal: ten lines per run.
pub fn default_log_every(steps: usize) -> usize {
    steps.div_ceil(10).max(1)
}

/// Seconds as `42.0s`, `3m05s` or `2h07m`.
pub fn duration(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "?".into();
    }
    let t = s.round() as u64;
    match t {
        _ if s < 60.0 => format!("{s:.1}s"),
        _ if t < 3600 => format!("{}m{:02}s", t / 60, t % 60),
        _ => format!("{}h{:02}m", t / 3600, t % 3600 / 60),
    }
}

/// `train`'s line: step, percent, loss, elapsed, ETA (from this process's own rate), tok/s.
pub fn step_line(name: &str, done: usize, start: usize, steps: usize, loss: f32, elapsed_s: f64, tok_s: f64) -> String {
    let rate = (done - start) as f64 / elapsed_s.max(1e-9);
    let eta = (steps - done) as f64 / rate;
    format!(
        "{name}: step {done}/{steps} ({:.0}%) loss {loss:.4} elapsed {} eta {} {tok_s:.0} tok/s",
        100.0 * done as f64 / steps.max(1) as f64,
        duration(elapsed_s),
        duration(eta)
    )
}

/// A sweep's line per finished run. The ETA scales the elapsed time by the estimated cost
/// still to run over the cost already finished (runs differ in size by orders of magnitude).
#[allow(clippy::too_many_arguments)]
pub fn run_line(
    done: usize,
    total: usize,
    id: &str,
    status: &str,
    val: Option<f64>,
    run_s: f64,
    elapsed_s: f64,
    cost_done: f64,
    cost_left: f64,
) -> String {
    let eta = if cost_left <= 0.0 { 0.0 } else { elapsed_s * cost_left / cost_done.max(1e-9) };
    format!(
        "[{done}/{total}] {id} {status} val {} run {} elapsed {} eta {}",
        val.map_or("-".to_string(), |v| format!("{v:.4}")),
        duration(run_s),
        duration(elapsed_s),
        duration(eta)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_as_documented() {
        assert_eq!(duration(4.3), "4.3s");
        assert_eq!(duration(185.0), "3m05s");
        assert_eq!(duration(7620.0), "2h07m");
        assert_eq!(step_line("t", 30, 0, 300, 4.5, 10.0, 800.0), "t: step 30/300 (10%) loss 4.5000 elapsed 10.0s eta 1m30s 800 tok/s");
        // 1 of 3 equal-cost runs finished after 10 s: 20 s to go.
        assert_eq!(run_line(1, 3, "abc", "done", Some(4.0), 9.0, 10.0, 1.0, 2.0), "[1/3] abc done val 4.0000 run 9.0s elapsed 10.0s eta 20.0s");
        assert_eq!(default_log_every(300), 30);
        assert_eq!(default_log_every(5), 1);
    }
}
