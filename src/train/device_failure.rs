//! A GPU backend reports a failure of its device (out of memory, a lost device) by panicking
//! inside burn/cubecl. While a run trains on such a backend, the panic is caught on the
//! training thread and becomes the run's error: one line naming the step, what the device
//! said and the checkpoint kept on disk, which the same command resumes from.

use crate::backend::Backend;
use anyhow::anyhow;
use std::panic::AssertUnwindSafe;

/// `work`, or the first line of its panic message. Only on GPU backends (on flex a panic is a
/// bug and keeps its message and backtrace); the panic hook is silenced while `work` runs, so
/// the run's error line is the only output.
pub fn on_device<R>(backend: Backend, work: impl FnOnce() -> R) -> Result<R, String> {
    if backend == Backend::Flex {
        return Ok(work());
    }
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(AssertUnwindSafe(work));
    std::panic::set_hook(hook);
    result.map_err(|payload| {
        let msg = payload.downcast_ref::<String>().cloned().or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()));
        msg.unwrap_or_else(|| "the device failed without a message".into()).lines().next().unwrap_or_default().to_string()
    })
}

/// The run's error after the device failed at `step`, `checkpoint` being the step of the last
/// checkpoint on disk.
pub fn device_failed(name: &str, step: usize, checkpoint: Option<usize>, msg: &str) -> anyhow::Error {
    let kept = match checkpoint {
        Some(k) => format!("its last checkpoint (step {k}) is kept: rerun the same command to resume from it"),
        None => "no checkpoint was written yet (train.checkpoint_every)".into(),
    };
    let hint = if msg.to_lowercase().contains("memory") { " (out of device memory: a smaller data.batch_size or model needs less)" } else { "" };
    anyhow!("{name}: the device failed at step {step}: {msg}{hint}; {kept}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_panic_becomes_one_line_naming_the_step_and_the_kept_checkpoint() {
        let caught = on_device(Backend::Wgpu, || -> u32 { panic!("Out of memory: allocation of 4 GiB failed\nsecond line") });
        let msg = caught.unwrap_err();
        assert_eq!(msg, "Out of memory: allocation of 4 GiB failed");
        let e = device_failed("gpt-tiny", 120, Some(100), &msg).to_string();
        assert!(e.starts_with("gpt-tiny: the device failed at step 120: Out of memory"), "{e}");
        assert!(e.contains("smaller data.batch_size") && e.contains("last checkpoint (step 100) is kept") && !e.contains('\n'), "{e}");
        assert_eq!(on_device(Backend::Wgpu, || 7), Ok(7));
    }
}
