//! The fused flex kernels against their composite references (burn tensor ops), in value and
//! in gradient, on shapes and memory layouts the models produce: head-split views (strided),
//! contiguous RoPE outputs, T not a multiple of any block size.

use burn::prelude::*;
use burn::tensor::Distribution;
use normlab::kernels::{causal_attention, causal_attention_composite};
use normlab::model::layers::split_heads;

fn max_abs_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    (a - b).abs().max().into_scalar::<f32>()
}

/// q, k, v as the models make them: k and v straight from a head split (strided views),
/// q made contiguous like a RoPE output.
fn qkv(b: usize, h: usize, t: usize, dh: usize, device: &Device) -> [Tensor<3>; 3] {
    let x = || Tensor::<3>::random([b, t, h * dh], Distribution::Normal(0.0, 1.0), device).require_grad();
    [x(), x(), x()]
}

fn run(fused: bool, [q, k, v]: &[Tensor<3>; 3], h: usize, scale: f64, upstream: &Tensor<4>) -> (Tensor<4>, [Tensor<3>; 3]) {
    let qh = split_heads(q.clone(), h) * 1.0; // a contiguous copy, as RoPE's output is
    let (kh, vh) = (split_heads(k.clone(), h), split_heads(v.clone(), h));
    let o = if fused { causal_attention(qh, kh, vh, scale) } else { causal_attention_composite(qh, kh, vh, scale) };
    let grads = (o.clone() * upstream.clone()).sum().backward();
    let g = |x: &Tensor<3>| Tensor::<3>::from_data(x.grad(&grads).unwrap().into_data(), &Device::flex());
    (o.inner(), [g(q), g(k), g(v)])
}

#[test]
fn fused_causal_attention_matches_composite_in_value_and_gradient() {
    let device = Device::flex().autodiff();
    device.seed(7);
    for (b, h, t, dh, scale) in [(2, 4, 128, 32, 32f64.powf(-0.5)), (3, 2, 37, 16, 1.0), (1, 8, 5, 8, 10.0)] {
        let inputs = qkv(b, h, t, dh, &device);
        let upstream = Tensor::<4>::random([b, h, t, dh], Distribution::Normal(0.0, 1.0), &device.clone().inner());
        let (o_fused, g_fused) = run(true, &inputs, h, scale, &upstream);
        let (o_ref, g_ref) = run(false, &inputs, h, scale, &upstream);
        let err = max_abs_diff(o_fused, o_ref);
        assert!(err < 2e-6, "forward ({b},{h},{t},{dh}) max |Δ| = {err}");
        for (name, (gf, gr)) in ["dq", "dk", "dv"].iter().zip(g_fused.into_iter().zip(g_ref)) {
            let scale_of = gr.clone().abs().max().into_scalar::<f32>().max(1.0);
            let err = max_abs_diff(gf, gr) / scale_of;
            assert!(err < 1e-5, "{name} ({b},{h},{t},{dh}) relative max |Δ| = {err}");
        }
    }
}

#[test]
fn fused_causal_attention_is_causal() {
    // Changing the last position's k and v must leave every earlier output unchanged.
    let device = Device::flex();
    device.seed(3);
    let (b, h, t, dh) = (2, 2, 16, 8);
    let r = || Tensor::<4>::random([b, h, t, dh], Distribution::Normal(0.0, 1.0), &device);
    let (q, k, v) = (r(), r(), r());
    let o1 = causal_attention(q.clone(), k.clone(), v.clone(), 0.5);
    let bump = Tensor::<4>::zeros([b, h, t - 1, dh], &device);
    let last = Tensor::<4>::ones([b, h, 1, dh], &device) * 5.0;
    let delta = Tensor::cat(vec![bump, last], 2);
    let o2 = causal_attention(q, k + delta.clone(), v + delta, 0.5);
    let early = |o: Tensor<4>| o.narrow(2, 0, t - 1);
    assert_eq!(max_abs_diff(early(o1.clone()), early(o2.clone())), 0.0);
    assert!(max_abs_diff(o1.narrow(2, t - 1, 1), o2.narrow(2, t - 1, 1)) > 1e-3);
}

