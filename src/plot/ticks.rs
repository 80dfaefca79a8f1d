//! Number formatting and tick positions (1-2-5 per decade on log axes).

/// Short, readable number: 4000, 0.5, 2.46, 3.91e-3, 1.2e6.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return fmt_sci(v);
    }
    if a >= 100.0 {
        return format!("{v:.0}");
    }
    let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// Scientific form with up to 3 significant digits: 3.91e-3, 2e-3, 1.5e4.
pub fn fmt_sci(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return fmt_num(v);
    }
    let s = format!("{v:.2e}");
    let (m, e) = s.split_once('e').unwrap();
    let m = if m.contains('.') { m.trim_end_matches('0').trim_end_matches('.') } else { m };
    format!("{m}e{e}")
}

/// Tick labels of one axis in one style: all scientific when any tick needs it, otherwise
/// the fewest decimals (the same for every tick) that show each tick exactly, or at least
/// tell neighbouring ticks apart.
pub(super) fn tick_formatter(ticks: &[f64]) -> Box<dyn Fn(f64) -> String> {
    if ticks.iter().any(|v| *v != 0.0 && (v.abs() < 1e-2 || v.abs() >= 1e5)) {
        return Box::new(fmt_sci);
    }
    let exact = |d: usize| ticks.iter().all(|v| (format!("{v:.d$}").parse::<f64>().unwrap_or(f64::NAN) - v).abs() <= 1e-9 * v.abs().max(1.0));
    let distinct = |d: usize| {
        let mut l: Vec<String> = ticks.iter().map(|v| format!("{v:.d$}")).collect();
        l.dedup();
        l.len() == ticks.len()
    };
    let d = (0..=4).find(|&d| exact(d)).or_else(|| (0..=8).find(|&d| distinct(d)).map(|d| d + 1)).unwrap_or(3);
    Box::new(move |v: f64| {
        let s = format!("{v:.d$}");
        if s.parse::<f64>() == Ok(0.0) { "0".into() } else { s }
    })
}

/// 1-2-2.5-5 ticks covering [lo, hi], about 5–8 of them.
pub fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / 6.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + 1e-9 * step {
        out.push(if t.abs() < 1e-12 * step { 0.0 } else { t });
        t += step;
    }
    out
}

/// Ticks in log10 space for a log axis spanning [lo, hi] (log10 units).
pub(super) fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let in_range = |mults: &[f64]| -> Vec<f64> {
        let mut v = Vec::new();
        for k in (lo.floor() as i32 - 1)..=(hi.ceil() as i32 + 1) {
            for m in mults {
                let t = (m * 10f64.powi(k)).log10();
                if t >= lo - 1e-9 && t <= hi + 1e-9 {
                    v.push(t);
                }
            }
        }
        v
    };
    let decades = in_range(&[1.0]);
    if decades.len() >= 4 {
        return decades;
    }
    let fine = in_range(&[1.0, 2.0, 5.0]);
    if fine.len() >= 3 {
        return fine;
    }
    let finer = in_range(&[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    if finer.len() >= 3 {
        return finer;
    }
    nice_ticks(10f64.powf(lo), 10f64.powf(hi)).into_iter().filter(|v| *v > 0.0).map(f64::log10).collect()
}
