//! `report.html` on synthetic sweep directories with a known answer: the verdict block, which
//! plots, how many panels and traces, diverged and failed runs marked, seeds as bands and
//! error bars, mixed builds flagged, user text kept inert. The browser side (every plot
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

fn traces(pl: &Value) -> &Vec<Value> {
    pl["traces"].as_array().unwrap()
}

/// The trace called `name` drawn on the axes of panel `panel` (1-based).
fn panel_trace<'a>(pl: &'a Value, panel: usize, name: &str) -> &'a Value {
    let xa = if panel == 1 { "x".to_string() } else { format!("x{panel}") };
    traces(pl).iter().find(|t| t["name"] == name && t["xaxis"] == xa.as_str()).unwrap_or_else(|| panic!("no trace {name} in panel {panel}"))
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
    // One build; the verdicts head the page: the claims the sweep's parameterizations make and
    // each family's transfer verdict along d_model (scripts/ci-report-html.sh counts them).
    let verdicts = normlab::report::Analysis::load(&dir).unwrap().verdict_lines();
    assert_eq!(verdicts.len(), 3, "{verdicts:#?}");
    assert!(html.contains("<section id=\"verdicts\">") && !html.contains(normlab::report::NO_VERDICT), "the verdict block heads the page");
    assert_eq!(html.matches("<li class=\"verdict\">").count(), verdicts.len());
    assert!(html.find("id=\"verdicts\"").unwrap() < html.find("id=\"plots\"").unwrap());
    assert!(p["build_warning"].is_null() && !html.contains("id=\"mixed-builds\""));

    // The transfer panels: one per family (gpt, ngpt), one line per width, the same y range.
    let lr = plot(&p, "lr");
    assert_eq!(lr["panels"], 2);
    let ys: Vec<&Value> = ["yaxis", "yaxis2"].iter().map(|a| &lr["layout"][*a]["range"]).collect();
    assert!(ys[0].is_array() && ys[0] == ys[1], "shared y range: {ys:?}");
    let legend: Vec<&str> = traces(lr).iter().filter(|t| t["showlegend"] == true).map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(legend, ["d_model=32", "d_model=64", "d_model=128"], "one legend entry (and colour) per size");
    // Per panel: 3 lines + their η* stars + one trace of d=128's diverged LR.
    assert_eq!(traces(lr).len(), 2 * (3 + 3 + 1));
    let div = panel_trace(lr, 1, "d_model=128 (diverged or above the range)");
    assert_eq!(div["x"], serde_json::json!([1e-3 * 16.0]));
    assert!(div["text"][0].as_str().unwrap().contains("gpt-d128-lr4") && div["text"][0].as_str().unwrap().contains("diverged"), "{div}");
    let top = lr["layout"]["yaxis"]["range"][1].as_f64().unwrap();
    let max_loss = rows.iter().filter_map(|r| r.run.loss).fold(f64::MIN, f64::max);
    assert!(div["y"][0].as_f64().unwrap() == top && top > max_loss, "diverged marks sit above every finite loss");
    // LR ticks at round values only (1, 2, 5 × 10^k), labelled alike.
    for ax in ["xaxis", "xaxis2"] {
        let vals = lr["layout"][ax]["tickvals"].as_array().unwrap();
        assert!(vals.len() >= 3, "{vals:?}");
        for v in vals {
            let v = v.as_f64().unwrap();
            let m = v / 10f64.powf(v.log10().floor());
            assert!([1.0, 2.0, 5.0].iter().any(|r| (m - r).abs() < 1e-6), "tick {v} is not round");
        }
        assert_eq!(lr["layout"][ax]["ticktext"][0], "1e-3");
    }
    // Hover: the runs behind a point; the id's markup is escaped for plotly and for the HTML.
    let hover = panel_trace(lr, 1, "d_model=32")["text"][0].as_str().unwrap();
    assert!(hover.contains("gpt-&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"), "{hover}");
    assert_eq!(html.matches("</script>").count(), 3, "only the three script elements may close");
    assert!(p["runs"].as_array().unwrap().iter().any(|r| r["id"] == NASTY), "the JSON keeps the id as written");
    // η*: a star per line at the fitted optimum (≈ 4e-3·64/d; d=32's 8e-3 is inside the grid).
    let star = panel_trace(lr, 2, "d_model=32 η*");
    assert!((star["x"][0].as_f64().unwrap() / 8e-3 - 1.0).abs() < 0.02, "{star}");
    assert!(star.get("error_x").is_none(), "one seed: no interval, so no error bar");

    // η* vs width: one trace per architecture, three points each, ticks at the widths.
    let eta = plot(&p, "eta-d_model");
    assert_eq!(traces(eta).len(), 2);
    for t in traces(eta) {
        assert_eq!(t["x"], serde_json::json!([32.0, 64.0, 128.0]));
    }
    assert_eq!(eta["layout"]["xaxis"]["type"], "log");
    assert_eq!(eta["layout"]["xaxis"]["ticktext"], serde_json::json!(["32", "64", "128"]));

    // Curves, one line per config (one seed each here), named by the swept values and
    // carrying them for the filter; the pending run logged nothing. The diverged run is
    // dashed with an × at its end, the failed one dotted with its error in the hover.
    let val = plot(&p, "val");
    assert_eq!(val["filterable"], true);
    assert_eq!(traces(val).len(), rows.len() - 1);
    let d = trace(val, "gpt d_model=128 lr=1.6e-2");
    assert_eq!((d["line"]["dash"].as_str(), d["marker"]["symbol"].as_str()), (Some("dash"), Some("x")));
    assert_eq!(d["marker"]["size"].as_array().unwrap().last().unwrap(), 10.0);
    assert_eq!(d["meta"], serde_json::json!({"family": "gpt", "size": "d_model=128", "lr": "1.6e-2"}));
    let f = trace(val, "ngpt d_model=64 lr=1e-3");
    assert_eq!(f["line"]["dash"], "dot");
    assert!(f["text"].as_str().unwrap().contains("failed: worker killed &lt;OOM&gt; &amp; gone"), "{f}");
    assert_eq!(trace(plot(&p, "train"), "ngpt d_model=64 lr=1e-3")["x"], serde_json::json!([100.0, 200.0]));
    // The run table carries every run, failed ones with their error, and the build.
    let table = p["runs"].as_array().unwrap();
    assert_eq!(table.len(), rows.len());
    let failed = table.iter().find(|r| r["id"] == "ngpt-d64-lr0").unwrap();
    assert_eq!((failed["status"].as_str(), failed["error"].as_str()), (Some("failed"), Some("worker killed <OOM> & gone")));
    assert_eq!(failed["build"], "0123456");
    assert_eq!(table.iter().find(|r| r["id"] == "gpt-d128-lr4").unwrap()["diverged_at"], 120);
    assert_eq!(p["status_counts"], serde_json::json!({"diverged": 2, "done": 26, "failed": 1, "pending": 1}));
    // The PNG figure: the panel grid in place of one chart per family.
    assert!(s.plots.iter().any(|p| p.ends_with("plots/lr_panels.png")), "{:?}", s.plots);
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// GPT under SP and μP at widths 32/64, 5 LRs, 3 seeds; seed 3's runs
/// were trained by another (dirty) build. Curves: 5 eval points, seed s shifted by 0.01·s.
fn seeded_sweep() -> Vec<Row> {
    let mut rows = Vec::new();
    for param in ["sp", "mup"] {
        for d in [32.0, 64.0] {
            let eta: f64 = if param == "mup" { 8e-3 } else { 8e-3 * 32.0 / d };
            for k in 0..5 {
                let lr = 1e-3 * 2f64.powi(k);
                for seed in [1.0, 2.0, 3.0] {
                    // Seeds differ in level and in where their optimum lies (±12% in η*).
                    let dl = lr.ln() - eta.ln();
                    let loss = 2.0 + 0.08 * dl.powi(2) - 0.1 * (d / 32.0f64).ln() + (seed - 2.0) * (0.01 + 0.02 * dl);
                    let curve = (1..=5u32).map(|i| (i * 100, (loss + 1.0 - i as f64 * 0.2) as f32)).collect();
                    rows.push(Row {
                        run: common::ResultRow {
                            id: format!("{param}-d{d}-lr{k}-s{seed}"),
                            param,
                            lr,
                            d,
                            seed,
                            loss: Some(loss),
                            commit: if seed == 3.0 { "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" } else { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
                            dirty: seed == 3.0,
                            ..Default::default()
                        },
                        curve,
                    });
                }
            }
        }
    }
    rows
}

#[test]
fn seeded_page_draws_bands_and_intervals_flags_mixed_builds_and_renders_verdicts() {
    let (dir, keep) = fixture_dir("seeds");
    let rows = seeded_sweep();
    write(&dir, &rows);
    let s = normlab::report::report(&dir).unwrap();
    let (p, html) = page(&dir);
    // Mixed builds: said by the report, its markdown and the page.
    let want = "2 builds (aaaaaaa: 40 runs, bbbbbbb+dirty: 20 runs)";
    assert!(s.build_warning.as_deref().unwrap().contains(want), "{:?}", s.build_warning);
    assert!(s.markdown.contains("**Mixed builds:**") && s.markdown.contains(want));
    assert!(p["build_warning"].as_str().unwrap().contains(want) && html.contains("id=\"mixed-builds\""));
    let body = s.markdown.split_once("\n\n").unwrap().1;
    assert!(body.starts_with("## Verdicts\n\n- **sp's and mup's claims along d_model: "), "the verdicts head report.md: {body}");

    // Panels: gpt mup and gpt sp; the seeds' min–max as error bars, η* with its interval.
    let lr = plot(&p, "lr");
    assert_eq!(lr["panels"], 2);
    let line = panel_trace(lr, 2, "d_model=64");
    let (up, down) = (&line["error_y"]["array"], &line["error_y"]["arrayminus"]);
    for k in 0..5 {
        let l: Vec<f64> = rows.iter().filter(|r| r.run.id.starts_with(&format!("sp-d64-lr{k}-"))).map(|r| r.run.loss.unwrap()).collect();
        let mean = l.iter().sum::<f64>() / 3.0;
        let (lo, hi) = (l.iter().cloned().fold(f64::MAX, f64::min), l.iter().cloned().fold(f64::MIN, f64::max));
        assert!((line["y"][k].as_f64().unwrap() - mean).abs() < 1e-12, "{}", line["y"]);
        assert!((up[k].as_f64().unwrap() - (hi - mean)).abs() < 1e-9 && (down[k].as_f64().unwrap() - (mean - lo)).abs() < 1e-9, "{up} {down}");
    }
    let star = panel_trace(lr, 2, "d_model=64 η*");
    let (eta, plus, minus) =
        (star["x"][0].as_f64().unwrap(), star["error_x"]["array"][0].as_f64().unwrap(), star["error_x"]["arrayminus"][0].as_f64().unwrap());
    assert!(plus > 0.0 && minus > 0.0 && eta - minus < eta && eta < eta + plus, "η* {eta} +{plus} −{minus}");
    let families: Vec<String> = lr["layout"]["annotations"].as_array().unwrap().iter().filter_map(|a| a["text"].as_str()).map(String::from).collect();
    assert!(families[0].starts_with("<b>gpt mup</b>") && families[1].starts_with("<b>gpt sp</b>"), "{families:?}");
    assert!(families.iter().all(|f| f.contains("η* drift")), "each panel names its family's drift: {families:?}");

    // Curves: per config a band (the seeds' min–max) and the seed mean.
    let val = plot(&p, "val");
    assert_eq!(traces(val).len(), 2 * 2 * 5 * 2);
    let mean = trace(val, "gpt mup d_model=64 lr=4e-3");
    let seeds: Vec<f64> = rows.iter().filter(|r| r.run.id.starts_with("mup-d64-lr2-")).map(|r| r.curve[0].1 as f64).collect();
    assert_eq!(seeds.len(), 3);
    assert!((mean["y"][0].as_f64().unwrap() - seeds.iter().sum::<f64>() / 3.0).abs() < 1e-6);
    assert!(mean["hovertemplate"].as_str().unwrap().contains("mean of 3 seeds"));
    let band = trace(val, "gpt mup d_model=64 lr=4e-3 (seeds' min–max)");
    assert_eq!((band["fill"].as_str(), band["legendgroup"].as_str()), (Some("toself"), Some("gpt mup d_model=64 lr=4e-3")));
    assert_eq!(band["y"].as_array().unwrap().len(), 10);
    let table = p["runs"].as_array().unwrap();
    assert_eq!(table.iter().filter(|r| r["build"] == "bbbbbbb+dirty").count(), 20);

    // The verdict slot: a synthetic list renders into the page (and the markdown) in order,
    // escaped; scripts/ci-report-html.sh checks this page in the browser.
    let a = normlab::report::Analysis::load(&dir).unwrap();
    let mut header = a.header().unwrap();
    header.verdicts = vec![
        normlab::report::VerdictLine {
            title: "μP width transfer (GPT)".into(),
            outcome: "transfers".into(),
            rule: "upper bound of the drift ≤ 2×".into(),
            evidence: "drift 1.10× (95% 1.00–1.50×)".into(),
            power: Some("0.8 to detect a 2× drift at 3 seeds".into()),
        },
        normlab::report::VerdictLine {
            title: "SP width transfer <GPT>".into(),
            outcome: "inconclusive at 3 seeds".into(),
            rule: "lower bound of the drift > 2×".into(),
            evidence: "drift 2.4× (95% 1.2–4.9×)".into(),
            power: None,
        },
    ];
    let md = header.markdown();
    assert!(
        md.contains(
            "- **μP width transfer (GPT): transfers.** Rule: upper bound of the drift ≤ 2× Evidence: drift 1.10× (95% 1.00–1.50×). What would decide it: 0.8"
        ),
        "{md}"
    );
    assert!(!md.contains(normlab::report::NO_VERDICT));
    let page2 = a.html_page(&header).unwrap();
    let html2 = normlab::report::render_html(&page2).unwrap();
    assert_eq!(html2.matches("<li class=\"verdict\">").count(), 2);
    assert!(html2.contains("SP width transfer &lt;GPT&gt;: <span class=\"outcome\">inconclusive at 3 seeds</span>"));
    assert!(!html2.contains(normlab::report::NO_VERDICT));
    let vdir = dir.parent().unwrap().join(format!("{}-verdicts", dir.file_name().unwrap().to_string_lossy()));
    std::fs::create_dir_all(&vdir).unwrap();
    std::fs::write(vdir.join("report.html"), html2).unwrap();
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&vdir);
    }
}

