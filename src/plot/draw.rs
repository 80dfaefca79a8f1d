//! Drawing internals: axes, legend column, notes rows, markers, panels; PNG + SVG output.

use super::ticks::*;
use super::*;

/// A linear axis (over data or log10 data) whose tick positions are chosen here.
#[derive(Clone, Debug)]
pub(super) struct Axis {
    lo: f64,
    hi: f64,
    keys: Vec<f64>,
}

impl Axis {
    pub(super) fn new(lo: f64, hi: f64, keys: Vec<f64>) -> Self {
        Axis { lo, hi, keys: keys.into_iter().filter(|k| *k >= lo && *k <= hi).collect() }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;
    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        if self.hi == self.lo {
            return (limit.0 + limit.1) / 2;
        }
        let t = ((v - self.lo) / (self.hi - self.lo)).clamp(-10.0, 10.0);
        limit.0 + ((limit.1 - limit.0) as f64 * t).round() as i32
    }
    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() { Vec::new() } else { self.keys.clone() }
    }
    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

pub(super) fn perr<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plotting: {e:?}")
}

/// Something drawn the same way on the PNG and the SVG backend.
pub(super) trait Draw {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

impl Draw for LineChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        self.draw_root(root)
    }
}

impl Draw for BarChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        self.draw_root(root)
    }
}

impl Draw for Grid {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        self.draw_root(root)
    }
}

/// Write `stem.png` and `stem.svg` (parent directories created).
pub(super) fn save_both<D: Draw>(d: &D, stem: &Path, size: (u32, u32)) -> Result<Vec<PathBuf>> {
    init_font();
    if let Some(parent) = stem.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        d.draw(&root)?;
        root.present().map_err(perr)?;
    }
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        d.draw(&root)?;
        root.present().map_err(perr)?;
    }
    Ok(vec![png, svg])
}

pub(super) fn notes_height(notes: &[String]) -> u32 {
    if notes.is_empty() { 0 } else { 10 + 20 * notes.len() as u32 }
}

/// Font size that fits `text` into `width` pixels (DejaVu Sans averages ≈ 0.58 em per char).
pub(super) fn fit_font(text: &str, width: u32, size: f64) -> f64 {
    let chars = text.chars().count().max(1) as f64;
    let fit = (width as f64 - 30.0) / (0.6 * chars);
    size.min(fit).max(11.0)
}

/// Draw notes at the bottom of `area`; returns the area above them.
pub(super) fn draw_notes<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, notes: &[String]) -> Result<DrawingArea<DB, Shift>> {
    if notes.is_empty() {
        return Ok(area.clone());
    }
    let (_, h) = area.dim_in_pixel();
    let nh = notes_height(notes);
    let (top, bottom) = area.split_vertically(h.saturating_sub(nh));
    let (w, _) = bottom.dim_in_pixel();
    for (i, n) in notes.iter().enumerate() {
        let style = (FONT, fit_font(n, w, 14.0)).into_font().color(&RGBColor(60, 60, 60));
        bottom.draw_text(n, &style.into_text_style(&bottom), (14, 4 + 20 * i as i32)).map_err(perr)?;
    }
    Ok(top)
}

pub(super) struct LegendEntry {
    name: String,
    color: RGBColor,
    shape: Option<usize>,
    dashed: bool,
}

impl LegendEntry {
    pub(super) fn of(s: &Series, slot: usize) -> Self {
        LegendEntry {
            name: truncate(&s.name, 42),
            color: PALETTE[slot % PALETTE.len()],
            shape: s.markers.then_some(slot / PALETTE.len() + slot),
            dashed: s.dashed,
        }
    }
}

pub(super) fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n - 1).collect::<String>()) }
}

/// Legend column width for sizing a grid image (DejaVu Sans 14 px ≈ 8 px per character).
pub(super) fn legend_width(names: &[String]) -> u32 {
    let longest = names.iter().map(|n| truncate(n, 42).chars().count()).max().unwrap_or(0) as u32;
    (64 + longest * 8).clamp(100, 440)
}

