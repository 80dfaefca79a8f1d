//! Where computation runs: device selection (`device.rs`, `wgpu.rs`; the default build
//! compiles only burn's `flex` CPU backend, `--features wgpu` / `--features cuda` add GPU
//! backends) and the CPU side of it here (allocator, denormals, rayon's pool).

mod device;
mod kinds;
#[cfg(feature = "wgpu")]
mod wgpu;

pub use device::DeviceSpec;
pub use kinds::{Backend, DeviceInfo, GraphicsApi};

/// Keep freed tensor buffers in the process heap instead of returning them to the kernel:
/// glibc's defaults (mmap above 128 KiB, trim above 128 KiB) made every step re-fault its
/// activations' pages (≈ 8% of a step in `perf`: page faults, clear_page, munmap).
pub fn tune_allocator() {
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

/// Flush-to-zero + denormals-are-zero for the calling thread (MXCSR bits 15 and 6 on x86-64,
/// FPCR.FZ on aarch64). Near-unstable training produces subnormal floats, which x86 cores
/// handle in microcode: on a Sapphire Rapids a high-LR νGPT step took 8× longer without this.
pub fn set_flush_denormals(on: bool) {
    #[cfg(target_arch = "x86_64")]
    unsafe {
        const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);
        let mut csr: u32 = 0;
        std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack));
        csr = if on { csr | FTZ_DAZ } else { csr & !FTZ_DAZ };
        std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack));
    }
    #[cfg(target_arch = "aarch64")]
    unsafe {
        const FZ: u64 = 1 << 24;
        let mut fpcr: u64;
        std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack));
        fpcr = if on { fpcr | FZ } else { fpcr & !FZ };
        std::arch::asm!("msr fpcr, {}", in(reg) fpcr, options(nomem, nostack));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = on;
}

/// Whether the calling thread flushes denormals (both FTZ and DAZ on x86-64).
pub fn flush_denormals_enabled() -> bool {
    #[cfg(target_arch = "x86_64")]
    unsafe {
        let mut csr: u32 = 0;
        std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack));
        csr & (1 << 15) != 0 && csr & (1 << 6) != 0
    }
    #[cfg(target_arch = "aarch64")]
    unsafe {
        let fpcr: u64;
        std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack));
        fpcr & (1 << 24) != 0
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    false
}

/// Whether the calling thread and every worker of rayon's current pool flush denormals.
pub fn flush_denormals_everywhere() -> bool {
    flush_denormals_enabled() && rayon::broadcast(|_| flush_denormals_enabled()).into_iter().all(|on| on)
}

/// Build rayon's global pool with every worker flushing denormals from its first instruction
/// (the GEMM runs on this pool too: `gemm::Parallelism::Rayon`). Call before anything touches
/// rayon; if the pool already exists (a test harness, a library user) only the calling thread
/// is set here and `apply_flush_denormals` reaches the workers.
pub fn init_threads() {
    set_flush_denormals(true);
    let _ = rayon::ThreadPoolBuilder::new().start_handler(|_| set_flush_denormals(true)).stack_size(WORKER_STACK).build_global();
}

/// Autodiff's backward pass recurses through the graph; give workers the main thread's room.
const WORKER_STACK: usize = 16 << 20;

/// Run `work` on a worker of rayon's global pool rather than on the calling thread. Each
/// kernel's parallel loop then starts inside the pool: from outside, every call hands its job
/// to a worker and sleeps on a futex until it is done, which cost ≈ 13% of a 1-thread step of a
/// d=32 model in `perf` (futex wake-ups and context switches, twice per kernel call).
pub fn on_compute_pool<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| work())
}

/// Set the denormal mode on the calling thread and on every worker of rayon's global pool
/// (a run's `train.flush_denormals`, applied at the start of training).
pub fn apply_flush_denormals(on: bool) {
    set_flush_denormals(on);
    rayon::broadcast(|_| set_flush_denormals(on));
}
