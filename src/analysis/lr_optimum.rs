//! The optimal learning rate η* of one loss-vs-LR curve: a least-squares quadratic in ln LR
//! over the (up to) five usable grid LRs nearest the best one, every seed's point pooled.
//!
//! Diverged LRs (any seed +∞/NaN) and clearly unstable ones (above the best LR, seed-mean
//! loss more than `UNSTABLE_EXCESS` above the best) never enter the fit: loss-vs-LR rises much faster than a
//! parabola on the unstable side, so such points would drag the vertex away from the minimum.
//! Instead they bound it: the window stops at them and the vertex may move at most half a grid
//! step towards them. A best LR at the first or last grid point, or a vertex outside the
//! grid's usable range, makes η* a bound (`Bound::AtMost` / `AtLeast`), never a value.
//!
//! **What the LR placement cannot resolve.** Three LRs pin a parabola exactly, whatever the true
//! curve does between them, and real curves do not rise alike on both sides of η*. So every
//! optimum carries a `resolution`: half the gap between the measured LRs that bracket it (the
//! larger neighbouring gap when it sits on one), and a `model_variance` derived from it. η*'s
//! interval never claims more than it (bootstrap::optimum_boot), the exponent of η* across
//! sizes carries it (transfer.rs), and `[refine]` places LRs until the gap meets its target.

/// Grid LRs in the fit window (the best one and its nearest usable neighbours).
pub const FIT_POINTS: usize = 5;
/// An LR above the best whose seed-mean loss exceeds the best seed-mean loss by more than
/// this fraction of it is "clearly unstable" (10%: several times the rise one factor-2 step
/// from the optimum on the curves of the shipped sweeps).
pub const UNSTABLE_EXCESS: f64 = 0.10;

/// Is η* a value or only a bound?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    Interior,
    /// The optimum lies at or below the smallest usable LR: true η* ≤ `eta_star`.
    AtMost,
    /// The optimum lies at or above the largest usable LR: true η* ≥ `eta_star`.
    AtLeast,
}

impl Bound {
    /// "", "≤ ", "≥ ": the prefix of a printed η*.
    pub fn prefix(self) -> &'static str {
        match self {
            Bound::Interior => "",
            Bound::AtMost => "≤ ",
            Bound::AtLeast => "≥ ",
        }
    }
}

/// The fitted optimum of one loss-vs-LR curve.
#[derive(Clone, Debug, PartialEq)]
pub struct LrOptimum {
    pub eta_star: f64,
    /// Fitted loss at η* (the observed seed-mean loss when no quadratic could be fitted).
    pub loss_star: f64,
    pub bound: Bound,
    /// Grid LRs with data.
    pub points: usize,
    /// Grid LRs in the quadratic fit (0: fewer than 3 usable, the best grid LR stands).
    pub fit_points: usize,
    /// Grid LRs where some seed diverged.
    pub diverged: usize,
    /// Half the ln-LR gap between the measured LRs bracketing η* (see the module doc).
    pub resolution: f64,
    /// The fitted parabola, when one was fitted.
    pub fit: Option<Parabola>,
}

/// loss = a·(x − x0)² + b·(x − x0) + c in x = ln lr, fitted over [x_lo, x_hi].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Parabola {
    pub x0: f64,
    pub a: f64,
    pub b: f64,
    pub c: f64,
    pub x_lo: f64,
    pub x_hi: f64,
}

impl Parabola {
    pub fn at(&self, x: f64) -> f64 {
        let d = x - self.x0;
        self.a * d * d + self.b * d + self.c
    }
    pub fn covers(&self, x: f64) -> bool {
        self.x_lo - 1e-9 <= x && x <= self.x_hi + 1e-9
    }
}

