//! How busy a sweep kept the machine: the children's CPU seconds over wall × the CPUs this
//! process may use. `--jobs × --threads-per-run` is not that bound: a child with
//! RAYON_NUM_THREADS=1 still computes on its main thread *and* its rayon worker, so dividing
//! by the slots once printed "129% of 2 cores busy" on a machine with more logical CPUs.

/// CPUs this process may run on (affinity mask and cgroup quota, as std reports them).
pub fn machine_cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Fraction of `cpus` kept busy: ≤ 1 whenever `cpu_s` was consumed on at most `cpus` CPUs
/// during `wall_s`.
pub fn busy_fraction(cpu_s: f64, wall_s: f64, cpus: usize) -> f64 {
    if wall_s > 0.0 { cpu_s / (wall_s * cpus.max(1) as f64) } else { 0.0 }
}

/// User + system CPU seconds of every child this process has reaped so far (cumulative over
/// the process's life: callers take differences).
pub fn children_cpu_seconds() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 * 1e-6;
    t(u.ru_utime) + t(u.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// More busy children than CPUs, each with two spinning threads (like a training child's
    /// main thread + rayon worker): the reported fraction must still not exceed 100%.
    #[test]
    fn oversubscribed_children_never_exceed_the_machine() {
        let cpus = machine_cpus();
        let before = children_cpu_seconds();
        let t0 = Instant::now();
        // A fixed amount of work (≈ 0.5 CPU-s per spinner), not "until the next whole second":
        // that spun 0–1 s, and under load the children burned too little to test anything.
        let spin = "i=0; while [ $i -lt 500000 ]; do i=$((i+1)); done";
        let kids: Vec<_> =
            (0..cpus + 1).map(|_| std::process::Command::new("sh").arg("-c").arg(format!("({spin}) & {spin}; wait")).spawn().unwrap()).collect();
        for mut k in kids {
            k.wait().unwrap();
        }
        let cpu = children_cpu_seconds() - before;
        let f = busy_fraction(cpu, t0.elapsed().as_secs_f64(), cpus);
        assert!(cpu > 0.5, "the children did burn CPU ({cpu} s)");
        assert!(f <= 1.02, "busy fraction {f} over {cpus} CPUs");
        // The old denominator (one slot per job) overstates it by the threads per child.
        assert!(busy_fraction(cpu, t0.elapsed().as_secs_f64(), 1) > f);
    }
}
