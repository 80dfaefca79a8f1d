//! The markdown tables of report.md, each with the papers' numbers beside ours.

use super::derive::*;
use super::*;

impl Analysis {
    /// η* per group.
    pub fn lr_table(&self, keep: &dyn Fn(&str) -> bool) -> String {
        let mut headers: Vec<String> = self.keys.iter().map(|k| short_key(k)).collect();
        headers.extend(["η*", "η* 95%", "loss at η*", "loss 95%", "LRs (fit)", "diverged LRs", "seeds", "missing", "paper (η*)"].map(String::from));
        let rows: Vec<Vec<String>> = self
            .lr
            .iter()
            .filter(|g| keep(&g.arch))
            .map(|g| {
                let mut row = g.key.clone();
                match &g.opt {
                    Some(o) => row.extend([
                        format!("{}{}", o.bound.prefix(), fmt_lr(o.eta_star)),
                        g.eta_ci.show(fmt_lr),
                        format!("{:.4}", o.loss_star),
                        g.loss_ci.show(|v| format!("{v:.4}")),
                        format!("{} ({})", o.points, o.fit_points),
                        o.diverged.to_string(),
                    ]),
                    None => row.extend([
                        format!("all diverged ({} runs)", g.runs),
                        "—".into(),
                        "—".into(),
                        "—".into(),
                        g.curve.len().to_string(),
                        g.curve.len().to_string(),
                    ]),
                }
                row.extend([g.seeds.to_string(), g.missing.to_string(), paper_eta(&g.arch, &g.param)]);
                row
            })
            .collect();
        md_table(&headers, &rows)
    }

    /// η* drift across each axis (optionally only one axis).
    pub fn drift_table(&self, axis: Option<&str>, keep: &dyn Fn(&str) -> bool) -> String {
        let headers = [
            "axis",
            "family",
            "axis values",
            "η* per value",
            "drift max/min",
            "drift 95%",
            "slope d ln η*/d ln x",
            "slope 95%",
            "η* bounds",
            "paper",
        ]
        .map(String::from);
        let rows: Vec<Vec<String>> = self
            .families(axis, keep)
            .map(|d| {
                vec![
                    axis_name(&d.axis).into(),
                    d.label.clone(),
                    d.points.iter().map(|p| fmt_num(p.0)).collect::<Vec<_>>().join(", "),
                    d.points.iter().map(|p| format!("{}{}", fmt_lr(p.1), if p.2 { "*" } else { "" })).collect::<Vec<_>>().join(", "),
                    format!("{:.2}×", d.drift),
                    d.drift_ci.show(|v| format!("{v:.2}×")),
                    fmt_signed(d.slope, 3),
                    d.slope_ci.show(|v| fmt_signed(v, 3)),
                    d.points.iter().filter(|p| p.2).count().to_string(),
                    paper_drift(d),
                ]
            })
            .collect();
        md_table(&headers, &rows)
    }

    /// Speedups (optionally only some variants).
    pub fn speedup_table(&self, keep: &dyn Fn(&str) -> bool) -> String {
        let mut contexts: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
        for s in &self.speedups {
            contexts.entry(format!("{}|{}", s.variant, s.reference)).or_default().insert(bits(s.seq_len));
        }
        let headers = [
            "variant",
            "reference",
            "context",
            "seq_len",
            "B_ref",
            "ref loss",
            "B_var",
            "S = B_ref/B_var",
            "S 95%",
            "seeds ref/var",
            "step time var/ref",
            "wall-clock S",
            "wall-clock 95%",
            "paper S",
            "paper step time",
        ]
        .map(String::from);
        let rows: Vec<Vec<String>> = self
            .speedups
            .iter()
            .filter(|s| keep(&s.var_arch))
            .map(|s| {
                let ctxs: Vec<f64> = contexts[&format!("{}|{}", s.variant, s.reference)].iter().map(|b| unbits(*b)).collect();
                let (paper_s, paper_t) = paper_speedup(&s.var_arch, &s.ref_arch, s.seq_len, &ctxs);
                let (bvar, sv) = match s.s.reach {
                    Reach::At(b) => (format!("{b:.0}"), format!("{:.2}×", s.s.speedup)),
                    Reach::AboveMax(b) => (format!("> {b:.0} (max)"), format!("< {:.2}×", s.s.speedup)),
                    Reach::BelowMin(b) => (format!("< {b:.0} (min)"), format!("> {:.2}×", s.s.speedup)),
                };
                vec![
                    s.variant.clone(),
                    s.reference.clone(),
                    if s.context.is_empty() || s.context == "all runs" { "—".into() } else { s.context.clone() },
                    fmt_num(s.seq_len),
                    format!("{:.0}", s.s.budget_ref),
                    format!("{:.4}", s.s.loss_ref),
                    bvar,
                    sv.clone(),
                    match s.censored {
                        // Every draw is the same bound: a zero-width "interval" would read as certainty.
                        c if c >= 1.0 => format!("{sv} in every draw"),
                        c if c > 0.0 => format!("{} ({:.0}% at a bound)", s.ci.show(|v| format!("{v:.2}×")), 100.0 * c),
                        _ => s.ci.show(|v| format!("{v:.2}×")),
                    },
                    format!("{}/{}", s.seeds.0, s.seeds.1),
                    s.step_ratio.map(|r| format!("{r:.3}")).unwrap_or("—".into()),
                    s.wall.map(|w| format!("{}{w:.2}×", s.s.reach.prefix())).unwrap_or("—".into()),
                    match (s.censored >= 1.0, s.wall) {
                        (true, Some(w)) => format!("{}{w:.2}× in every draw", s.s.reach.prefix()),
                        _ => s.wall_ci.show(|v| format!("{v:.2}×")),
                    },
                    paper_s,
                    paper_t,
                ]
            })
            .collect();
        md_table(&headers, &rows)
    }