/// Half the gap between the measured ln LRs `xs` (sorted) that bracket `v`; on a measured LR,
/// half the larger of its two gaps; beyond the measured range, the distance to its edge.
pub fn resolution(xs: &[f64], v: f64) -> f64 {
    const ON: f64 = 1e-9;
    let below = xs.iter().rev().find(|&&x| x < v - ON);
    let above = xs.iter().find(|&&x| x > v + ON);
    if xs.iter().any(|&x| (x - v).abs() <= ON) {
        let gap = below.map_or(0.0, |b| v - b).max(above.map_or(0.0, |a| a - v));
        return gap / 2.0;
    }
    match (below, above) {
        (Some(b), Some(a)) => (a - b) / 2.0,
        (Some(b), None) => v - b,
        (None, Some(a)) => a - v,
        (None, None) => 0.0,
    }
}

impl LrOptimum {
    pub fn at_edge(&self) -> bool {
        self.bound != Bound::Interior
    }

    /// The variance of ln η* that seeds cannot see. With three LRs (or none) in the fit window
    /// the parabola passes through them exactly, so nothing measured says where between them a
    /// non-parabolic curve's optimum lies: a uniform error over ±resolution (variance r²/3). With
    /// four or more the fit has residual degrees of freedom, but a curve that rises faster on
    /// one side still leans the vertex towards the other by a fraction of the spacing, and by
    /// more where the curve is flatter: a uniform error over ±resolution/2 (variance r²/12;
    /// `tests/transfer_statistics.rs` measures both on asymmetric curves).
    pub fn model_variance(&self) -> f64 {
        let r2 = self.resolution.powi(2);
        if self.fit_points >= 4 { r2 / 12.0 } else { r2 / 3.0 }
    }

    /// Fewer than four LRs pin the vertex: the design resolves nothing finer than ±resolution.
    pub fn exactly_pinned(&self) -> bool {
        self.fit_points < 4
    }
}

/// One grid LR: ln lr, its finite losses (one per seed), and whether some seed diverged.
struct GridLr {
    x: f64,
    losses: Vec<f64>,
    diverged: bool,
}

impl GridLr {
    fn mean(&self) -> f64 {
        if self.diverged || self.losses.is_empty() { f64::INFINITY } else { self.losses.iter().sum::<f64>() / self.losses.len() as f64 }
    }
}