#[test]
fn flex_devices_take_the_fused_path() {
    assert!(normlab::kernels::is_flex(&Device::flex()));
    assert!(normlab::kernels::is_flex(&Device::flex().autodiff()));
}

#[test]
fn fused_swiglu_matches_composite_in_value_and_gradient() {
    use normlab::kernels::{swiglu, swiglu_composite};
    let device = Device::flex().autodiff();
    device.seed(11);
    for (n, t, d) in [(4, 33, 24), (2, 128, 512)] {
        // Wide pre-activations (std 4) reach sigmoid's saturated tails too.
        let uv = Tensor::<3>::random([n, t, 2 * d], Distribution::Normal(0.0, 4.0), &device).require_grad();
        let upstream = Tensor::<3>::random([n, t, d], Distribution::Normal(0.0, 1.0), &device);
        let run = |f: fn(Tensor<3>) -> Tensor<3>| {
            let y = f(uv.clone());
            let g = uv.grad(&(y.clone() * upstream.clone()).sum().backward()).unwrap();
            (y.inner(), g)
        };
        let (y_fused, g_fused) = run(swiglu);
        let (y_ref, g_ref) = run(swiglu_composite);
        let rel = |a: Tensor<3>, b: Tensor<3>| {
            let s = b.clone().abs().max().into_scalar::<f32>().max(1.0);
            (a - b).abs().max().into_scalar::<f32>() / s
        };
        assert!(rel(y_fused, y_ref) < 1e-6);
        let g_err = rel(g_fused, g_ref);
        assert!(g_err < 1e-6, "gradient relative max |Δ| = {g_err}");
    }
}

#[test]
fn fused_normalizations_match_composite_in_value_and_gradient() {
    use normlab::kernels::{rms_normalize, rms_normalize_composite, unit_norm, unit_norm_composite};
    let device = Device::flex().autodiff();
    device.seed(5);
    let rel = |a: Tensor<4>, b: Tensor<4>| {
        let s = b.clone().abs().max().into_scalar::<f32>().max(1.0);
        (a - b).abs().max().into_scalar::<f32>() / s
    };
    for (b, h, t, w) in [(2, 4, 16, 32), (3, 1, 7, 96)] {
        // A strided view (head split) as input, like q and k.
        let x = Tensor::<3>::random([b, t, h * w], Distribution::Normal(0.0, 3.0), &device).require_grad();
        let upstream = Tensor::<4>::random([b, h, t, w], Distribution::Normal(0.0, 1.0), &device);
        let run = |f: &dyn Fn(Tensor<4>) -> Tensor<4>| {
            let y = f(split_heads(x.clone(), h));
            let g = x.grad(&(y.clone() * upstream.clone()).sum().backward()).unwrap();
            (y.inner(), split_heads(g, h))
        };
        type Op<'a> = &'a dyn Fn(Tensor<4>) -> Tensor<4>;
        let pairs: [(&str, Op, Op); 2] =
            [("rms", &|x| rms_normalize(x), &|x| rms_normalize_composite(x)), ("unit", &|x| unit_norm(x, 3), &|x| unit_norm_composite(x, 3))];
        for (name, fused, composite) in pairs {
            let ((y1, g1), (y2, g2)) = (run(fused), run(composite));
            let (ey, eg) = (rel(y1, y2), rel(g1, g2));
            assert!(ey < 1e-6 && eg < 1e-5, "{name} ({b},{h},{t},{w}): value {ey}, gradient {eg}");
        }
    }
}

#[test]
fn fused_unit_norm_of_a_zero_row_is_zero_with_a_finite_gradient() {
    // The composite's sqrt backward gives NaN at 0; the fused kernel follows x / 1e-12 there.
    use normlab::kernels::unit_norm;
    let device = Device::flex().autodiff();
    let x = Tensor::<2>::zeros([2, 8], &device).require_grad();
    let y = unit_norm(x.clone(), 1);
    let g = x.grad(&y.clone().sum().backward()).unwrap();
    assert_eq!(y.inner().abs().max().into_scalar::<f32>(), 0.0);
    assert!(g.into_data().try_to_vec::<f32>().unwrap().iter().all(|v| v.is_finite()));
}