    pub fn ladder_table(&self) -> String {
        let headers = [
            "variant",
            "context",
            "seq_len",
            "budget",
            "final loss",
            "± std",
            "seeds",
            "gain vs first rung",
            "95% (seeds paired)",
            "paper gain (anGPT ablation, vs GPT+ w/o QK-norm)",
        ]
        .map(String::from);
        let rows: Vec<Vec<String>> = self
            .ladder
            .iter()
            .map(|r| {
                vec![
                    r.variant.clone(),
                    if r.context == "all runs" { "—".into() } else { r.context.clone() },
                    fmt_num(r.seq_len),
                    format!("{:.0}", r.budget),
                    format!("{:.4}", r.loss),
                    r.std.map(|v| format!("{v:.4}")).unwrap_or("—".into()),
                    r.seeds.to_string(),
                    r.gain_pct.map(|g| format!("{g:+.2}%")).unwrap_or("—".into()),
                    if self.ladder.iter().find(|x| x.context == r.context && x.seq_len == r.seq_len).is_some_and(|first| std::ptr::eq(first, r)) {
                        "(the reference)".into()
                    } else {
                        r.gain_ci.show(|g| format!("{g:+.2}%"))
                    },
                    if self.ladder.iter().any(|x| x.arch == "gpt_plus" && x.context == r.context && x.seq_len == r.seq_len) {
                        paper_ladder(&r.arch, &r.flags)
                    } else {
                        "— (needs GPT+)".into()
                    },
                ]
            })
            .collect();
        md_table(&headers, &rows)
    }