/// Legend in its own column at the right of `area`; returns the area left of it.
pub(super) fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, entries: &[LegendEntry]) -> Result<DrawingArea<DB, Shift>> {
    let (w, h) = area.dim_in_pixel();
    let style = (FONT, 14).into_font().color(&BLACK);
    let text_w =
        entries.iter().map(|e| area.estimate_text_size(&e.name, &style.clone().into_text_style(area)).map(|s| s.0).unwrap_or(200)).max().unwrap_or(0);
    let lw = (text_w + 64).clamp(100, 440).min(w / 2);
    let (left, right) = area.split_horizontally(w - lw);
    let row = 22i32;
    let fit = ((h as i32 - 30) / row).max(1) as usize;
    for (i, e) in entries.iter().enumerate() {
        let y = 20 + row * i as i32;
        if i + 1 == fit && entries.len() > fit {
            right.draw_text(&format!("… and {} more", entries.len() - i), &style.clone().into_text_style(&right), (8, y - 8)).map_err(perr)?;
            break;
        }
        let line_style = e.color.stroke_width(2);
        if e.dashed {
            right.draw(&DashedPathElement::new(vec![(6, y), (40, y)], 5, 3, line_style)).map_err(perr)?;
        } else {
            right.draw(&PathElement::new(vec![(6, y), (40, y)], line_style)).map_err(perr)?;
        }
        if let Some(shape) = e.shape {
            draw_marker(&right, (23, y), shape, e.color)?;
        }
        let text_style = style.clone().pos(Pos::new(HPos::Left, VPos::Center));
        right.draw_text(&e.name, &text_style.into_text_style(&right), (48, y)).map_err(perr)?;
    }
    Ok(left)
}

/// Marker `shape` (cycles circle, triangle, square, diamond) centred at pixel `p`.
pub(super) fn draw_marker<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: (i32, i32), shape: usize, c: RGBColor) -> Result<()> {
    let style = c.filled();
    match shape % 4 {
        0 => area.draw(&Circle::new(p, 4, style)),
        1 => area.draw(&TriangleMarker::new(p, 5, style)),
        2 => area.draw(&Rectangle::new([(p.0 - 4, p.1 - 4), (p.0 + 4, p.1 + 4)], style)),
        _ => area.draw(&Polygon::new(vec![(p.0, p.1 - 5), (p.0 + 5, p.1), (p.0, p.1 + 5), (p.0 - 5, p.1)], style)),
    }
    .map_err(perr)
}

pub(super) fn no_data<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> Result<()> {
    let (w, h) = area.dim_in_pixel();
    let style = (FONT, 18).into_font().color(&RGBColor(90, 90, 90)).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text("no finished runs to plot", &style.into_text_style(area), (w as i32 / 2, h as i32 / 2)).map_err(perr)
}

