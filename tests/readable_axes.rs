//! Readable axes: every chart type rendered with crowded data keeps its texts apart. Each
//! chart's text boxes are recorded as the PNG backend lays them out (`plot::TextBox`), and the
//! test fails when two of them share a pixel: tick labels (the committed LR figures used to
//! print every LR any run used, "6.76e-3 7.37e-3 …" on top of each other), legend entries,
//! titles, notes. Log LR axes carry round ticks only (1, 2, 5 × 10^k).

mod common;

use common::ResultRow as Row;
use normlab::plot::{BarChart, LineChart, TextBox, Ticks, overlapping};
use normlab::report::{Analysis, Chart};

fn assert_apart(what: &str, boxes: &[TextBox]) {
    assert!(!boxes.is_empty(), "{what}: no text recorded");
    let o = overlapping(boxes);
    assert!(o.is_empty(), "{what}: {} overlapping text pairs, e.g. {:?}", o.len(), &o[..o.len().min(3)]);
}

/// The main job's shape: 4 families × widths 32/64/128 × a 4-LR grid (factor 4) plus refine
/// LRs at odd values around each group's optimum × 3 seeds, with diverged runs at the top LR.
fn crowded_lr_sweep() -> Vec<Row> {
    let mut rows = Vec::new();
    for (arch, param) in [("gpt", "sp"), ("gpt", "mup"), ("ngpt", "sp"), ("ngpt", "nugpt")] {
        for (j, d) in [32.0, 64.0, 128.0].into_iter().enumerate() {
            let eta: f64 = if param == "sp" { 1.2e-2 * 32.0 / d } else { 1.1e-2 };
            let mut lrs: Vec<f64> = (0..4).map(|k| 1e-3 * 4f64.powi(k)).collect();
            // Refine rounds: η*·2^(±½), η*·2^(±¼), a little off per group, as on disk.
            lrs.extend([0.707, 1.414, 0.84, 1.19].map(|f| eta * f * (1.0 + 0.013 * j as f64)));
            for lr in lrs {
                for seed in [1.0, 2.0, 3.0] {
                    let dl = (lr / eta).ln();
                    let diverged = lr > 5e-2 && d >= 64.0 && seed == 3.0;
                    rows.push(Row {
                        id: format!("{arch}-{param}-{d}-{lr:.6}-{seed}"),
                        status: if diverged { "diverged" } else { "done" },
                        arch,
                        param,
                        lr,
                        d,
                        seed,
                        loss: (!diverged).then_some(1.8 + 0.07 * dl * dl - 0.05 * (d / 32.0f64).ln() + 0.004 * seed),
                        diverged_at: diverged.then_some(120.0),
                        ..Default::default()
                    });
                }
            }
        }
    }
    rows
}

/// Every chart the report (and the figures' speedup grid) draws from `rows`.
fn charts_of(tag: &str, rows: &[Row]) -> Vec<(String, Chart)> {
    let dir = common::tmpdir(tag);
    common::write_results(&dir, rows);
    let curves: Vec<(String, Vec<(u32, f32)>)> =
        rows.iter().map(|r| (r.id.clone(), (1..=5).map(|i| (i * 100, (r.loss.unwrap_or(9.0) + 1.0 - 0.2 * i as f64) as f32)).collect())).collect();
    common::write_curves(&dir, &curves, 1024, 0.05);
    let a = Analysis::load(&dir).unwrap();
    let (mut charts, _) = a.all_charts();
    // The figures' extra chart (speedup vs context, a grid).
    charts.extend(a.context_charts(&|_| true));
    let _ = std::fs::remove_dir_all(&dir);
    charts
}

#[test]
fn every_chart_of_a_crowded_lr_sweep_keeps_its_labels_apart_and_lr_ticks_round() {
    let charts = charts_of("axes-lr", &crowded_lr_sweep());
    let names: Vec<&str> = charts.iter().map(|c| c.0.as_str()).collect();
    assert!(names.contains(&"lr_panels") && names.contains(&"eta_star_vs_d_model"), "{names:?}");
    for (name, c) in &charts {
        assert_apart(name, &c.text_boxes().unwrap());
    }
    // The panel grid labels its LR axes at round values: mantissa 1, 2 or 5.
    let (_, grid) = charts.iter().find(|c| c.0 == "lr_panels").unwrap();
    let sci: Vec<String> = grid.text_boxes().unwrap().into_iter().map(|b| b.text).filter(|t| t.contains("e-") && !t.contains(' ')).collect();
    assert!(sci.len() >= 4 * 3, "each of the 4 panels has at least 3 LR ticks: {sci:?}");
    for t in &sci {
        let m = t.split_once('e').unwrap().0;
        assert!(["1", "2", "5"].contains(&m), "LR tick {t} is not at a round value");
    }
}