/// Widths 32 and 64 at one LR, or one width at four LRs: the panels render and say what they
/// cannot show.
#[test]
fn a_sweep_with_one_lr_or_one_size_still_renders_panels_that_say_what_is_missing() {
    let case = |name: &str, ds: &[f64], lrs: &[f64]| -> (Value, normlab::report::ReportSummary) {
        let (dir, _) = fixture_dir(name);
        let mut rows = Vec::new();
        for arch in ["gpt", "ngpt"] {
            for &d in ds {
                for &lr in lrs {
                    for seed in [1.0, 2.0] {
                        let loss = 2.0 + 0.08 * (lr / 4e-3f64).ln().powi(2) + 0.01 * seed;
                        rows.push(Row {
                            run: common::ResultRow {
                                id: format!("{arch}-{d}-{lr}-{seed}"),
                                arch,
                                lr,
                                d,
                                seed,
                                loss: Some(loss),
                                ..Default::default()
                            },
                            curve: vec![(100, loss as f32 + 0.5), (500, loss as f32)],
                        });
                    }
                }
            }
        }
        write(&dir, &rows);
        let s = normlab::report::report(&dir).unwrap();
        let (p, _) = page(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        (p, s)
    };
    let (p, s) = case("one-lr", &[32.0, 64.0], &[2e-3]);
    let lr = plot(&p, "lr");
    assert_eq!(lr["panels"], 2);
    let notes: Vec<&str> = lr["layout"]["annotations"].as_array().unwrap().iter().filter_map(|a| a["text"].as_str()).collect();
    assert!(notes.iter().all(|n| !n.contains("× diverged")) && notes.len() == 2);
    assert!(notes.iter().all(|n| n.contains("one learning rate per size: no η*")), "{notes:?}");
    assert!(!traces(lr).iter().any(|t| t["name"].as_str().unwrap().ends_with("η*")));
    assert!(s.plots.iter().any(|p| p.ends_with("plots/lr_panels.png")), "{:?}", s.plots);

    let (p, s) = case("one-size", &[64.0], &[1e-3, 2e-3, 4e-3, 8e-3]);
    let lr = plot(&p, "lr");
    assert_eq!(lr["panels"], 2);
    let notes: Vec<&str> = lr["layout"]["annotations"].as_array().unwrap().iter().filter_map(|a| a["text"].as_str()).collect();
    assert!(notes.iter().all(|n| n.contains("no width, depth or budget is swept")), "{notes:?}");
    assert!(traces(lr).iter().any(|t| t["name"] == "all sizes η*"), "one line per panel, with its η*");
    assert!(s.plots.iter().any(|p| p.ends_with("plots/lr_panels.png")));
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
    assert_eq!(ids, ["speedup", "val", "train"], "a budget sweep at one LR has no transfer panels");
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
