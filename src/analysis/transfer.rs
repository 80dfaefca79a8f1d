//! Learning-rate transfer: the optimal LR η* of a group of runs from a parabola fit of final
//! loss against log LR around the minimum, and the drift of η* across a scaled axis.
//! Diverged runs count as +∞ (they bound the fit; they are never silently dropped).

/// The fitted optimum of one loss-vs-LR curve.
#[derive(Clone, Debug, PartialEq)]
pub struct LrOptimum {
    pub eta_star: f64,
    /// Fitted (or observed, at an edge) loss at η*.
    pub loss_star: f64,
    /// The minimum sits at the first or last LR of the grid: η* is only a bound.
    pub at_edge: bool,
    pub points: usize,
    pub diverged: usize,
}

/// `points`: (lr, final loss), loss = NaN/∞ for diverged runs. `None` if every run diverged.
/// Several points at one LR (seeds) are averaged; one diverged seed makes that LR +∞.
pub fn lr_optimum(points: &[(f64, f64)]) -> Option<LrOptimum> {
    let mut by_lr: Vec<(f64, Vec<f64>)> = Vec::new();
    for &(lr, l) in points {
        let l = if l.is_finite() { l } else { f64::INFINITY };
        match by_lr.iter_mut().find(|(x, _)| *x == lr) {
            Some((_, v)) => v.push(l),
            None => by_lr.push((lr, vec![l])),
        }
    }
    let mut p: Vec<(f64, f64)> = by_lr.into_iter().map(|(lr, v)| (lr, v.iter().sum::<f64>() / v.len() as f64)).collect();
    p.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    let diverged = p.iter().filter(|x| !x.1.is_finite()).count();
    let (imin, &(lr_min, loss_min)) = p.iter().enumerate().filter(|(_, x)| x.1.is_finite()).min_by(|a, b| a.1.1.partial_cmp(&b.1.1).unwrap())?;
    let edge = imin == 0 || imin == p.len() - 1 || !p[imin - 1].1.is_finite() || !p[imin + 1].1.is_finite();
    let base = LrOptimum { eta_star: lr_min, loss_star: loss_min, at_edge: edge, points: p.len(), diverged };
    if edge {
        // A diverged neighbour bounds the optimum from that side; the observed minimum stands.
        let truly_edge = imin == 0 || imin == p.len() - 1;
        return Some(LrOptimum { at_edge: truly_edge, ..base });
    }
    // Parabola through the minimum and its two neighbours, in x = ln(lr).
    let (x0, y0) = (p[imin - 1].0.ln(), p[imin - 1].1);
    let (x1, y1) = (p[imin].0.ln(), p[imin].1);
    let (x2, y2) = (p[imin + 1].0.ln(), p[imin + 1].1);
    let denom = (x0 - x1) * (x0 - x2) * (x1 - x2);
    let a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denom;
    let b = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2)) / denom;
    let c = (x1 * x2 * (x1 - x2) * y0 + x2 * x0 * (x2 - x0) * y1 + x0 * x1 * (x0 - x1) * y2) / denom;
    if a <= 0.0 {
        return Some(base);
    }
    let xv = (-b / (2.0 * a)).clamp(x0, x2);
    Some(LrOptimum { eta_star: xv.exp(), loss_star: a * xv * xv + b * xv + c, ..base })
}

/// max η* / min η* across the swept axis.
pub fn drift_factor(etas: &[f64]) -> f64 {
    let max = etas.iter().cloned().fold(f64::MIN, f64::max);
    let min = etas.iter().cloned().fold(f64::MAX, f64::min);
    max / min
}

/// Least-squares slope of log y against log x (e.g. log η* against log steps).
pub fn log_log_slope(xy: &[(f64, f64)]) -> f64 {
    let pts: Vec<(f64, f64)> = xy.iter().map(|&(x, y)| (x.ln(), y.ln())).collect();
    let n = pts.len() as f64;
    let (mx, my) = (pts.iter().map(|p| p.0).sum::<f64>() / n, pts.iter().map(|p| p.1).sum::<f64>() / n);
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx
}

/// Sample standard deviation (`None` for fewer than 2 finite values).
pub fn std(values: &[f64]) -> Option<f64> {
    let v: Vec<f64> = values.iter().cloned().filter(|x| x.is_finite()).collect();
    if v.len() < 2 {
        return None;
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    Some((v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt())
}

/// Seed spread of one LR curve. `points`: (seed, lr, loss). Returns (std of the per-seed η*,
/// std over seeds of the loss at the grid LR with the best seed-mean loss); each `None` with
/// fewer than 2 seeds that give a value.
pub fn seed_spread(points: &[(f64, f64, f64)]) -> (Option<f64>, Option<f64>) {
    let mut seeds: Vec<f64> = points.iter().map(|p| p.0).collect();
    seeds.sort_by(|a, b| a.partial_cmp(b).unwrap());
    seeds.dedup();
    if seeds.len() < 2 {
        return (None, None);
    }
    let etas: Vec<f64> = seeds
        .iter()
        .filter_map(|s| {
            let pts: Vec<(f64, f64)> = points.iter().filter(|p| p.0 == *s).map(|p| (p.1, p.2)).collect();
            lr_optimum(&pts).map(|o| o.eta_star)
        })
        .collect();
    let all: Vec<(f64, f64)> = points.iter().map(|p| (p.1, p.2)).collect();
    let loss_std = best_grid_lr(&all).and_then(|lr| {
        let at: Vec<f64> = points.iter().filter(|p| p.1 == lr).map(|p| p.2).collect();
        std(&at)
    });
    (std(&etas), loss_std)
}

/// The grid LR with the lowest seed-mean loss (a diverged seed makes its LR +∞).
pub fn best_grid_lr(points: &[(f64, f64)]) -> Option<f64> {
    let mut lrs: Vec<f64> = points.iter().map(|p| p.0).collect();
    lrs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    lrs.dedup();
    lrs.into_iter()
        .map(|lr| {
            let v: Vec<f64> = points.iter().filter(|p| p.0 == lr).map(|p| if p.1.is_finite() { p.1 } else { f64::INFINITY }).collect();
            (lr, v.iter().sum::<f64>() / v.len() as f64)
        })
        .filter(|p| p.1.is_finite())
        .min_by(|a, b| a.1.partial_cmp(&b.1).unwrap())
        .map(|p| p.0)
}
