//! `report.html` on synthetic sweep directories with a known answer: which plots, how many
//! traces, diverged and failed runs marked, user text kept inert. The browser side (every plot
//! renders, no console error) is `scripts/ci-report-html.sh`, which runs these tests with
//! NORMLAB_HTML_FIXTURES=DIR to keep the pages under DIR/<name>/report.html.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};

/// The fixture directory: under NORMLAB_HTML_FIXTURES when set (kept), else a temp dir.
fn fixture_dir(name: &str) -> (PathBuf, bool) {
    match std::env::var_os("NORMLAB_HTML_FIXTURES") {
        Some(root) => {
            let d = PathBuf::from(root).join(name);
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            (d, true)
        }
        None => {
            let d = std::env::temp_dir().join(format!("normlab-html-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            (d, false)
        }
    }
}

/// A run of the synthetic sweep and its (step, val loss) curve at eval steps (the train loss
/// is the same curve + 0.05).
struct Row {
    run: common::ResultRow,
    curve: Vec<(u32, f32)>,
}

fn write(dir: &Path, rows: &[Row]) {
    let runs: Vec<common::ResultRow> = rows.iter().map(|r| r.run.clone()).collect();
    common::write_results(dir, &runs);
    let curves: Vec<(String, Vec<(u32, f32)>)> = rows.iter().map(|r| (r.run.id.clone(), r.curve.clone())).collect();
    common::write_curves(dir, &curves, 256, 0.05);
}

/// The page's embedded JSON, parsed back, and the HTML itself.
fn page(dir: &Path) -> (Value, String) {
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let open = "<script id=\"normlab-data\" type=\"application/json\">";
    let start = html.find(open).expect("no data script") + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    (serde_json::from_str(&html[start..end]).unwrap(), html)
}

fn plot<'a>(p: &'a Value, id: &str) -> &'a Value {
    p["plots"].as_array().unwrap().iter().find(|x| x["id"] == id).unwrap_or_else(|| panic!("no plot {id}"))
}

fn trace<'a>(pl: &'a Value, name: &str) -> &'a Value {
    pl["traces"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("no trace {name} in {}", pl["id"]))
}

const NASTY: &str = "gpt-</script><script>alert(1)</script>";

/// GPT and nGPT at widths 32/64/128 on 5 LRs (one seed): η* = 4e-3·64/d, loss a parabola in
/// ln(lr); the largest LR diverges at d=128 (at step 120), one run failed at step 200 with an
/// error, one is still pending. One run id holds `</script>`.
fn lr_sweep() -> Vec<Row> {
    let mut rows = Vec::new();
    for arch in ["gpt", "ngpt"] {
        for d in [32.0, 64.0, 128.0] {
            let eta: f64 = 4e-3 * 64.0 / d;
            for (i, lr) in (0..5).map(|k| 1e-3 * 2f64.powi(k)).enumerate() {
                let loss = 2.0 + 0.08 * (lr.ln() - eta.ln()).powi(2) - 0.1 * (d / 32.0f64).ln() - if arch == "ngpt" { 0.04 } else { 0.0 };
                let (status, diverged_at, error) = match (arch, d as u32, i) {
                    (_, 128, 4) => ("diverged", Some(120.0), None),
                    ("ngpt", 64, 0) => ("failed", None, Some("worker killed <OOM> & gone")),
                    ("ngpt", 32, 2) => ("pending", None, None),
                    _ => ("done", None, None),
                };
                let last: u32 = match status {
                    "diverged" => 120,
                    "failed" => 200,
                    "pending" => 0,
                    _ => 500,
                };
                let curve: Vec<(u32, f32)> =
                    (1..=5).map(|k| k * 100).filter(|&s| s <= last).map(|s| (s, (loss + 2.0 * (1.0 - s as f64 / 500.0)) as f32)).collect();
                let mut curve = curve;
                if status == "diverged" {
                    curve.push((120, 9.5));
                }
                rows.push(Row {
                    run: common::ResultRow {
                        id: if arch == "gpt" && d == 32.0 && i == 0 { NASTY.into() } else { format!("{arch}-d{d}-lr{i}") },
                        status,
                        arch,
                        lr,
                        d,
                        steps: 500.0,
                        seq: 64.0,
                        seed: 1.0,
                        loss: (status == "done").then_some(loss),
                        diverged_at,
                        error,
                        step_time: if arch == "gpt" { 0.010 } else { 0.0125 },
                        ..Default::default()
                    },
                    curve,
                });
            }
        }
    }
    rows
}

