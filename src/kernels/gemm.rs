//! The one call into the `gemm` crate that the fused kernels share: strided f32 operands, the
//! destination written without being read.

/// A strided f32 matrix operand: element (i, j) at `ptr + i·rs + j·cs`.
#[derive(Clone, Copy)]
pub struct Mat {
    pub ptr: *const f32,
    pub rs: isize,
    pub cs: isize,
}

impl Mat {
    pub fn new(ptr: *const f32, rs: isize, cs: isize) -> Self {
        Self { ptr, rs, cs }
    }
    /// Row-major with row stride `rs`.
    pub fn rows(ptr: *const f32, rs: usize) -> Self {
        Self::new(ptr, rs as isize, 1)
    }
    /// The transpose, as a view: no data moves.
    pub fn t(self) -> Self {
        Self::new(self.ptr, self.cs, self.rs)
    }
}

/// dst = scale · lhs·rhs for lhs m×k, rhs k×n, dst m×n. `dst` is written, never read, so it may
/// be uninitialized memory. `parallel` lets the crate split the product over rayon's threads.
///
/// # Safety
/// Every element the strides address must lie inside its allocation; `dst` must not alias.
#[allow(clippy::too_many_arguments)] // BLAS's own shape: sizes, three operands, scale, threading
pub unsafe fn gemm(m: usize, n: usize, k: usize, dst: Mat, lhs: Mat, rhs: Mat, scale: f32, parallel: bool) {
    let par = if parallel { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None };
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.ptr as *mut f32,
            dst.cs,
            dst.rs,
            false,
            lhs.ptr,
            lhs.cs,
            lhs.rs,
            rhs.ptr,
            rhs.cs,
            rhs.rs,
            0.0,
            scale,
            false,
            false,
            false,
            par,
        )
    }
}