#[test]
fn fused_rope_matches_composite_in_value_and_gradient() {
    use normlab::config::Rope;
    use normlab::model::layers::{rope, rope_composite};
    let device = Device::flex().autodiff();
    device.seed(9);
    for (b, h, t, dh) in [(2, 4, 128, 32), (1, 3, 9, 6)] {
        let x = Tensor::<3>::random([b, t, h * dh], Distribution::Normal(0.0, 2.0), &device).require_grad();
        let upstream = Tensor::<4>::random([b, h, t, dh], Distribution::Normal(0.0, 1.0), &device);
        let run = |f: &dyn Fn(Tensor<4>) -> Tensor<4>| {
            let y = f(split_heads(x.clone(), h)); // a strided view, as in the models
            let g = x.grad(&(y.clone() * upstream.clone()).sum().backward()).unwrap();
            (y.inner(), g)
        };
        let (y1, g1) = run(&|x| rope(x, Rope::Standard));
        let (y2, g2) = run(&|x| rope_composite(x, Rope::Standard));
        assert!(max_abs_diff(y1, y2) < 1e-5);
        assert!(max_abs_diff(g1, g2) < 1e-5);
    }
}

#[test]
fn polynomial_exp_is_within_a_few_ulp_of_libm() {
    use normlab::kernels::rows::exp;
    let mut worst = 0f64;
    let mut x = -87.0f32;
    while x <= 88.0 {
        let (got, want) = (exp(x) as f64, (x as f64).exp());
        worst = worst.max(((got - want) / want).abs());
        x += 0.001_37;
    }
    assert!(worst < 3.0 * f32::EPSILON as f64, "worst relative error {worst:e}");
    assert_eq!(exp(0.0), 1.0);
    assert!(exp(-1000.0) < 1e-37 && exp(1000.0).is_finite());
}