#[test]
fn speedup_and_ladder_charts_keep_their_labels_apart() {
    // Two budgets per decade, 3 contexts, 2 variants: line charts with data ticks, the
    // context grid and, from a ladder at one budget, a bar chart with long labels.
    let mut rows = Vec::new();
    for arch in ["gpt", "ngpt", "gpt_plus", "angpt"] {
        for seq in [64.0, 128.0, 256.0] {
            for b in [250.0, 500.0, 750.0, 1000.0, 1500.0, 2000.0, 3000.0, 4000.0, 6000.0, 8000.0] {
                for seed in [1.0, 2.0] {
                    let k = if arch == "gpt" { 1.0 } else { 1.7 };
                    rows.push(Row {
                        id: format!("{arch}-{seq}-{b}-{seed}"),
                        arch,
                        steps: b,
                        seq,
                        seed,
                        lr: 2e-3,
                        loss: Some(1.2 + 6.0 * (k * b).powf(-0.3) + 1e-3 * seed + 1e-4 * seq.ln()),
                        ..Default::default()
                    });
                }
            }
        }
    }
    let charts = charts_of("axes-speedup", &rows);
    let names: Vec<&str> = charts.iter().map(|c| c.0.as_str()).collect();
    assert!(
        charts.iter().any(|c| matches!(c.1, Chart::Grid(_)))
            && charts.iter().any(|c| matches!(c.1, Chart::Line(_)))
            && charts.iter().any(|c| matches!(c.1, Chart::Bar(_))),
        "{names:?}"
    );
    for (name, c) in &charts {
        assert_apart(name, &c.text_boxes().unwrap());
    }
    let mut bars = BarChart::new("final val loss per variant, crowded", "final val loss (lower is better)");
    for (i, v) in ["gpt_plus no_qk_norm", "gpt_plus", "ngpt", "ngpt norm_at_most_one", "angpt", "angpt analytic ν"].iter().enumerate() {
        bars = bars.bar(*v, 1.4652 + 0.0123 * i as f64);
    }
    assert_apart("bar chart", &bars.text_boxes().unwrap());
}

#[test]
fn crowded_line_charts_thin_their_ticks_and_explicit_crowded_ticks_are_caught() {
    // The committed figure's axis: 1e-3, 4e-3, seven refine LRs in 6.8e-3…1.3e-2, 6.4e-2.
    let lrs = [1e-3, 4e-3, 6.76e-3, 7.37e-3, 8.04e-3, 9.56e-3, 1.04e-2, 1.14e-2, 1.27e-2, 1.6e-2, 6.4e-2];
    let pts: Vec<(f64, f64)> = lrs.iter().map(|&lr| (lr, 1.8 + 0.05 * (lr / 1e-2f64).ln().powi(2))).collect();
    let data_ticks = LineChart::new("data ticks", "peak learning rate", "final val loss").log_x().data_ticks_x().series("a", pts.clone());
    assert_apart("data ticks on a log axis", &data_ticks.text_boxes().unwrap());
    let small = data_ticks.clone().size(320, 240);
    assert_apart("a small chart", &small.text_boxes().unwrap());
    // Linear axes with long labels, and a log y axis over many decades, in a small chart.
    let big: Vec<(f64, f64)> = (0..30).map(|i| (123_456.0 + 1000.0 * i as f64, 1e-7 * 10f64.powf(i as f64 / 3.0))).collect();
    let loglin = LineChart::new("long labels", "tokens", "value").log_y().series("b", big).size(360, 260);
    assert_apart("long linear labels, log y", &loglin.text_boxes().unwrap());
    // Even explicit ticks are thinned until their labels fit.
    let mut forced = data_ticks.clone();
    forced.x_ticks = Ticks::Values(lrs.to_vec());
    assert_apart("explicit crowded ticks", &forced.text_boxes().unwrap());
    // The check itself sees texts drawn on top of each other: two reference lines at one y.
    let b = data_ticks.hline(1.9, "S = 1").hline(1.9, "S = 1 too").text_boxes().unwrap();
    assert_eq!(overlapping(&b).len(), 1, "the overlap check must see the two labels: {b:?}");
}
