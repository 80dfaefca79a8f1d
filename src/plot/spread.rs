//! Uncertainty on line charts: per-point intervals of a series drawn as whiskers (error bars)
//! or as a shaded band between the lower and upper ends.

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

impl LineChart {
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