#[test]
fn fused_matmul_matches_burn_matmul_in_value_and_gradient() {
    use normlab::kernels::matmul;
    let device = Device::flex().autodiff();
    device.seed(13);
    // (n, k, m, x given transposed): the model's token projections (large enough to run
    // multi-threaded), an odd small shape, and an x that is a transposed (strided) view.
    for (n, k, m, transposed) in [(2048, 128, 384, false), (37, 5, 11, false), (64, 48, 20, true)] {
        let x = if transposed {
            Tensor::<2>::random([k, n], Distribution::Normal(0.0, 1.0), &device).require_grad()
        } else {
            Tensor::<2>::random([n, k], Distribution::Normal(0.0, 1.0), &device).require_grad()
        };
        let w = Tensor::<2>::random([k, m], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let upstream = Tensor::<2>::random([n, m], Distribution::Normal(0.0, 1.0), &device.clone().inner());
        let run = |fused: bool| {
            let xv = if transposed { x.clone().transpose() } else { x.clone() };
            let y = if fused { matmul(xv, w.clone()) } else { xv.matmul(w.clone()) };
            let grads = (y.clone() * upstream.clone()).sum().backward();
            (y.inner(), x.grad(&grads).unwrap(), w.grad(&grads).unwrap())
        };
        let (y_f, dx_f, dw_f) = run(true);
        let (y_r, dx_r, dw_r) = run(false);
        let rel = |a: Tensor<2>, b: Tensor<2>| {
            let s = b.clone().abs().max().into_scalar::<f32>().max(1.0);
            max_abs_diff(a, b) / s
        };
        assert!(rel(y_f, y_r) < 1e-6, "y ({n},{k},{m})");
        assert!(rel(dx_f, dx_r) < 1e-6, "dx ({n},{k},{m})");
        assert!(rel(dw_f, dw_r) < 1e-6, "dw ({n},{k},{m})");
    }
}

#[test]
fn fused_mix_matches_composite_in_value_and_gradient() {
    use normlab::kernels::{mix, mix_composite};
    let device = Device::flex().autodiff();
    device.seed(17);
    // Per-channel weights, and scalar ones broadcast (nGPT's `scalar_alpha` ablation); enough
    // rows (2048) that ∂a, ∂b are summed over several row blocks.
    for (n, t, d, len) in [(16, 128, 128, 128), (3, 7, 24, 1)] {
        let r = |shape: [usize; 3]| Tensor::<3>::random(shape, Distribution::Normal(0.0, 1.0), &device).require_grad();
        let (x, y) = (r([n, t, d]), r([n, t, d]));
        let w = || Tensor::<1>::random([len], Distribution::Uniform(-1.0, 1.0), &device).require_grad();
        let (a, b) = (w(), w());
        let upstream = Tensor::<3>::random([n, t, d], Distribution::Normal(0.0, 1.0), &device.clone().inner());
        let run = |fused: bool| {
            let z = if fused {
                mix(x.clone(), y.clone(), a.clone(), b.clone())
            } else {
                mix_composite(x.clone(), y.clone(), a.clone().expand([d]), b.clone().expand([d]))
            };
            let grads = (z.clone() * upstream.clone()).sum().backward();
            let g1 = |p: &Tensor<1>| p.grad(&grads).unwrap();
            (z.inner(), x.grad(&grads).unwrap(), y.grad(&grads).unwrap(), g1(&a), g1(&b))
        };
        let (z_f, dx_f, dy_f, da_f, db_f) = run(true);
        let (z_r, dx_r, dy_r, da_r, db_r) = run(false);
        assert!(max_abs_diff(z_f, z_r) < 1e-6, "z ({n},{t},{d})");
        assert!(max_abs_diff(dx_f, dx_r) < 1e-6, "dx ({n},{t},{d})");
        assert!(max_abs_diff(dy_f, dy_r) < 1e-6, "dy ({n},{t},{d})");
        for (name, gf, gr) in [("da", da_f, da_r), ("db", db_f, db_r)] {
            let scale = gr.clone().abs().max().into_scalar::<f32>().max(1.0);
            let err = max_abs_diff(gf, gr) / scale;
            assert!(err < 1e-5, "{name} ({n},{t},{d}) relative max |Δ| = {err}");
        }
    }
}

#[test]
fn fused_cross_entropy_matches_composite_in_value_and_gradient() {
    use normlab::kernels::{cross_entropy_composite, cross_entropy_rows};
    let device = Device::flex().autodiff();
    device.seed(5);
    // V = 77 (the KJV characters: not a multiple of the 16 lanes), 256; wide logits (std 6)
    // put most of each row's mass on a few classes, as late in training.
    for (n, v) in [(37, 77), (1024, 256)] {
        let logits = Tensor::<2>::random([n, v], Distribution::Normal(0.0, 6.0), &device).require_grad();
        let ids: Vec<i64> = (0..n).map(|i| ((i * 7919) % v) as i64).collect();
        let targets = Tensor::<1, Int>::from_data(TensorData::new(ids, [n]), &device);
        let run = |f: fn(Tensor<2>, Tensor<1, Int>) -> Tensor<1>| {
            let loss = f(logits.clone(), targets.clone());
            let g = logits.grad(&(loss.clone() * 3.0).backward()).unwrap();
            (loss.into_scalar::<f32>(), g)
        };
        let (l_fused, g_fused) = run(cross_entropy_rows);
        let (l_ref, g_ref) = run(cross_entropy_composite);
        assert!((l_fused - l_ref).abs() <= 2e-6 * l_ref.abs().max(1.0), "loss {l_fused} vs {l_ref}");
        let scale = g_ref.clone().abs().max().into_scalar::<f32>();
        let g_err = (g_fused - g_ref).abs().max().into_scalar::<f32>() / scale;
        assert!(g_err < 1e-5, "gradient relative max |Δ| = {g_err}");
    }
}