#[test]
fn lr_sweep_page_has_every_plot_marks_diverged_and_failed_runs_and_keeps_text_inert() {
    let (dir, keep) = fixture_dir("lr");
    let rows = lr_sweep();
    write(&dir, &rows);
    let s = normlab::report::report(&dir).unwrap();
    assert_eq!(s.report_html, dir.join("report.html"));
    let (p, html) = page(&dir);
    let ids: Vec<&str> = p["plots"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["lr", "eta-d_model", "val", "train"]);

    // Loss vs LR: per group (arch × width) runs + seed mean + η*, plus a diverged trace for d=128.
    let lr = plot(&p, "lr");
    assert_eq!(lr["traces"].as_array().unwrap().len(), 6 * 3 + 2);
    let div = trace(lr, "gpt d_model=128 (diverged)");
    assert_eq!(div["x"], serde_json::json!([1e-3 * 16.0]));
    assert!(div["text"][0].as_str().unwrap().contains("diverged at step 120"), "{div}");
    let ceiling = div["y"][0].as_f64().unwrap();
    let max_loss = rows.iter().filter_map(|r| r.run.loss).fold(f64::MIN, f64::max);
    assert!(ceiling > max_loss, "diverged marks must sit above every finite loss: {ceiling} vs {max_loss}");
    // Hover: run id and config; the id's markup is escaped for plotly and for the HTML.
    let runs = trace(lr, "gpt d_model=32");
    let hover = runs["text"][0].as_str().unwrap();
    assert!(hover.contains("gpt-&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;") && hover.contains("d_model=32 lr=0.001 seed=1"), "{hover}");
    assert_eq!(html.matches("</script>").count(), 3, "only the three script elements may close");
    assert!(p["runs"].as_array().unwrap().iter().any(|r| r["id"] == NASTY), "the JSON keeps the id as written");
    // η*: a star per group at the fitted optimum (≈ 4e-3·64/d; d=32's 8e-3 is inside the grid).
    let star = trace(lr, "ngpt d_model=32 η*");
    assert!((star["x"][0].as_f64().unwrap() / 8e-3 - 1.0).abs() < 0.02, "{star}");
    assert!(star.get("error_x").is_none(), "no interval in the analysis, so no error bar");

    // η* vs width: one trace per architecture, three points each.
    let eta = plot(&p, "eta-d_model");
    assert_eq!(eta["traces"].as_array().unwrap().len(), 2);
    for t in eta["traces"].as_array().unwrap() {
        assert_eq!(t["x"], serde_json::json!([32.0, 64.0, 128.0]));
        assert_eq!(eta["layout"]["xaxis"]["type"], "log");
    }

    // Curves: one trace per run that logged anything (the pending run did not), each its own
    // legend entry; the diverged run dashed with an × at its end, the failed one dotted and
    // with its error in the hover.
    let val = plot(&p, "val");
    assert_eq!(val["traces"].as_array().unwrap().len(), rows.len() - 1);
    let d = trace(val, "gpt-d128-lr4");
    assert_eq!((d["line"]["dash"].as_str(), d["marker"]["symbol"].as_str()), (Some("dash"), Some("x")));
    assert_eq!(d["marker"]["size"].as_array().unwrap().last().unwrap(), 10.0);
    let f = trace(val, "ngpt-d64-lr0");
    assert_eq!(f["line"]["dash"], "dot");
    assert!(f["text"].as_str().unwrap().contains("failed: worker killed &lt;OOM&gt; &amp; gone"), "{f}");
    assert_eq!(trace(plot(&p, "train"), "ngpt-d64-lr0")["x"], serde_json::json!([100.0, 200.0]));
    // The run table carries every run, failed ones with their error.
    let table = p["runs"].as_array().unwrap();
    assert_eq!(table.len(), rows.len());
    let failed = table.iter().find(|r| r["id"] == "ngpt-d64-lr0").unwrap();
    assert_eq!((failed["status"].as_str(), failed["error"].as_str()), (Some("failed"), Some("worker killed <OOM> & gone")));
    assert_eq!(table.iter().find(|r| r["id"] == "gpt-d128-lr4").unwrap()["diverged_at"], 120);
    assert_eq!(p["status_counts"], serde_json::json!({"diverged": 2, "done": 26, "failed": 1, "pending": 1}));
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// GPT vs nGPT on budgets 250–4000 at T=64, 2 seeds: nGPT at B matches GPT at 2B.
fn speedup_sweep() -> Vec<Row> {
    let l = |b: f64| 1.2 + 6.0 * b.powf(-0.3);
    let mut rows = Vec::new();
    for arch in ["gpt", "ngpt"] {
        let k = if arch == "gpt" { 1.0 } else { 2.0 };
        for b in [250.0, 500.0, 1000.0, 2000.0, 4000.0] {
            for seed in [1.0, 2.0] {
                let loss = l(k * b) + 1e-3 * (seed - 1.5);
                let curve = (1..=4).map(|i| ((i as f64 * b / 4.0) as u32, (l(k * b * i as f64 / 4.0)) as f32)).collect();
                rows.push(Row {
                    run: common::ResultRow {
                        id: format!("{arch}-{b}-{seed}"),
                        status: "done",
                        arch,
                        lr: 2e-3,
                        d: 64.0,
                        steps: b,
                        seq: 64.0,
                        seed,
                        loss: Some(loss),
                        diverged_at: None,
                        error: None,
                        step_time: if arch == "gpt" { 0.010 } else { 0.0125 },
                        ..Default::default()
                    },
                    curve,
                });
            }
        }
    }
    rows
}

#[test]
fn speedup_page_draws_s_with_its_bootstrap_interval_and_bounds_as_triangles() {
    let (dir, keep) = fixture_dir("speedup");
    write(&dir, &speedup_sweep());
    normlab::report::report(&dir).unwrap();
    let a = normlab::report::Analysis::load(&dir).unwrap();
    let (p, _) = page(&dir);
    let ids: Vec<&str> = p["plots"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["speedup", "val", "train"]);
    let sp = plot(&p, "speedup");
    // S and its wall-clock S (step time 1.25× longer) for the one variant.
    assert_eq!(sp["traces"].as_array().unwrap().len(), 2);
    let t = &sp["traces"][0];
    let n = a.speedups.len();
    assert_eq!(t["x"].as_array().unwrap().len(), n);
    for (i, r) in a.speedups.iter().enumerate() {
        let y = t["y"][i].as_f64().unwrap();
        assert_eq!(y, r.s.speedup);
        let sym = t["marker"]["symbol"][i].as_str().unwrap();
        match r.s.reach {
            normlab::analysis::speedup::Reach::At(_) => {
                assert_eq!(sym, "circle");
                assert!((y / 2.0 - 1.0).abs() < 0.03, "S ≈ 2 where interpolated: {y}");
            }
            normlab::analysis::speedup::Reach::BelowMin(_) => assert_eq!(sym, "triangle-up"),
            normlab::analysis::speedup::Reach::AboveMax(_) => assert_eq!(sym, "triangle-down"),
        }
    }
    // The bootstrap interval as asymmetric error bars, bracketing S.
    let e = &t["error_y"];
    for i in 0..n {
        if let (Some(up), Some(down)) = (e["array"][i].as_f64(), e["arrayminus"][i].as_f64()) {
            assert!(up >= -1e-12 && down >= -1e-12, "point {i}: +{up} −{down}");
        }
    }
    assert!(e["array"].as_array().unwrap().iter().any(|v| v.is_f64()), "some point must have an interval: {e}");
    let wall = &sp["traces"][1];
    assert!((wall["y"][n - 1].as_f64().unwrap() - t["y"][n - 1].as_f64().unwrap() / 1.25).abs() < 1e-9);
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn an_unreadable_curves_table_is_a_note_on_the_page_not_a_failed_report() {
    let (dir, _) = fixture_dir("badcurves");
    write(&dir, &speedup_sweep());
    std::fs::write(dir.join("curves.parquet"), b"not parquet").unwrap();
    normlab::report::report(&dir).unwrap();
    let (p, _) = page(&dir);
    let note = p["notes"][0].as_str().unwrap();
    assert!(note.contains("curves.parquet could not be read"), "{note}");
    let ids: Vec<&str> = p["plots"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["speedup"]);
    let _ = std::fs::remove_dir_all(&dir);
}
