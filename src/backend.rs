//! Device selection at run time. The default build compiles only burn's `flex` CPU backend;
//! `--features wgpu` / `--features cuda` add GPU backends.

use anyhow::{Result, bail};
use burn::prelude::Device;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// burn-flex, pure-Rust CPU (default).
    #[default]
    Flex,
    /// WebGPU/Vulkan (needs `--features wgpu` and a GPU adapter).
    Wgpu,
    /// CUDA (needs `--features cuda`; see README for the offline-build caveat).
    Cuda,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::Wgpu => "wgpu",
            Backend::Cuda => "cuda",
        }
    }

    /// The plain (non-autodiff) device; training uses `.autodiff()` of it.
    pub fn device(self) -> Result<Device> {
        match self {
            Backend::Flex => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => wgpu_device(),
            #[cfg(feature = "cuda")]
            Backend::Cuda => Ok(Device::cuda(0)),
            #[allow(unreachable_patterns)]
            other => bail!(
                "backend `{}` is not compiled into this binary; rebuild with `cargo build --release --features {}`",
                other.as_str(),
                other.as_str()
            ),
        }
    }
}

/// wgpu's device constructor blocks forever when no adapter exists, so probe for one in a
/// helper thread and give up after a few seconds with a clear message.
#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device> {
    use burn::tensor::Tensor;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let d = Device::wgpu(Default::default());
        let t = Tensor::<1>::ones([1], &d);
        let _ = t.into_scalar::<f32>();
        let _ = tx.send(d);
    });
    match rx.recv_timeout(std::time::Duration::from_secs(20)) {
        Ok(d) => Ok(d),
        Err(_) => bail!(
            "--backend wgpu: no GPU adapter answered within 20 s (no Vulkan/Metal/DX12 device or driver?); use --backend flex"
        ),
    }
}

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
