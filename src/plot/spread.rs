//! Uncertainty on line charts: per-point intervals of a series drawn as whiskers (error bars)
//! or as a shaded band between the lower and upper ends, and marks: one highlighted point of a
//! series (an optimum such as η*) as a star with its x interval as a horizontal whisker.

use super::*;

/// The interval of each point of one series: (x, lo, hi).
#[derive(Clone, Debug)]
pub struct Spread {
    /// Index of the series in `LineChart::series`.
    pub series: usize,
    pub points: Vec<(f64, f64, f64)>,
    /// A shaded band (true) or whiskers with caps (false).
    pub band: bool,
}

/// A highlighted point of a series: a star in the series' colour, hollow when the point is
/// only a bound, with its x interval (lo, hi) as a horizontal whisker through it.
#[derive(Clone, Debug)]
pub struct Mark {
    /// Index of the series in `LineChart::series`.
    pub series: usize,
    pub x: f64,
    pub y: f64,
    pub x_interval: Option<(f64, f64)>,
    pub hollow: bool,
}

impl LineChart {
    /// A star at (x, y) in the colour of the last series added, with its x interval.
    pub fn mark(mut self, x: f64, y: f64, x_interval: Option<(f64, f64)>, hollow: bool) -> Self {
        if let (Some(series), true) = (self.series.len().checked_sub(1), x.is_finite() && y.is_finite()) {
            self.marks.push(Mark { series, x, y, x_interval: x_interval.filter(|(a, b)| a.is_finite() && b.is_finite()), hollow });
        }
        self
    }
    /// Whiskers (lo–hi) on the points of the last series added.
    pub fn whiskers(self, points: Vec<(f64, f64, f64)>) -> Self {
        self.spread(points, false)
    }
    /// A shaded band (lo–hi) around the last series added.
    pub fn band(self, points: Vec<(f64, f64, f64)>) -> Self {
        self.spread(points, true)
    }
    fn spread(mut self, points: Vec<(f64, f64, f64)>, band: bool) -> Self {
        let points: Vec<(f64, f64, f64)> = points.into_iter().filter(|p| p.0.is_finite() && p.1.is_finite() && p.2.is_finite()).collect();
        if let (Some(series), false) = (self.series.len().checked_sub(1), points.is_empty()) {
            self.spreads.push(Spread { series, points, band });
        }
        self
    }
}

/// Draw every spread of `c` (before the series, so lines and markers stay on top).
pub(super) fn draw_spreads<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<Axis, Axis>>,
    c: &LineChart,
    color_of: &dyn Fn(usize, &Series) -> usize,
    (y0, y1): (f64, f64),
) -> Result<()> {
    let tx = |v: f64| if c.log_x { v.log10() } else { v };
    let ty = |v: f64| if c.log_y { v.max(f64::MIN_POSITIVE).log10() } else { v };
    for sp in &c.spreads {
        let Some(s) = c.series.get(sp.series) else { continue };
        let col = PALETTE[color_of(sp.series, s) % PALETTE.len()];
        let clip = |v: f64| ty(v).clamp(y0, y1);
        if sp.band {
            let mut poly: Vec<(f64, f64)> = sp.points.iter().map(|p| (tx(p.0), clip(p.1))).collect();
            poly.extend(sp.points.iter().rev().map(|p| (tx(p.0), clip(p.2))));
            chart.draw_series(std::iter::once(Polygon::new(poly, col.mix(0.18).filled()))).map_err(perr)?;
        } else {
            for p in &sp.points {
                let (x, lo, hi) = (tx(p.0), clip(p.1), clip(p.2));
                let style = col.mix(0.8).stroke_width(2);
                chart.draw_series(std::iter::once(EmptyElement::at((x, lo)) + PathElement::new(vec![(-5, 0), (5, 0)], style))).map_err(perr)?;
                chart.draw_series(std::iter::once(EmptyElement::at((x, hi)) + PathElement::new(vec![(-5, 0), (5, 0)], style))).map_err(perr)?;
                chart.draw_series(LineSeries::new(vec![(x, lo), (x, hi)], style)).map_err(perr)?;
            }
        }
    }
    Ok(())
}

/// Draw every mark of `c` (after the series, so the stars stay on top); an x interval reaching
/// past the plotted range is cut at its edge, without a cap there.
pub(super) fn draw_marks<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<Axis, Axis>>,
    c: &LineChart,
    color_of: &dyn Fn(usize, &Series) -> usize,
    (x0, x1): (f64, f64),
) -> Result<()> {
    let tx = |v: f64| if c.log_x { v.max(f64::MIN_POSITIVE).log10() } else { v };
    let ty = |v: f64| if c.log_y { v.max(f64::MIN_POSITIVE).log10() } else { v };
    for m in &c.marks {
        let Some(s) = c.series.get(m.series) else { continue };
        let col = PALETTE[color_of(m.series, s) % PALETTE.len()];
        let (x, y) = (tx(m.x), ty(m.y));
        if let Some((lo, hi)) = m.x_interval {
            let (a, b) = (tx(lo).max(x0), tx(hi).min(x1));
            let style = col.stroke_width(2);
            chart.draw_series(LineSeries::new(vec![(a, y), (b, y)], style)).map_err(perr)?;
            for (end, inside) in [(a, tx(lo) >= x0), (b, tx(hi) <= x1)] {
                if inside {
                    chart.draw_series(std::iter::once(EmptyElement::at((end, y)) + PathElement::new(vec![(0, -5), (0, 5)], style))).map_err(perr)?;
                }
            }
        }
        let star: Vec<(i32, i32)> = (0..10)
            .map(|i| {
                let r = if i % 2 == 0 { 9.0 } else { 4.0 };
                let a = std::f64::consts::PI * (i as f64 / 5.0 - 0.5);
                ((r * a.cos()).round() as i32, (r * a.sin()).round() as i32)
            })
            .collect();
        let mut closed = star.clone();
        closed.push(star[0]);
        if m.hollow {
            chart.draw_series(std::iter::once(EmptyElement::at((x, y)) + Polygon::new(star, WHITE.filled()))).map_err(perr)?;
            chart.draw_series(std::iter::once(EmptyElement::at((x, y)) + PathElement::new(closed, col.stroke_width(2)))).map_err(perr)?;
        } else {
            chart.draw_series(std::iter::once(EmptyElement::at((x, y)) + Polygon::new(star, col.filled()))).map_err(perr)?;
            chart.draw_series(std::iter::once(EmptyElement::at((x, y)) + PathElement::new(closed, BLACK.stroke_width(1)))).map_err(perr)?;
        }
    }
    Ok(())
}
