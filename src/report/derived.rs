//! The derived numbers as rows of report.csv / report.parquet.

use super::derive::*;
use super::tables::*;
use super::*;

/// One derived number (a row of report.csv / report.parquet). `kind`: lr | drift | horizon |
/// speedup | ladder; unused columns are empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Derived {
    pub kind: String,
    pub group: String,
    pub arch: String,
    pub param: String,
    pub axis: Option<String>,
    pub x: Option<f64>,
    pub seq_len: Option<f64>,
    pub eta_star: Option<f64>,
    pub loss_star: Option<f64>,
    pub at_edge: Option<bool>,
    pub n: Option<f64>,
    pub diverged: Option<f64>,
    pub missing: Option<f64>,
    pub seeds: Option<f64>,
    /// 95% seed-bootstrap interval ends (empty with fewer than 2 seeds).
    pub eta_lo: Option<f64>,
    pub eta_hi: Option<f64>,
    pub loss_lo: Option<f64>,
    pub loss_hi: Option<f64>,
    pub loss_std: Option<f64>,
    pub drift: Option<f64>,
    pub drift_lo: Option<f64>,
    pub drift_hi: Option<f64>,
    pub slope: Option<f64>,
    pub slope_lo: Option<f64>,
    pub slope_hi: Option<f64>,
    pub budget_var: Option<f64>,
    pub speedup: Option<f64>,
    pub speedup_lo: Option<f64>,
    pub speedup_hi: Option<f64>,
    pub step_time_ratio: Option<f64>,
    pub wall_speedup: Option<f64>,
    pub wall_lo: Option<f64>,
    pub wall_hi: Option<f64>,
    pub gain_pct: Option<f64>,
    pub gain_lo: Option<f64>,
    pub gain_hi: Option<f64>,
    pub status: Option<String>,
    pub paper: Option<String>,
}

/// The derived rows as a DataFrame (column order = `Derived`'s fields).
pub fn derived_frame(rows: &[Derived]) -> Result<DataFrame> {
    let s = |name: &str, f: &dyn Fn(&Derived) -> Option<String>| Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>());
    let n = |name: &str, f: &dyn Fn(&Derived) -> Option<f64>| Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>());
    // Counts and context lengths are whole numbers: Int64 columns.
    let i =
        |name: &str, f: &dyn Fn(&Derived) -> Option<f64>| Column::new(name.into(), rows.iter().map(|r| f(r).map(|v| v as i64)).collect::<Vec<_>>());
    let cols = vec![
        s("kind", &|r| Some(r.kind.clone())),
        s("group", &|r| Some(r.group.clone())),
        s("arch", &|r| Some(r.arch.clone())),
        s("param", &|r| Some(r.param.clone())),
        s("axis", &|r| r.axis.clone()),
        n("x", &|r| r.x),
        i("seq_len", &|r| r.seq_len),
        n("eta_star", &|r| r.eta_star),
        n("loss_star", &|r| r.loss_star),
        Column::new("at_edge".into(), rows.iter().map(|r| r.at_edge).collect::<Vec<_>>()),
        i("n", &|r| r.n),
        i("diverged", &|r| r.diverged),
        i("missing", &|r| r.missing),
        i("seeds", &|r| r.seeds),
        n("eta_lo", &|r| r.eta_lo),
        n("eta_hi", &|r| r.eta_hi),
        n("loss_lo", &|r| r.loss_lo),
        n("loss_hi", &|r| r.loss_hi),
        n("loss_std", &|r| r.loss_std),
        n("drift", &|r| r.drift),
        n("drift_lo", &|r| r.drift_lo),
        n("drift_hi", &|r| r.drift_hi),
        n("slope", &|r| r.slope),
        n("slope_lo", &|r| r.slope_lo),
        n("slope_hi", &|r| r.slope_hi),
        n("budget_var", &|r| r.budget_var),
        n("speedup", &|r| r.speedup),
        n("speedup_lo", &|r| r.speedup_lo),
        n("speedup_hi", &|r| r.speedup_hi),
        n("step_time_ratio", &|r| r.step_time_ratio),
        n("wall_speedup", &|r| r.wall_speedup),
        n("wall_lo", &|r| r.wall_lo),
        n("wall_hi", &|r| r.wall_hi),
        n("gain_pct", &|r| r.gain_pct),
        n("gain_lo", &|r| r.gain_lo),
        n("gain_hi", &|r| r.gain_hi),
        s("status", &|r| r.status.clone()),
        s("paper", &|r| r.paper.clone()),
    ];
    Ok(DataFrame::new(rows.len(), cols)?)
}