/// `points`: (lr, final loss) of every seed, pooled; a non-finite loss means diverged.
/// `None` when every LR diverged.
pub fn lr_optimum(points: &[(f64, f64)]) -> Option<LrOptimum> {
    let mut grid: Vec<GridLr> = Vec::new();
    for &(lr, l) in points {
        if !(lr > 0.0 && lr.is_finite()) {
            continue;
        }
        let x = lr.ln();
        let i = match grid.iter().position(|g| g.x == x) {
            Some(i) => i,
            None => {
                grid.push(GridLr { x, losses: Vec::new(), diverged: false });
                grid.len() - 1
            }
        };
        if l.is_finite() { grid[i].losses.push(l) } else { grid[i].diverged = true }
    }
    grid.sort_by(|a, b| a.x.total_cmp(&b.x));
    let means: Vec<f64> = grid.iter().map(GridLr::mean).collect();
    let diverged = grid.iter().filter(|g| g.diverged).count();
    let (ib, &best) = means.iter().enumerate().filter(|(_, m)| m.is_finite()).min_by(|a, b| a.1.total_cmp(b.1))?;
    // Only the high-LR side can be unstable; slow low LRs are merely far (nearest-first keeps
    // the window close to the optimum).
    let usable: Vec<bool> = means.iter().enumerate().map(|(i, &m)| m.is_finite() && (i <= ib || m <= best + UNSTABLE_EXCESS * best.abs())).collect();
    // Grow the window from the best LR, nearest neighbour (in ln lr) first, never across an
    // unusable LR.
    let (mut lo, mut hi) = (ib, ib);
    while hi - lo + 1 < FIT_POINTS {
        let left = (lo > 0 && usable[lo - 1]).then(|| grid[ib].x - grid[lo - 1].x);
        let right = (hi + 1 < grid.len() && usable[hi + 1]).then(|| grid[hi + 1].x - grid[ib].x);
        match (left, right) {
            (Some(l), Some(r)) if l <= r => lo -= 1,
            (Some(_), None) => lo -= 1,
            (_, Some(_)) => hi += 1,
            (None, None) => break,
        }
    }
    let xs: Vec<f64> = grid.iter().map(|g| g.x).collect();
    let base = LrOptimum {
        eta_star: grid[ib].x.exp(),
        loss_star: best,
        bound: edge_bound(ib, grid.len()),
        points: grid.len(),
        fit_points: 0,
        diverged,
        resolution: resolution(&xs, grid[ib].x),
        fit: None,
    };
    if hi - lo + 1 < 3 {
        return Some(base);
    }
    let x0 = grid[ib].x;
    let pts: Vec<(f64, f64)> = grid[lo..=hi].iter().flat_map(|g| g.losses.iter().map(move |&l| (g.x - x0, l))).collect();
    let Some((a, b, c)) = fit_quadratic(&pts) else { return Some(base) };
    if a <= 0.0 {
        return Some(base); // no curvature in the window: the best grid LR stands
    }
    // The vertex may leave the window by half a step towards an unusable LR (the optimum lies
    // between the last stable point and the unstable one), but never beyond the grid.
    let reach = |inner: usize, outer: Option<usize>| match outer {
        Some(o) => 0.5 * (grid[inner].x + grid[o].x),
        None => grid[inner].x,
    };
    let x_min = reach(lo, lo.checked_sub(1));
    let x_max = reach(hi, (hi + 1 < grid.len()).then_some(hi + 1));
    let v = grid[ib].x - b / (2.0 * a);
    let mut bound = base.bound;
    if v < x_min && lo == 0 {
        bound = Bound::AtMost;
    } else if v > x_max && hi + 1 == grid.len() {
        bound = Bound::AtLeast;
    }
    let v = v.clamp(x_min, x_max);
    let fit = Parabola { x0, a, b, c, x_lo: grid[lo].x, x_hi: grid[hi].x };
    Some(LrOptimum {
        eta_star: v.exp(),
        loss_star: fit.at(v),
        bound,
        fit_points: hi - lo + 1,
        resolution: resolution(&xs, v),
        fit: Some(fit),
        ..base
    })
}

fn edge_bound(i: usize, n: usize) -> Bound {
    if i == 0 && n > 1 {
        Bound::AtMost
    } else if i + 1 == n && n > 1 {
        Bound::AtLeast
    } else {
        Bound::Interior
    }
}

/// Least-squares y = a·x² + b·x + c (x already centred); `None` if singular (< 3 distinct x).
fn fit_quadratic(pts: &[(f64, f64)]) -> Option<(f64, f64, f64)> {
    let mut s = [0.0f64; 5]; // Σ x^k, k = 0..4
    let mut t = [0.0f64; 3]; // Σ x^k y, k = 0..2
    for &(x, y) in pts {
        let mut p = 1.0;
        for (k, sk) in s.iter_mut().enumerate() {
            *sk += p;
            if k < 3 {
                t[k] += p * y;
            }
            p *= x;
        }
    }
    // Normal equations [s4 s3 s2; s3 s2 s1; s2 s1 s0]·(a, b, c) = (t2, t1, t0), by Cramer.
    let m = [[s[4], s[3], s[2]], [s[3], s[2], s[1]], [s[2], s[1], s[0]]];
    let r = [t[2], t[1], t[0]];
    let det3 = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det3(&m);
    if d.abs() < 1e-12 * s[0].powi(3).max(1.0) {
        return None;
    }
    let col = |j: usize| {
        let mut mj = m;
        for (row, ri) in mj.iter_mut().zip(r) {
            row[j] = ri;
        }
        det3(&mj) / d
    };
    Some((col(0), col(1), col(2)))
}
