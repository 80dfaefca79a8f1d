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
    nice_ticks_n(lo, hi, 6)
}

/// 1-2-2.5-5 ticks covering [lo, hi], about `n` of them (at least one).
pub(super) fn nice_ticks_n(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
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

/// The ticks at multiples `mults` of every decade within [lo, hi] (log10 units).
fn decade_ticks(lo: f64, hi: f64, mults: &[f64]) -> Vec<f64> {
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
}

/// Tick sets for a log axis over [lo, hi] (log10 units), the preferred one first and then
/// ever sparser ones, each at round values (1, 2, 5 × 10^k; then decades, every 2nd decade…).
pub(super) fn log_tick_candidates(lo: f64, hi: f64) -> Vec<Vec<f64>> {
    let decades = decade_ticks(lo, hi, &[1.0]);
    let sparse_decades = |k: usize| -> Vec<f64> { decades.iter().cloned().filter(|t| (t.round() as i64).rem_euclid(k as i64) == 0).collect() };
    let mut out: Vec<Vec<f64>> = Vec::new();
    if decades.len() < 4 {
        let fine = decade_ticks(lo, hi, &[1.0, 2.0, 5.0]);
        if fine.len() < 3 {
            let finer = decade_ticks(lo, hi, &[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
            if finer.len() >= 3 {
                out.push(finer);
                out.push(decade_ticks(lo, hi, &[1.0, 2.0, 3.0, 5.0]));
            } else {
                // Less than a factor ~1.5 wide: linear 1-2-5 steps.
                for n in [6, 4, 3, 2] {
                    out.push(nice_ticks_n(10f64.powf(lo), 10f64.powf(hi), n).into_iter().filter(|v| *v > 0.0).map(f64::log10).collect());
                }
            }
        }
        out.push(fine);
        out.push(decade_ticks(lo, hi, &[1.0, 5.0]));
    }
    for k in [1, 2, 5, 10] {
        out.push(sparse_decades(k));
    }
    out.retain(|c| !c.is_empty());
    out.dedup();
    out
}

/// Tick sets for a linear axis over [lo, hi]: about 6, then 4, 3 and 2 round steps.
pub(super) fn linear_tick_candidates(lo: f64, hi: f64) -> Vec<Vec<f64>> {
    let mut out: Vec<Vec<f64>> = [6, 4, 3, 2].iter().map(|&n| nice_ticks_n(lo, hi, n)).collect();
    out.dedup();
    out
}

/// The first of `candidates` (preferred first, sparser after) whose labels `fits` accepts;
/// when none does, the sparsest thinned to every k-th tick until it fits (one tick at worst).
pub fn choose_ticks(candidates: &[Vec<f64>], fits: &dyn Fn(&[f64]) -> bool) -> Vec<f64> {
    if let Some(c) = candidates.iter().find(|c| fits(c)) {
        return c.clone();
    }
    let Some(last) = candidates.last() else { return Vec::new() };
    for k in 2..=last.len().max(2) {
        let thinned: Vec<f64> = last.iter().cloned().step_by(k).collect();
        if fits(&thinned) || thinned.len() <= 1 {
            return thinned;
        }
    }
    last.iter().take(1).cloned().collect()
}

/// Do labels centred at `centers` (pixels, ascending or not) with these `widths` (pixels)
/// keep at least `gap` pixels between neighbours?
pub fn labels_fit(centers: &[f64], widths: &[f64], gap: f64) -> bool {
    let mut spans: Vec<(f64, f64)> = centers.iter().zip(widths).map(|(c, w)| (c - w / 2.0, c + w / 2.0)).collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    spans.windows(2).all(|w| w[1].0 - w[0].1 >= gap)
}

/// The labels of these tick values (data units), formatted alike (see `tick_formatter`).
pub fn tick_labels(values: &[f64]) -> Vec<String> {
    let f = tick_formatter(values);
    values.iter().map(|v| f(*v)).collect()
}

/// Ticks for a log axis over [lo, hi] (data units, both > 0): the distinct `data` values
/// when there are at most 12 and their labels fit (then every other one), else round values
/// (1, 2, 5 × 10^k, then sparser). Labels are `extent(label)` pixels long along an axis of
/// `px` pixels and keep a gap of a fifth of the longest between neighbours. What report.html
/// gives plotly, which would otherwise label log axes its own way.
pub fn log_axis_ticks(lo: f64, hi: f64, data: &[f64], px: f64, extent: &dyn Fn(&str) -> f64) -> Vec<f64> {
    let (l, h) = (lo.log10(), hi.log10());
    let span = (h - l).max(1e-12);
    let fits = |t: &[f64]| {
        let labels = tick_labels(&t.iter().map(|v| 10f64.powf(*v)).collect::<Vec<_>>());
        let lens: Vec<f64> = labels.iter().map(|s| extent(s)).collect();
        let gap = 0.2 * lens.iter().cloned().fold(0.0, f64::max);
        labels_fit(&t.iter().map(|v| (v - l) / span * px).collect::<Vec<_>>(), &lens, gap)
    };
    let mut d: Vec<f64> =
        data.iter().filter(|v| v.is_finite() && **v > 0.0).map(|v| v.log10()).filter(|v| *v >= l - 1e-9 && *v <= h + 1e-9).collect();
    d.sort_by(f64::total_cmp);
    d.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    let mut cands = Vec::new();
    if !d.is_empty() && d.len() <= 12 {
        cands.push(d.clone());
        cands.push(d.iter().cloned().step_by(2).collect());
    }
    cands.extend(log_tick_candidates(l, h));
    choose_ticks(&cands, &fits).into_iter().map(|v| 10f64.powf(v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> f64 {
        7.0 * s.chars().count() as f64
    }

    fn round(v: f64) -> bool {
        let m = v / 10f64.powf(v.log10().floor());
        [1.0, 2.0, 5.0].iter().any(|r| (m - r).abs() < 1e-9 || (m - 10.0 * r).abs() < 1e-9)
    }

    #[test]
    fn lr_axes_get_round_ticks_that_fit_and_sparser_ones_when_narrow() {
        let wide = log_axis_ticks(1e-3, 6.4e-2, &[], 500.0, &chars);
        assert_eq!(tick_labels(&wide), ["1e-3", "2e-3", "5e-3", "1e-2", "2e-2", "5e-2"]);
        let narrow = log_axis_ticks(1e-3, 6.4e-2, &[], 90.0, &chars);
        assert!(narrow.len() >= 2 && narrow.len() < wide.len() && narrow.iter().all(|v| round(*v)), "{narrow:?}");
        // The refine LRs of one group are data, but too crowded to label: round ticks instead.
        let refine = [1e-3, 4e-3, 6.76e-3, 7.37e-3, 8.04e-3, 9.56e-3, 1.04e-2, 1.6e-2, 6.4e-2];
        let t = log_axis_ticks(1e-3, 6.4e-2, &refine, 300.0, &chars);
        assert!(t.iter().all(|v| round(*v)), "{t:?}");
        // Widths are data and fit: they are the ticks.
        assert_eq!(tick_labels(&log_axis_ticks(28.0, 150.0, &[32.0, 64.0, 128.0], 300.0, &chars)), ["32", "64", "128"]);
    }

    #[test]
    fn the_chosen_ticks_are_the_first_candidate_that_fits_or_a_thinned_last_one() {
        let cands = vec![vec![1.0, 2.0, 3.0, 4.0], vec![1.0, 3.0], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]];
        assert_eq!(choose_ticks(&cands, &|t| t.len() <= 2), [1.0, 3.0]);
        assert_eq!(choose_ticks(&cands, &|t| t.len() <= 4), [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(choose_ticks(&cands[2..], &|t| t.len() <= 2), [1.0, 4.0]);
        assert!(labels_fit(&[0.0, 10.0], &[8.0, 8.0], 2.0) && !labels_fit(&[0.0, 9.0], &[8.0, 8.0], 2.0));
    }
}