/// A DataFrame as CSV (RFC 4180 quoting; nulls empty; floats in shortest round-trip form).
pub fn to_csv(df: &DataFrame) -> Result<String> {
    let quote = |s: &str| if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() };
    let mut out = df.get_column_names().iter().map(|n| quote(n.as_str())).collect::<Vec<_>>().join(",");
    out.push('\n');
    let cols = df.columns();
    for i in 0..df.height() {
        let cells: Vec<String> = cols
            .iter()
            .map(|c| match c.dtype() {
                DataType::String => c.str().ok().and_then(|s| s.get(i)).map(quote).unwrap_or_default(),
                DataType::Boolean => c.bool().ok().and_then(|s| s.get(i)).map(|b| b.to_string()).unwrap_or_default(),
                _ => c.cast(&DataType::Float64).ok().and_then(|c| c.f64().ok().and_then(|f| f.get(i))).map(|v| format!("{v}")).unwrap_or_default(),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    Ok(out)
}

impl Analysis {
    /// One row per derived number (the schema of report.csv / report.parquet).
    pub fn derived(&self) -> Vec<Derived> {
        let mut out = Vec::new();
        for g in &self.lr {
            out.push(Derived {
                kind: "lr".into(),
                group: g.label.clone(),
                arch: g.arch.clone(),
                param: g.param.clone(),
                eta_star: g.opt.as_ref().map(|o| o.eta_star),
                loss_star: g.opt.as_ref().map(|o| o.loss_star),
                at_edge: g.opt.as_ref().map(|o| o.at_edge()),
                n: Some(g.runs as f64),
                diverged: Some(g.diverged_runs as f64),
                missing: Some(g.missing as f64),
                seeds: Some(g.seeds as f64),
                eta_lo: g.eta_ci.lo(),
                eta_hi: g.eta_ci.hi(),
                loss_lo: g.loss_ci.lo(),
                loss_hi: g.loss_ci.hi(),
                status: Some(match &g.opt {
                    None => "all diverged".into(),
                    Some(o) if o.at_edge() => format!("bound {}", o.bound.prefix().trim()),
                    Some(_) => "ok".into(),
                }),
                paper: Some(paper_eta(&g.arch, &g.param)),
                ..Default::default()
            });
        }
        for d in &self.drifts {
            out.push(Derived {
                kind: if d.axis == STEPS { "horizon".into() } else { "drift".into() },
                group: d.label.clone(),
                arch: d.arch.clone(),
                param: d.param.clone(),
                axis: Some(axis_name(&d.axis).into()),
                n: Some(d.points.len() as f64),
                drift: Some(d.drift),
                drift_lo: d.drift_ci.lo(),
                drift_hi: d.drift_ci.hi(),
                slope: Some(d.slope),
                slope_lo: d.slope_ci.lo(),
                slope_hi: d.slope_ci.hi(),
                seeds: Some(d.drift_ci.seeds() as f64),
                at_edge: Some(d.points.iter().any(|p| p.2)),
                paper: Some(paper_drift(d)),
                ..Default::default()
            });
        }
        for s in &self.speedups {
            let ctxs: Vec<f64> = self.speedups.iter().filter(|x| x.variant == s.variant && x.reference == s.reference).map(|x| x.seq_len).collect();
            out.push(Derived {
                kind: "speedup".into(),
                group: format!("{} vs {}{}", s.variant, s.reference, if s.context == "all runs" { String::new() } else { format!(" {}", s.context) }),
                arch: s.var_arch.clone(),
                axis: Some("steps".into()),
                x: Some(s.s.budget_ref),
                seq_len: Some(s.seq_len),
                loss_star: Some(s.s.loss_ref),
                budget_var: Some(s.s.reach.budget()),
                speedup: Some(s.s.speedup),
                speedup_lo: s.ci.lo(),
                speedup_hi: s.ci.hi(),
                wall_speedup: s.wall,
                wall_lo: s.wall_ci.lo(),
                wall_hi: s.wall_ci.hi(),
                step_time_ratio: s.step_ratio,
                seeds: Some(s.seeds.1 as f64),
                status: Some(s.s.reach.status().into()),
                paper: Some(paper_speedup(&s.var_arch, &s.ref_arch, s.seq_len, &dedup(ctxs)).0),
                ..Default::default()
            });
        }
        for r in &self.ladder {
            out.push(Derived {
                kind: "ladder".into(),
                group: r.variant.clone(),
                arch: r.arch.clone(),
                x: Some(r.budget),
                seq_len: Some(r.seq_len),
                loss_star: Some(r.loss),
                loss_std: r.std,
                seeds: Some(r.seeds as f64),
                gain_pct: r.gain_pct,
                gain_lo: r.gain_ci.lo(),
                gain_hi: r.gain_ci.hi(),
                paper: Some(paper_ladder(&r.arch, &r.flags)),
                ..Default::default()
            });
        }
        out
    }
}
