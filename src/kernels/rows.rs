//! The per-row loops of the fused kernels, each compiled three times — for the build's
//! baseline (SSE2), with AVX2 + FMA and with AVX-512 — and picked at run time. `exp` is a
//! branch-free polynomial so these loops vectorize; libm's `expf` is a scalar call per element
//! (≈ 7% of a step in `perf`). Reductions keep `LANES` partial sums: a strict left-to-right f32
//! sum cannot be vectorized by the compiler.

/// Defines `pub fn $name` whose body is compiled for the baseline, AVX2 + FMA and AVX-512.
macro_rules! multiversion {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? $body:block) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
                unsafe fn avx512($($arg: $ty),*) $(-> $ret)? { body($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? { body($($arg),*) }
                if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vl") {
                    // SAFETY: the CPU has the features `avx512` was compiled for (AVX-512F implies AVX2, FMA).
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU has the features `avx2` was compiled for.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

/// Partial sums kept by the reductions: one AVX-512 register of f32.
const LANES: usize = 16;

/// Σ f(a_i, b_i) with `LANES` independent partial sums (vectorizable; deterministic order).
#[inline(always)]
fn lane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let n = a.len().min(b.len());
    let mut acc = [0f32; LANES];
    let (head, tail) = (n / LANES * LANES, n % LANES);
    for (ca, cb) in a[..head].chunks_exact(LANES).zip(b[..head].chunks_exact(LANES)) {
        for i in 0..LANES {
            acc[i] += f(ca[i], cb[i]);
        }
    }
    for i in 0..tail {
        acc[i] += f(a[head + i], b[head + i]);
    }
    acc.iter().sum()
}

/// max_i x_i with `LANES` independent partial maxima.
#[inline(always)]
fn lane_max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for i in 0..LANES {
            acc[i] = if c[i] > acc[i] { c[i] } else { acc[i] };
        }
    }
    for (i, &v) in chunks.remainder().iter().enumerate() {
        acc[i] = acc[i].max(v);
    }
    acc.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v))
}

/// e^x, Cephes' single-precision polynomial (≤ 2 ulp on [−87, 88]; inputs are clamped there):
/// e^x = 2ⁿ·e^r with n = round(x·log₂e) and r = x − n·ln 2 taken in two parts.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5·2²³: adding it rounds to an integer in the low bits
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    let r = (x - n * 0.693_359_4) + n * 2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 0.166_666_65) * r + 0.5;
    let e = p * (r * r) + r + 1.0;
    let exponent = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32) + 127;
    e * f32::from_bits((exponent << 23) as u32)
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

multiversion! {
    /// Softmax of `row` in place; returns its log-sum-exp.
    fn softmax(row: &mut [f32]) -> f32 {
        let max = lane_max(row);
        row.iter_mut().for_each(|x| *x = exp(*x - max));
        let sum = lane_sum(row, row, |x, _| x);
        let inv = 1.0 / sum;
        row.iter_mut().for_each(|x| *x *= inv);
        max + sum.ln()
    }
}

multiversion! {
    /// row ← exp(row − shift): softmax probabilities from a saved log-sum-exp.
    fn exp_shifted(row: &mut [f32], shift: f32) {
        row.iter_mut().for_each(|x| *x = exp(*x - shift));
    }
}

multiversion! {
    /// row ← s · exp(row − shift): the cross-entropy gradient before its one-hot term.
    fn exp_shifted_scaled(row: &mut [f32], shift: f32, s: f32) {
        row.iter_mut().for_each(|x| *x = s * exp(*x - shift));
    }
}

multiversion! {
    /// ds ← p ⊙ (ds − δ): the softmax backward of one row, δ = Σ dO ⊙ O.
    fn softmax_backward(ds: &mut [f32], p: &[f32], delta: f32) {
        ds.iter_mut().zip(p).for_each(|(g, &p)| *g = p * (*g - delta));
    }
}

multiversion! {
    /// Σ a ⊙ b.
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        lane_sum(a, b, |a, b| a * b)
    }
}

multiversion! {
    /// y = u ⊙ silu(g).
    fn swiglu(y: &mut [f32], u: &[f32], g: &[f32]) {
        for ((y, &u), &g) in y.iter_mut().zip(u).zip(g) {
            *y = u * (g * sigmoid(g));
        }
    }
}

multiversion! {
    /// du = dy ⊙ g σ(g), dg = dy ⊙ u σ(g) (1 + g (1 − σ(g))).
    fn swiglu_backward(du: &mut [f32], dg: &mut [f32], u: &[f32], g: &[f32], dy: &[f32]) {
        for i in 0..du.len().min(dg.len()).min(u.len()).min(g.len()).min(dy.len()) {
            let s = sigmoid(g[i]);
            du[i] = dy[i] * g[i] * s;
            dg[i] = dy[i] * u[i] * s * (1.0 + g[i] * (1.0 - s));
        }
    }
}

multiversion! {
    /// y = x / div.
    fn divide(y: &mut [f32], x: &[f32], div: f32) {
        y.iter_mut().zip(x).for_each(|(y, x)| *y = x / div);
    }
}

multiversion! {
    /// dx = (dy − proj·y) · inv: the normalization backward of one row.
    fn normalize_backward(dx: &mut [f32], y: &[f32], dy: &[f32], proj: f32, inv: f32) {
        for ((dx, &y), &dy) in dx.iter_mut().zip(y).zip(dy) {
            *dx = (dy - proj * y) * inv;
        }
    }
}

multiversion! {
    /// Rotate interleaved pairs of `x` by the angles whose cosines and (signed) sines are given.
    fn rotate_pairs(y: &mut [f32], x: &[f32], cos: &[f32], sin: &[f32], sign: f32) {
        for (i, (y, x)) in y.chunks_exact_mut(2).zip(x.chunks_exact(2)).enumerate() {
            let (c, s) = (cos[i], sign * sin[i]);
            y[0] = x[0] * c - x[1] * s;
            y[1] = x[0] * s + x[1] * c;
        }
    }
}