    /// The whole report.md text; `plots` are the saved PNGs (relative to `dir`).
    pub fn markdown(&self, plots: &[PathBuf], skipped_curves: usize, header: &super::Header) -> String {
        let all = |_: &str| true;
        let (counts, missing) = self.counts();
        let name = self.dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let mut md = format!("# Sweep report: {name}\n\n");
        md += &header.markdown();
        let c: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        md += &format!(
            "{} runs: {}. {} missing (not done or diverged; ignored below).\nGroup keys (the varying settings other than LR and seed): {}.\n\n",
            self.runs.len(),
            if c.is_empty() { "none".into() } else { c.join(", ") },
            missing,
            if self.keys.is_empty() { "none".into() } else { self.keys.iter().map(|k| format!("`{}`", short_key(k))).collect::<Vec<_>>().join(", ") }
        );
        if !self.speedups.is_empty() {
            md += "## Steps-to-loss speedup (nGPT Fig. 2; anGPT)\n\n";
            md += &self.speedup_table(&all);
            md += "\nB_var: the variant's budget reaching the reference's final loss at B_ref, interpolating log(steps) linearly in final loss between the variant's budgets; no extrapolation (\"> max\": not reached at the largest budget, so S is an upper bound; \"< min\": beaten already at the smallest, a lower bound). ";
            md += &format!(
                "S 95%: seed bootstrap ({BOOTSTRAP_DRAWS} draws, RNG seed {BOOTSTRAP_SEED}; t-scaled, see below). Wall-clock S = S ÷ (median step time variant / reference). With several LRs per budget each budget uses its best LR.\n"
            );
            md += "Small-scale targets (docs/variants.md §8.1–8.2): S > 1 at the largest budget for every T and growing with T and budget (nGPT); anGPT/GPT+ ≥ 1.2 (paper 1.4) with ≤ 5% step-time overhead.\n\n";
        }
        if self.lr_sweep {
            md += "## Learning-rate transfer: η* per group\n\n";
            md += &self.lr_table(&all);
            md += "\nη*: vertex of a least-squares quadratic in ln LR over the ≤ 5 usable grid LRs nearest the best one, all seeds' points pooled; diverged or clearly unstable LRs (seed-mean loss > 10% above the best) bound the fit instead of entering it. ≥ / ≤: the optimum is at the grid's edge, η* is only a bound. LRs (fit): grid LRs with data (in the fit).\n\n";
            md += INTERVAL_NOTE;
            for ax in self.axes() {
                let ax = ax.as_str();
                if !self.drifts.iter().any(|d| d.axis == ax) {
                    continue;
                }
                if ax == STEPS {
                    md += "## Token horizon: slope of log η* against log steps\n\n";
                } else {
                    md += &format!("## η* across {}\n\n", if axis_name(ax) == "axis" { short_key(ax) } else { axis_name(ax).to_string() });
                }
                md += &format!("### Does η* transfer along {}?\n\n", short_key(ax));
                md += &self.transfer_table(Some(ax), &all);
                md += "\n### Drift (a description)\n\n";
                md += &self.drift_table(Some(ax), &all);
                md += "\n* = η* at the grid edge (a bound). Drift = max η* / min η* across the axis; slope = least-squares d ln η* / d ln x; both intervals from the same seed draws as η*'s.\n\n";
            }
        }
        if !self.ladder.is_empty() {
            md += "## Final loss per variant (ablation ladder)\n\n";
            md += &self.ladder_table();
            md += "\nEach variant at the largest budget all variants ran, its best LR; gain = loss reduction against the first rung. The paper's gains are third-party readings (docs/variants.md §5.2).\n\n";
        }
        match &self.compute_ladder {
            Some(Ok(l)) => md += &format!("## Compute ladder: frontiers, fitted laws, compute multipliers\n\n{}\n", l.markdown()),
            Some(Err(why)) => md += &format!("## Compute ladder: refused\n\n{why}\n\n"),
            None => {}
        }
        if !self.lr_sweep && self.speedups.is_empty() && self.ladder.is_empty() {
            md += "No LR grid (≥ 2 LRs in a group), budget sweep or variant comparison found: only the plots below.\n\n";
        }
        md += "## Plots\n\n";
        for p in plots {
            let rel = p.strip_prefix(&self.dir).unwrap_or(p);
            let stem = rel.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
            md += &format!("- [{stem}]({}) ([svg]({}))\n", rel.display(), rel.with_extension("svg").display());
        }
        if skipped_curves > 0 {
            md += &format!("- ({skipped_curves} more loss-curve charts not drawn; at most {MAX_CURVE_CHARTS})\n");
        }
        if missing > 0 {
            md += "\n## Missing runs\n\n";
            let m: Vec<String> =
                self.runs.iter().filter(|r| !r.is_data()).map(|r| format!("`{}` ({}, {})", r.id, r.status, label(&self.keys, &r.key))).collect();
            md += &m.join(", ");
            md += "\n";
        }
        md
    }
}

/// How every interval of the report is computed (printed under the η* table).
pub(super) const INTERVAL_NOTE: &str = "95% intervals: seed bootstrap (seeds are the independent replications; one seed's LR points share data order and init), θ̂ ± t(n−1)·√(n/(n−1))·sd of 1000 draws, on a log scale for η*, drift and S; \"unavailable (1 seed)\" with fewer than two seeds.\n\n";

pub(super) fn paper_eta(arch: &str, param: &str) -> String {
    match (arch, param) {
        (_, "nugpt") => "base η* transfers (νGPT Figs. 1–3)".into(),
        (_, "mup") => "base η* transfers (μP, TP-V)".into(),
        ("gpt", _) | ("gpt_plus", _) => "≈1e-3–3e-3 at 0.5B (nGPT Table 3)".into(),
        ("ngpt", _) => "≈1e-3–6e-3 at 0.5B (nGPT Fig. 7)".into(),
        _ => "—".into(),
    }
}

