//! Which device a command computes on: the backend (`--backend`), for wgpu the graphics API
//! (`--graphics-api`), opened once per process through burn's fallible constructor, and what
//! was actually opened ([`DeviceInfo`], recorded in summary.json's provenance).

use super::kinds::{Backend, DeviceInfo, GraphicsApi};
use anyhow::{Result, bail};
use burn::prelude::Device;

/// The device options every computing command takes.
#[derive(clap::Args, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceSpec {
    /// Where to compute: flex (CPU), wgpu (GPU through Vulkan; build with --features wgpu),
    /// cuda (build with --features cuda).
    #[arg(long, value_enum, default_value_t = Backend::Flex)]
    pub backend: Backend,
    /// With --backend wgpu: the graphics API (default vulkan; the others only when named).
    #[arg(long, value_enum)]
    pub graphics_api: Option<GraphicsApi>,
}

impl DeviceSpec {
    pub const FLEX: DeviceSpec = DeviceSpec { backend: Backend::Flex, graphics_api: None };

    pub fn wgpu(api: GraphicsApi) -> Self {
        DeviceSpec { backend: Backend::Wgpu, graphics_api: Some(api) }
    }

    /// The same options as command-line arguments (what a sweep passes to its `train` children).
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec!["--backend".to_string(), self.backend.as_str().to_string()];
        if let Some(api) = self.graphics_api {
            args.extend(["--graphics-api".to_string(), api.as_str().to_string()]);
        }
        args
    }

    /// The plain (non-autodiff) device, and what it is. Training uses `.autodiff()` of it.
    /// Opened once per process and graphics API (burn refuses to initialize a runtime twice);
    /// later calls return the same device.
    pub fn open(&self) -> Result<(Device, DeviceInfo)> {
        if self.graphics_api.is_some() && self.backend != Backend::Wgpu {
            bail!("--graphics-api applies to --backend wgpu only (this run asked for --backend {})", self.backend.as_str());
        }
        match self.backend {
            Backend::Flex => Ok((Device::flex(), DeviceInfo::flex())),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => super::wgpu::open(self.graphics_api.unwrap_or_default()),
            #[cfg(feature = "cuda")]
            Backend::Cuda => Ok((Device::cuda(0), DeviceInfo::cuda())),
            #[allow(unreachable_patterns)]
            other => bail!(
                "--backend {0}: not compiled into this binary (built without the `{0}` feature); rebuild with `cargo build --release --features {0}`, or use --backend flex",
                other.as_str()
            ),
        }
    }
}
