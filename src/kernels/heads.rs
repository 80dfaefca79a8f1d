//! Per-head access to [B, H, T, Dh] f32 flex tensors through their strides, shared by the
//! kernels that work one (batch, head) at a time.

use burn::backend::flex::{FlexTensor, Layout};
use burn::tensor::{DType, TensorData};

/// A [B, H, T, Dh] f32 tensor whose Dh axis is unit-stride and whose strides are non-negative,
/// copying only when it is not (head splits and RoPE outputs already are).
pub fn readable(x: FlexTensor) -> FlexTensor {
    assert_eq!(x.dtype(), DType::F32, "fused per-head kernels: f32 only");
    let l = x.layout();
    if l.num_dims() == 4 && l.strides()[3] == 1 && l.strides().iter().all(|s| *s >= 0) { x } else { x.to_contiguous() }
}

/// Where head (b, h) of a [B, H, T, Dh] tensor starts, and its row (T-axis) stride.
#[derive(Clone, Copy)]
pub struct Heads {
    pub ptr: *const f32,
    pub offset: usize,
    pub stride_b: usize,
    pub stride_h: usize,
    pub row: usize,
}
// SAFETY: only read, from tensors that outlive the parallel loop.
unsafe impl Send for Heads {}
unsafe impl Sync for Heads {}

impl Heads {
    pub fn of(x: &FlexTensor) -> Self {
        let l = x.layout();
        let s = l.strides();
        Self { ptr: x.storage::<f32>().as_ptr(), offset: l.start_offset(), stride_b: s[0] as usize, stride_h: s[1] as usize, row: s[2] as usize }
    }
    pub fn head(&self, b: usize, h: usize) -> *const f32 {
        unsafe { self.ptr.add(self.offset + b * self.stride_b + h * self.stride_h) }
    }
}

/// Output buffer for per-head results written from parallel tasks (disjoint regions).
#[derive(Clone, Copy)]
pub struct Out(pub *mut f32);
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl Out {
    /// Pointer to head (b, h) of an output laid out as `layout` says (a method, so closures
    /// capture the whole Send wrapper, not its raw field).
    pub fn head(self, layout: Heads, b: usize, h: usize) -> *mut f32 {
        unsafe { self.0.add(b * layout.stride_b + h * layout.stride_h) }
    }
}

/// A fresh (uninitialized, see [`super::output`]) f32 buffer for a [B, H, T, Dh] result, laid out in memory as [B, T, H, Dh]
/// (`t_major`: merging heads afterwards is free) or [B, H, T, Dh]; with its head pointers and
/// the matching layout.
pub fn alloc(shape: [usize; 4], t_major: bool) -> (Vec<f32>, Heads, Layout) {
    let [b, h, t, d] = shape;
    let mut data = super::output(b * h * t * d);
    let (sb, sh, st) = if t_major { (t * h * d, d, h * d) } else { (h * t * d, t * d, d) };
    let heads = Heads { ptr: data.as_mut_ptr(), offset: 0, stride_b: sb, stride_h: sh, row: st };
    let layout = Layout::new(shape.to_vec().into(), vec![sb as isize, sh as isize, st as isize, 1], 0);
    (data, heads, layout)
}

/// Wrap a buffer from [`alloc`] with its layout.
pub fn tensor(data: Vec<f32>, layout: Layout) -> FlexTensor {
    let n = data.len();
    FlexTensor::from_data(TensorData::new(data, [n])).with_layout(layout)
}

pub fn dims(x: &FlexTensor) -> [usize; 4] {
    let s = x.layout().shape();
    [s[0], s[1], s[2], s[3]]
}
