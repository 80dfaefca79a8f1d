//! Opening a wgpu device through burn's fallible constructor (`Device::wgpu_options().init`):
//! no adapter, an API missing from the build, or an adapter that cannot train becomes one
//! error line, on the calling thread, before any kernel runs.

use super::kinds::{DeviceInfo, GraphicsApi};
use anyhow::{Result, anyhow, bail};
use burn::prelude::Device;
use burn::tensor::wgpu::{WgpuBackend, WgpuInitError, wgpu};
use std::sync::Mutex;

/// Devices opened so far, by API: burn initializes a runtime once per process, and a second
/// `init` of the same one is an error, so later callers (a test, a second run) reuse the first.
static OPENED: Mutex<Vec<(GraphicsApi, Device, DeviceInfo)>> = Mutex::new(Vec::new());

/// normlab's `wgpu` feature compiles cubecl's WGSL compiler only (burn's `vulkan` feature would
/// add the SPIR-V one), so every API runs kernels compiled from WGSL by naga.
const SHADER_LANGUAGE: &str = "WGSL";

pub fn open(api: GraphicsApi) -> Result<(Device, DeviceInfo)> {
    let mut opened = OPENED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, device, info)) = opened.iter().find(|(a, ..)| *a == api) {
        return Ok((device.clone(), info.clone()));
    }
    let (device, setup) = Device::wgpu_options().graphics_api(wgpu_backend(api)).init_with_setup().map_err(|e| init_error(e, api))?;
    let adapter = setup.adapter.get_info();
    let info = DeviceInfo {
        device: adapter.name.clone(),
        device_type: if adapter.device_type == wgpu::DeviceType::Cpu { "software" } else { "hardware" }.into(),
        graphics_api: format!("{:?}", adapter.backend),
        shader_language: SHADER_LANGUAGE.into(),
        driver: [adapter.driver.as_str(), adapter.driver_info.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(", "),
    };
    // Training runs kernels that add f32 atomically: an adapter without that (Mesa's GL through
    // llvmpipe) panicked in the first step ("Atomic add not supported by the client for f32").
    if !setup.adapter.features().contains(wgpu::Features::SHADER_FLOAT32_ATOMIC) {
        bail!(
            "--backend wgpu: the {} adapter `{}` has no f32 atomic add (wgpu feature SHADER_FLOAT32_ATOMIC), which training needs; use --graphics-api vulkan (or metal/dx12 where available), or --backend flex",
            info.graphics_api,
            info.device
        );
    }
    opened.push((api, device.clone(), info.clone()));
    Ok((device, info))
}

fn wgpu_backend(api: GraphicsApi) -> WgpuBackend {
    match api {
        GraphicsApi::Vulkan => WgpuBackend::Vulkan,
        GraphicsApi::Metal => WgpuBackend::Metal,
        GraphicsApi::Dx12 => WgpuBackend::Dx12,
        GraphicsApi::Gl => WgpuBackend::Gl,
        GraphicsApi::Auto => WgpuBackend::Auto,
    }
}

/// One line: what was looked for, why it failed, what to do.
fn init_error(e: WgpuInitError, api: GraphicsApi) -> anyhow::Error {
    let others = "--graphics-api metal|dx12|gl|auto to try another API, or --backend flex";
    match e {
        WgpuInitError::AdapterUnavailable { .. } if api == GraphicsApi::Vulkan => {
            let icd = ["VK_DRIVER_FILES", "VK_ICD_FILENAMES"]
                .iter()
                .filter_map(|k| std::env::var(k).ok().map(|v| format!(" ({k}={v})")))
                .collect::<String>();
            anyhow!(
                "--backend wgpu: no Vulkan adapter found{icd}: the Vulkan loader (libvulkan1) found no driver with a device; install the GPU's Vulkan driver (or Debian's mesa-vulkan-drivers for the software lavapipe), or {others}"
            )
        }
        WgpuInitError::AdapterUnavailable { .. } => anyhow!("--backend wgpu: no adapter found on graphics API {}; {others}", api.as_str()),
        WgpuInitError::UnsupportedGraphicsApi { .. } => {
            anyhow!("--backend wgpu: graphics API {} is not available on this platform or build; {others}", api.as_str())
        }
        other => anyhow!("--backend wgpu ({}): {other}; {others}", api.as_str()),
    }
}
