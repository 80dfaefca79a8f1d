//! What a command asks to compute on (the backend; for wgpu the graphics API) and what it
//! actually opened ([`DeviceInfo`], recorded in summary.json's provenance).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// burn-flex, pure-Rust CPU (default).
    #[default]
    Flex,
    /// WebGPU through Vulkan (or the API `--graphics-api` names); needs `--features wgpu`.
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
}

/// The graphics API wgpu runs on. Vulkan unless asked: it is the API every GPU vendor ships
/// on Linux and the one CI checks (lavapipe); the others only when named.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "snake_case")]
pub enum GraphicsApi {
    #[default]
    Vulkan,
    Metal,
    Dx12,
    /// OpenGL (ES): no f32 atomics on Mesa's llvmpipe, so refused there (`backend/wgpu.rs`).
    Gl,
    /// wgpu's own choice: Vulkan, else DX12, else GL (Metal on macOS).
    Auto,
}

impl GraphicsApi {
    pub fn as_str(self) -> &'static str {
        match self {
            GraphicsApi::Vulkan => "vulkan",
            GraphicsApi::Metal => "metal",
            GraphicsApi::Dx12 => "dx12",
            GraphicsApi::Gl => "gl",
            GraphicsApi::Auto => "auto",
        }
    }
}

/// What a run computed on, as summary.json's provenance records it (flattened, so each field
/// becomes a `prov.*` column of results.parquet).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DeviceInfo {
    /// The adapter's name (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)", "NVIDIA H100 80GB HBM3");
    /// "CPU" on flex.
    pub device: String,
    /// "hardware" (a GPU), "software" (a CPU rasterizer such as Mesa's lavapipe) or "cpu" (flex).
    pub device_type: String,
    /// "Vulkan", "Metal", "Dx12", "Gl", "CUDA"; empty on flex.
    pub graphics_api: String,
    /// The shader language the kernels are compiled to ("WGSL", "SPIR-V", "MSL"); empty on flex.
    pub shader_language: String,
    /// The driver and its version as the adapter reports them (e.g. "llvmpipe, Mesa 22.3.6").
    pub driver: String,
}

impl DeviceInfo {
    pub fn flex() -> Self {
        DeviceInfo { device: "CPU".into(), device_type: "cpu".into(), ..Default::default() }
    }

    #[cfg(feature = "cuda")]
    pub(super) fn cuda() -> Self {
        DeviceInfo { device: "cuda:0".into(), device_type: "hardware".into(), graphics_api: "CUDA".into(), ..Default::default() }
    }

    /// How a run names its device: `wgpu: llvmpipe (…) [software, Vulkan, WGSL]`, `flex (CPU)`.
    pub fn describe(&self, backend: Backend) -> String {
        if self.graphics_api.is_empty() {
            return format!("{} ({})", backend.as_str(), self.device);
        }
        let mut tags = vec![self.device_type.as_str(), self.graphics_api.as_str()];
        if !self.shader_language.is_empty() {
            tags.push(&self.shader_language);
        }
        format!("{}: {} [{}]", backend.as_str(), self.device, tags.join(", "))
    }
}
