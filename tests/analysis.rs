use normlab::plot::*;
use std::path::Path;

#[test]
fn scratch_plots() {
    let c = LineChart::new("final val loss vs learning rate (nGPT, width sweep)", "learning rate", "final val loss")
        .log_x()
        .data_ticks_x()
        .series("d=32", vec![(1e-3, 2.6), (2e-3, 2.5), (4e-3, 2.45), (8e-3, 2.5), (1.6e-2, f64::INFINITY)])
        .series("d=64", vec![(1e-3, 2.5), (2e-3, 2.4), (4e-3, 2.38), (8e-3, 2.45), (1.6e-2, 2.9)])
        .series("d=128", vec![(1e-3, 2.45), (2e-3, 2.35), (4e-3, 2.33), (8e-3, 2.5), (1.6e-2, f64::INFINITY)])
        .note("η* from a parabola fit in log LR");
    c.save(Path::new("/tmp/plt/lr")).unwrap();
    let c = LineChart::new("val loss vs step", "step", "val loss").log_y()
        .line("gpt", (1..100).map(|i| (i as f64 * 10.0, 4.0 * (i as f64).powf(-0.2))).collect())
        .line("ngpt", (1..100).map(|i| (i as f64 * 10.0, 3.5 * (i as f64).powf(-0.22))).collect())
        .hline(2.0, "target");
    c.save(Path::new("/tmp/plt/curve")).unwrap();
    let b = BarChart::new("ladder", "final val loss").bar("gpt_plus no_qk_norm", 2.61).bar("gpt_plus", 2.55).bar("ngpt", 2.52).bar("angpt", 2.50);
    b.save(Path::new("/tmp/plt/bar")).unwrap();
    let panels = (0..3).map(|s| LineChart::new(format!("step {s}"), "width", "rms").log_x().log_y().data_ticks_x()
        .series("emb", vec![(32.0, 1.0), (64.0, 1.1), (128.0, 1.2), (256.0, 1.3)])
        .series("attn", vec![(32.0, 0.1), (64.0, 0.2), (128.0, 0.4), (256.0, 0.8)])).collect();
    Grid::new("coord check", panels, 3).save(Path::new("/tmp/plt/grid")).unwrap();
}