/// The plot itself (axes, grid, series, reference lines) filling `area`.
pub(super) fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &LineChart,
    color_of: &dyn Fn(usize, &Series) -> usize,
    label_size: f64,
) -> Result<()> {
    let tx = |v: f64| if c.log_x { v.log10() } else { v };
    let ty = |v: f64| if c.log_y { v.log10() } else { v };
    let ok_x = |v: f64| v.is_finite() && (!c.log_x || v > 0.0);
    let ok_y = |v: f64| v.is_finite() && (!c.log_y || v > 0.0);
    let mut xs: Vec<f64> = c.series.iter().flat_map(|s| s.points.iter()).map(|p| p.0).filter(|v| ok_x(*v)).collect();
    let mut ys: Vec<f64> = c.series.iter().flat_map(|s| s.points.iter()).filter(|p| ok_x(p.0)).map(|p| p.1).filter(|v| ok_y(*v)).collect();
    for (y, _) in &c.hlines {
        if ok_y(*y) {
            ys.push(*y);
        }
    }
    ys.extend(c.spreads.iter().flat_map(|s| s.points.iter()).flat_map(|p| [p.1, p.2]).filter(|v| ok_y(*v)));
    if !xs.is_empty() {
        xs.extend(c.marks.iter().map(|m| m.x).filter(|v| ok_x(*v)));
        ys.extend(c.marks.iter().map(|m| m.y).filter(|v| ok_y(*v)));
    }
    if xs.is_empty() || (ys.is_empty() && c.y_range.is_none()) {
        return no_data(area);
    }
    let (mut x0, mut x1) = (xs.iter().cloned().map(tx).fold(f64::INFINITY, f64::min), xs.iter().cloned().map(tx).fold(f64::NEG_INFINITY, f64::max));
    if x1 - x0 < 1e-12 {
        let d = if c.log_x { 0.3 } else { x0.abs().max(1.0) * 0.1 };
        x0 -= d;
        x1 += d;
    }
    let pad = 0.04 * (x1 - x0);
    let (x0, x1) = (x0 - pad, x1 + pad);
    let (y0, y1) = match c.y_range {
        Some((lo, hi)) => (ty(lo), ty(hi)),
        None => {
            let lo = ys.iter().cloned().map(ty).fold(f64::INFINITY, f64::min);
            let hi = ys.iter().cloned().map(ty).fold(f64::NEG_INFINITY, f64::max);
            // A flat line: ±0.1 decade on a log axis, ±5% (or ±1 around 0) on a linear one.
            let (lo, hi) = if hi - lo < 1e-12 {
                let d = if c.log_y {
                    0.1
                } else if lo == 0.0 {
                    1.0
                } else {
                    0.05 * lo.abs()
                };
                (lo - d, hi + d)
            } else {
                (lo, hi)
            };
            let pad = 0.06 * (hi - lo);
            let has_edge = c.series.iter().any(|s| s.points.iter().any(|p| ok_x(p.0) && !p.1.is_finite()));
            (lo - pad, hi + if has_edge { 4.5 * pad } else { pad })
        }
    };
    let x_auto = || if c.log_x { log_tick_candidates(x0, x1) } else { linear_tick_candidates(x0, x1) };
    let x_cands: Vec<Vec<f64>> = match &c.x_ticks {
        Ticks::Values(v) => vec![v.iter().cloned().filter(|v| ok_x(*v)).map(tx).collect()],
        Ticks::Data => {
            let mut d: Vec<f64> = xs.iter().cloned().map(tx).collect();
            d.sort_by(|a, b| a.partial_cmp(b).unwrap());
            d.dedup_by(|a, b| (*a - *b).abs() < 1e-9 * (1.0 + b.abs()));
            if d.len() <= 12 {
                let every_other: Vec<f64> = d.iter().cloned().step_by(2).collect();
                [vec![d], vec![every_other], x_auto()].concat()
            } else {
                x_auto()
            }
        }
        Ticks::Auto => x_auto(),
    };
    let y_cands = if c.log_y { log_tick_candidates(y0, y1) } else { linear_tick_candidates(y0, y1) };
    let (lx, ly) = (c.log_x, c.log_y);
    let to_data = |log: bool, keys: &[f64]| -> Vec<f64> { keys.iter().map(|v| if log { 10f64.powf(*v) } else { *v }).collect() };
    let tick_font = (FONT, label_size).into_font();
    let text_size = |s: &str| area.estimate_text_size(s, &tick_font.clone().into_text_style(area)).unwrap_or((8 * s.len() as u32, label_size as u32));
    let x_area = (label_size * 3.4) as u32;
    // The plotting area's pixel ranges for a given width of the y label column (the builder
    // only lays out areas; nothing is drawn until the mesh).
    let pixels = |y_area: u32| -> Result<(std::ops::Range<i32>, std::ops::Range<i32>)> {
        let probe = ChartBuilder::on(area)
            .margin(10)
            .margin_right(22)
            .x_label_area_size(x_area)
            .y_label_area_size(y_area)
            .build_cartesian_2d(Axis::new(x0, x1, vec![]), Axis::new(y0, y1, vec![]))
            .map_err(perr)?;
        Ok(probe.plotting_area().get_pixel_range())
    };
    // y first (its pixel height does not depend on the label column), then x in what is left:
    // the first round tick set whose labels keep a gap between neighbours.
    let (_, ypx) = pixels(60)?;
    let y_fits = |keys: &[f64]| {
        let centers: Vec<f64> = keys.iter().map(|k| ypx.end as f64 - (k - y0) / (y1 - y0) * (ypx.end - ypx.start) as f64).collect();
        let heights: Vec<f64> = tick_labels(&to_data(ly, keys)).iter().map(|l| text_size(l).1 as f64).collect();
        labels_fit(&centers, &heights, 4.0)
    };
    let y_keys = choose_ticks(&y_cands, &y_fits);
    let y_labels = tick_labels(&to_data(ly, &y_keys));
    let y_label_w = y_labels.iter().map(|l| text_size(l).0).max().unwrap_or(40);
    let y_area = y_label_w + (label_size * 2.6) as u32;
    let (xpx, _) = pixels(y_area)?;
    let x_fits = |keys: &[f64]| {
        let centers: Vec<f64> = keys.iter().map(|k| xpx.start as f64 + (k - x0) / (x1 - x0) * (xpx.end - xpx.start) as f64).collect();
        let widths: Vec<f64> = tick_labels(&to_data(lx, keys)).iter().map(|l| text_size(l).0 as f64).collect();
        labels_fit(&centers, &widths, label_size)
    };
    let x_keys = choose_ticks(&x_cands, &x_fits);
    let xf = tick_formatter(&to_data(lx, &x_keys));
    let yf = tick_formatter(&to_data(ly, &y_keys));
    let x_fmt = move |v: &f64| xf(if lx { 10f64.powf(*v) } else { *v });
    let y_fmt = move |v: &f64| yf(if ly { 10f64.powf(*v) } else { *v });
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .margin_right(22)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(Axis::new(x0, x1, x_keys), Axis::new(y0, y1, y_keys))
        .map_err(perr)?;
    chart
        .configure_mesh()
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(TRANSPARENT)
        .x_desc(c.x_label.as_str())
        .y_desc(c.y_label.as_str())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style((FONT, label_size))
        .axis_desc_style((FONT, label_size + 2.0))
        .draw()
        .map_err(perr)?;
    // Reference lines first, so the data are drawn over them.
    for (y, label) in &c.hlines {
        if !ok_y(*y) {
            continue;
        }
        let yt = ty(*y);
        let style = RGBColor(80, 80, 80).stroke_width(1);
        chart.draw_series(DashedLineSeries::new(vec![(x0, yt), (x1, yt)], 6, 4, style)).map_err(perr)?;
        let ts = (FONT, label_size).into_font().color(&RGBColor(80, 80, 80)).pos(Pos::new(HPos::Left, VPos::Bottom));
        chart.draw_series(std::iter::once(EmptyElement::at((x0, yt)) + Text::new(label.clone(), (6, -3), ts))).map_err(perr)?;
    }
    super::spread::draw_spreads(&mut chart, c, color_of, (y0, y1))?;
    let y_top = y1 - 0.03 * (y1 - y0);
    for (i, s) in c.series.iter().enumerate() {
        // Edge markers of different series sit at staggered heights, so none hides another.
        let y_edge = y_top - 0.035 * (y1 - y0) * (i % 4) as f64;
        let slot = color_of(i, s);
        let col = PALETTE[slot % PALETTE.len()];
        let shape = slot / PALETTE.len() + slot;
        let finite: Vec<(f64, f64)> = s.points.iter().filter(|p| ok_x(p.0) && ok_y(p.1)).map(|p| (tx(p.0), ty(p.1))).collect();
        let inside: Vec<(f64, f64)> = finite.iter().cloned().filter(|p| p.1 <= y1).collect();
        let style = col.stroke_width(2);
        // Lines run through the finite points; one above the range is pulled to the edge.
        let line: Vec<(f64, f64)> = finite.iter().map(|p| (p.0, if p.1 > y1 { y_edge } else { p.1 })).collect();
        if line.len() > 1 {
            if s.dashed {
                chart.draw_series(DashedLineSeries::new(line, 8, 5, style)).map_err(perr)?;
            } else {
                chart.draw_series(LineSeries::new(line, style)).map_err(perr)?;
            }
        }
        if s.markers {
            let f = col.filled();
            let pts = inside.iter().cloned();
            match shape % 4 {
                0 => chart.draw_series(pts.map(|p| EmptyElement::at(p) + Circle::new((0, 0), 4, f))).map(|_| ()),
                1 => chart.draw_series(pts.map(|p| EmptyElement::at(p) + TriangleMarker::new((0, 0), 5, f))).map(|_| ()),
                2 => chart.draw_series(pts.map(|p| EmptyElement::at(p) + Rectangle::new([(-4, -4), (4, 4)], f))).map(|_| ()),
                _ => chart.draw_series(pts.map(|p| EmptyElement::at(p) + Polygon::new(vec![(0, -5), (5, 0), (0, 5), (-5, 0)], f))).map(|_| ()),
            }
            .map_err(perr)?;
        }
        // Above the range: a hollow ▲ at the edge with the true value beside it.
        for p in finite.iter().filter(|p| p.1 > y1) {
            let v = if c.log_y { 10f64.powf(p.1) } else { p.1 };
            let ts = (FONT, label_size - 2.0).into_font().color(&col).pos(Pos::new(HPos::Left, VPos::Center));
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((p.0, y_edge))
                        + PathElement::new(vec![(0, -7), (6, 4), (-6, 4), (0, -7)], col.stroke_width(2))
                        + Text::new(fmt_num(v), (10, 0), ts),
                ))
                .map_err(perr)?;
        }
        for p in s.points.iter().filter(|p| ok_x(p.0) && !p.1.is_finite()) {
            chart.draw_series(std::iter::once(Cross::new((tx(p.0), y_edge), 6, col.stroke_width(2)))).map_err(perr)?;
        }
    }
    super::spread::draw_marks(&mut chart, c, color_of, (x0, x1))
}