pub(super) fn paper_drift(d: &Drift) -> String {
    let p = d.param.as_str();
    match d.axis.as_str() {
        WIDTH => match (d.arch.as_str(), p) {
            (_, "nugpt") => "≤ 1.5–2× over 4× width (νGPT Fig. 2: \"essentially perfect\")".into(),
            (_, "mup") => "≤ 1.5–2× over 4× width (μP transfers)".into(),
            (_, "completep") => "drifts right (νGPT Fig. 7)".into(),
            ("ngpt", _) => "> 2× or monotone drift: no transfer (νGPT Fig. 2)".into(),
            (_, "sp") => "> 2× or monotone drift: no transfer (SP)".into(),
            _ => "—".into(),
        },
        DEPTH => match p {
            "depth_mup" => "drifts right (νGPT Fig. 8)".into(),
            "nugpt" => "≤ 2×, flatter at large depth (νGPT Fig. 3)".into(),
            _ if d.arch == "ngpt" => "≤ 2× (νGPT Fig. 3)".into(),
            _ => "—".into(),
        },
        STEPS => {
            if d.scale_horizon == Some(true) && p == "nugpt" {
                "slope ≈ 0 with m_data^(−1/3) (νGPT)".into()
            } else {
                "slope −1/3 (νGPT Figs. 9, 15); accept −0.5…−0.2".into()
            }
        }
        _ => "—".into(),
    }
}

/// (paper speedup, paper step-time overhead) for a comparison; for nGPT vs GPT the paper's
/// 4×/10×/20× at 1k/4k/8k are matched to the swept contexts by rank when there are three.
pub(super) fn paper_speedup(var: &str, reference: &str, seq_len: f64, contexts: &[f64]) -> (String, String) {
    match (var, reference) {
        ("ngpt", "gpt") => {
            let s = if contexts.len() == 3 {
                let i = contexts.iter().position(|c| *c == seq_len).unwrap_or(0);
                format!("{} (as the paper's {} context; 4×/10×/20× at 1k/4k/8k)", ["4×", "10×", "20×"][i], ["1k", "4k", "8k"][i])
            } else {
                "4× / 10× / 20× at 1k / 4k / 8k context (nGPT Fig. 2)".into()
            };
            (s, "+60–80% per step at 4k/8k (nGPT §3.1)".into())
        }
        ("angpt", "gpt_plus") => ("1.40× (2.0× w/o QK-norm) (anGPT)".into(), "+2.75% (anGPT, 0.5B on 4×A100)".into()),
        ("ngpt", "gpt_plus") => ("1.29× (1.8× w/o QK-norm) (anGPT)".into(), "+9.6% (anGPT, 0.5B on 4×A100)".into()),
        ("gpt_plus", "gpt") => ("— (GPT+ is the anGPT baseline)".into(), "—".into()),
        _ => ("—".into(), "—".into()),
    }
}

pub(super) fn paper_ladder(arch: &str, flags: &[String]) -> String {
    let f = |n: &str| flags.iter().any(|x| x == n);
    match arch {
        "gpt_plus" if f("no_qk_norm") => "baseline".into(),
        "gpt_plus" => "+2.1%".into(),
        "ngpt" if f("norm_at_most_one") => "+3.4%".into(),
        "ngpt" => "+3.0%".into(),
        "angpt" => "+3.8%".into(),
        _ => "—".into(),
    }
}

pub(super) fn axis_name(axis: &str) -> &'static str {
    match axis {
        WIDTH => "width",
        DEPTH => "depth",
        STEPS => "horizon",
        _ => "axis",
    }
}

pub(super) fn axis_title(axis: &str) -> &'static str {
    match axis {
        WIDTH => "width d_model",
        DEPTH => "depth n_layer",
        STEPS => "training steps",
        _ => "value",
    }
}

pub(super) fn fmt_lr(v: f64) -> String {
    crate::plot::fmt_sci(v)
}

/// A signed number with `digits` decimals and no "-0.00".
pub(super) fn fmt_signed(v: f64, digits: usize) -> String {
    let v = if v.abs() < 0.5 * 10f64.powi(-(digits as i32)) { 0.0 } else { v };
    format!("{v:+.digits$}")
}

/// A markdown table; cells' `|` are escaped.
pub fn md_table(headers: &[String], rows: &[Vec<String>]) -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let mut s = format!(
        "| {} |\n|{}|\n",
        headers.iter().map(|h| esc(h)).collect::<Vec<_>>().join(" | "),
        headers.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for r in rows {
        s += &format!("| {} |\n", r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | "));
    }
    if rows.is_empty() {
        s += &format!("| (no data){} |\n", " | ".repeat(headers.len().saturating_sub(1)));
    }
    s
}

/// File-name-safe form of a label.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for ch in s.to_lowercase().chars() {
        if ch.is_ascii_alphanumeric() || ch == '.' {
            out.push(ch);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let t = out.trim_matches('-').to_string();
    let t: String = t.chars().take(80).collect();
    if t.is_empty() { "all".into() } else { t }
}
