//! The one plotting API every chart uses: line charts (named series, optional log axes,
//! markers, diverged points drawn at the top edge), horizontal bar charts, and grids of
//! line-chart panels with one shared legend. Every chart is saved as `STEM.png` and
//! `STEM.svg`, with the vendored DejaVu Sans (assets/) as the only font.
//!
//! Layout rules that keep text from overlapping: the legend sits in its own column right of
//! the plot (never over the data), notes sit in their own rows under it, tick positions are
//! chosen here (1-2-5 per decade on log axes, or the data's own x values for grids such as
//! widths and learning rates), and long titles shrink to fit.
//!
//! ```no_run
//! use normlab::plot::LineChart;
//! LineChart::new("final loss vs LR", "learning rate", "final val loss")
//!     .log_x()
//!     .data_ticks_x()
//!     .series("d=64", vec![(1e-3, 2.5), (2e-3, 2.4), (4e-3, f64::INFINITY)])
//!     .save(std::path::Path::new("/tmp/lr"))
//!     .unwrap();
//! ```

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FONT: &str = "sans-serif";

/// Register the vendored font as plotters' "sans-serif" (once per process).
pub fn init_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_err() {
            eprintln!("warning: the vendored DejaVuSans.ttf could not be parsed; PNG text will be missing");
        }
    });
}

/// The tab10 palette: distinct, colour-blind-tolerable, and paired with a marker shape.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One named line.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    /// (x, y); y = +∞ or NaN marks a diverged run, drawn as × at the top edge.
    pub points: Vec<(f64, f64)>,
    pub markers: bool,
    pub dashed: bool,
    /// Palette slot (default: the series' index, or its name's index in a grid).
    pub color: Option<usize>,
}

/// Where the x tick marks go.
#[derive(Clone, Debug, PartialEq)]
pub enum Ticks {
    /// 1-2-5 steps (log axes: per decade).
    Auto,
    /// The distinct x values of the data (≤ 12 of them; otherwise Auto).
    Data,
    /// These values.
    Values(Vec<f64>),
}

#[derive(Clone, Debug)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    pub x_ticks: Ticks,
    /// Fixed y range (data units); points above it are drawn as ▲ at the top edge.
    pub y_range: Option<(f64, f64)>,
    pub series: Vec<Series>,
    /// Horizontal reference lines with a label (e.g. "speedup 1×").
    pub hlines: Vec<(f64, String)>,
    /// Lines of text under the chart.
    pub notes: Vec<String>,
    pub size: (u32, u32),
}

impl LineChart {
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            log_x: false,
            log_y: false,
            x_ticks: Ticks::Auto,
            y_range: None,
            series: Vec::new(),
            hlines: Vec::new(),
            notes: Vec::new(),
            size: (960, 600),
        }
    }
    pub fn log_x(mut self) -> Self {
        self.log_x = true;
        self
    }
    pub fn log_y(mut self) -> Self {
        self.log_y = true;
        self
    }
    pub fn data_ticks_x(mut self) -> Self {
        self.x_ticks = Ticks::Data;
        self
    }
    pub fn y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }
    /// A line with markers.
    pub fn series(mut self, name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        self.series.push(Series { name: name.into(), points, markers: true, dashed: false, color: None });
        self
    }
    /// A line without markers (dense curves).
    pub fn line(mut self, name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        self.series.push(Series { name: name.into(), points, markers: false, dashed: false, color: None });
        self
    }
    pub fn push(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }
    pub fn hline(mut self, y: f64, label: impl Into<String>) -> Self {
        self.hlines.push((y, label.into()));
        self
    }
    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(text.into());
        self
    }
    pub fn size(mut self, w: u32, h: u32) -> Self {
        self.size = (w, h);
        self
    }

    /// Does any series have a finite point to draw?
    pub fn has_data(&self) -> bool {
        self.series.iter().any(|s| s.points.iter().any(|p| p.0.is_finite() && p.1.is_finite()))
    }

    /// Write `stem.png` and `stem.svg`; returns both paths.
    pub fn save(&self, stem: &Path) -> Result<Vec<PathBuf>> {
        let (w, h) = self.size;
        save_both(self, stem, (w, h + notes_height(&self.auto_notes())))
    }

    fn auto_notes(&self) -> Vec<String> {
        let mut notes = self.notes.clone();
        let diverged = self.series.iter().any(|s| s.points.iter().any(|p| p.0.is_finite() && !p.1.is_finite()));
        if diverged {
            notes.push("× = diverged run, drawn at the top edge".into());
        }
        if let Some((_, hi)) = self.y_range
            && self.series.iter().any(|s| s.points.iter().any(|p| p.1.is_finite() && p.1 > hi))
        {
            notes.push("△ = value above the plotted range (true value beside it), drawn at the top edge".into());
        }
        notes
    }

    fn draw_root<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(perr)?;
        let (w, _) = root.dim_in_pixel();
        let area = root.titled(&self.title, (FONT, fit_font(&self.title, w, 22.0))).map_err(perr)?;
        let notes = self.auto_notes();
        let area = draw_notes(&area, &notes)?;
        let entries: Vec<LegendEntry> = self.series.iter().enumerate().map(|(i, s)| LegendEntry::of(s, s.color.unwrap_or(i))).collect();
        // One series gets a legend too unless the title already names it.
        let show = entries.len() > 1 || self.series.first().is_some_and(|s| !s.name.is_empty() && !self.title.contains(&s.name));
        let area = if show { draw_legend(&area, &entries)? } else { area };
        draw_panel(&area, self, &|i, s| s.color.unwrap_or(i), 14.0)
    }
}

/// Several line charts in a grid, with one legend for all panels (series matched by name).
#[derive(Clone, Debug)]
pub struct Grid {
    pub title: String,
    pub panels: Vec<LineChart>,
    pub cols: usize,
    pub notes: Vec<String>,
    /// Pixel size of one panel.
    pub panel_size: (u32, u32),
}

impl Grid {
    pub fn new(title: impl Into<String>, panels: Vec<LineChart>, cols: usize) -> Self {
        Self { title: title.into(), panels, cols: cols.max(1), notes: Vec::new(), panel_size: (440, 340) }
    }
    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(text.into());
        self
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for p in &self.panels {
            for s in &p.series {
                if !names.contains(&s.name) {
                    names.push(s.name.clone());
                }
            }
        }
        names
    }

    fn notes_all(&self) -> Vec<String> {
        let mut notes = self.notes.clone();
        for p in &self.panels {
            for n in p.auto_notes() {
                if !notes.contains(&n) {
                    notes.push(n);
                }
            }
        }
        notes
    }

    fn shape(&self) -> (usize, usize) {
        let cols = self.cols.min(self.panels.len().max(1));
        (self.panels.len().div_ceil(cols).max(1), cols)
    }

    pub fn save(&self, stem: &Path) -> Result<Vec<PathBuf>> {
        let (rows, cols) = self.shape();
        let names = self.names();
        let legend_w = if names.len() > 1 { legend_width(&names) } else { 0 };
        let w = self.panel_size.0 * cols as u32 + legend_w;
        let h = self.panel_size.1 * rows as u32 + 40 + notes_height(&self.notes_all());
        save_both(self, stem, (w, h))
    }

    fn draw_root<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (rows, cols) = self.shape();
        let names = self.names();
        let (w, _) = root.dim_in_pixel();
        root.fill(&WHITE).map_err(perr)?;
        let area = root.titled(&self.title, (FONT, fit_font(&self.title, w, 22.0))).map_err(perr)?;
        let area = draw_notes(&area, &self.notes_all())?;
        let entries: Vec<LegendEntry> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let s = self.panels.iter().flat_map(|p| &p.series).find(|s| &s.name == n).unwrap();
                LegendEntry::of(s, s.color.unwrap_or(i))
            })
            .collect();
        let area = if entries.len() > 1 { draw_legend(&area, &entries)? } else { area };
        let cells = area.split_evenly((rows, cols));
        for (p, cell) in self.panels.iter().zip(cells.iter()) {
            let cell = cell.titled(&p.title, (FONT, fit_font(&p.title, self.panel_size.0, 16.0))).map_err(perr)?;
            let color = |i: usize, s: &Series| s.color.unwrap_or_else(|| names.iter().position(|n| n == &s.name).unwrap_or(i));
            draw_panel(&cell, p, &color, 12.0)?;
        }
        Ok(())
    }
}

/// One bar of a horizontal bar chart.
#[derive(Clone, Debug)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// ± error (e.g. the std over seeds), drawn as a whisker.
    pub err: Option<f64>,
    /// Text after the bar's end (default: the value).
    pub annotation: Option<String>,
    pub color: Option<usize>,
}

/// Horizontal bars, top to bottom in the given order (labels never collide this way).
#[derive(Clone, Debug)]
pub struct BarChart {
    pub title: String,
    pub value_label: String,
    pub bars: Vec<Bar>,
    /// Start the value axis at 0 (otherwise it zooms to the values and says so in a note).
    pub from_zero: bool,
    pub notes: Vec<String>,
    pub width: u32,
}

impl BarChart {
    pub fn new(title: impl Into<String>, value_label: impl Into<String>) -> Self {
        Self { title: title.into(), value_label: value_label.into(), bars: Vec::new(), from_zero: false, notes: Vec::new(), width: 960 }
    }
    pub fn bar(mut self, label: impl Into<String>, value: f64) -> Self {
        self.bars.push(Bar { label: label.into(), value, err: None, annotation: None, color: None });
        self
    }
    pub fn push(mut self, b: Bar) -> Self {
        self.bars.push(b);
        self
    }
    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(text.into());
        self
    }

    fn range(&self) -> (f64, f64) {
        let lo_v = self.bars.iter().map(|b| b.value - b.err.unwrap_or(0.0)).filter(|v| v.is_finite()).fold(f64::INFINITY, f64::min);
        let hi_v = self.bars.iter().map(|b| b.value + b.err.unwrap_or(0.0)).filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
        if !lo_v.is_finite() {
            return (0.0, 1.0);
        }
        if self.from_zero || lo_v <= 0.0 {
            let hi = hi_v.max(0.0);
            let lo = lo_v.min(0.0);
            let span = (hi - lo).max(1e-12);
            return (lo, hi + 0.18 * span);
        }
        let span = (hi_v - lo_v).max(0.02 * hi_v.abs()).max(1e-12);
        ((lo_v - 0.6 * span).max(0.0), hi_v + 0.35 * span)
    }

    fn all_notes(&self) -> Vec<String> {
        let mut n = self.notes.clone();
        if self.range().0 > 0.0 {
            n.push("The value axis does not start at 0; read differences, not bar lengths.".into());
        }
        n
    }

    pub fn save(&self, stem: &Path) -> Result<Vec<PathBuf>> {
        let h = 110 + 44 * self.bars.len().max(1) as u32 + notes_height(&self.all_notes());
        save_both(self, stem, (self.width, h))
    }

    fn draw_root<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(perr)?;
        let (w, _) = root.dim_in_pixel();
        let area = root.titled(&self.title, (FONT, fit_font(&self.title, w, 22.0))).map_err(perr)?;
        let area = draw_notes(&area, &self.all_notes())?;
        let n = self.bars.len();
        if n == 0 {
            return no_data(&area);
        }
        let label_style = (FONT, 14).into_font();
        let label_w = self
            .bars
            .iter()
            .map(|b| area.estimate_text_size(&b.label, &label_style.clone().into_text_style(&area)).map(|s| s.0).unwrap_or(100))
            .max()
            .unwrap_or(100);
        let (lo, hi) = self.range();
        let x_keys = nice_ticks(lo, hi);
        let xf = tick_formatter(&x_keys);
        let y_keys: Vec<f64> = (0..n).map(|i| i as f64 + 0.5).collect();
        let labels: Vec<String> = self.bars.iter().rev().map(|b| b.label.clone()).collect();
        let y_fmt = |v: &f64| labels.get(v.floor().max(0.0) as usize).cloned().unwrap_or_default();
        let x_fmt = |v: &f64| xf(*v);
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .margin_right(24)
            .x_label_area_size(48)
            .y_label_area_size(label_w + 16)
            .build_cartesian_2d(Axis::new(lo, hi, x_keys), Axis::new(0.0, n as f64, y_keys))
            .map_err(perr)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .bold_line_style(BLACK.mix(0.12))
            .light_line_style(TRANSPARENT)
            .x_desc(self.value_label.as_str())
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .draw()
            .map_err(perr)?;
        for (i, b) in self.bars.iter().enumerate() {
            if !b.value.is_finite() {
                continue;
            }
            let y = (n - 1 - i) as f64;
            let c = PALETTE[b.color.unwrap_or(i) % PALETTE.len()];
            chart
                .draw_series(std::iter::once(Rectangle::new([(lo, y + 0.18), (b.value, y + 0.82)], c.mix(0.85).filled())))
                .map_err(perr)?;
            let mut end = b.value;
            if let Some(e) = b.err.filter(|e| e.is_finite() && *e > 0.0) {
                let style = BLACK.stroke_width(2);
                chart
                    .draw_series([
                        PathElement::new(vec![(b.value - e, y + 0.5), (b.value + e, y + 0.5)], style),
                        PathElement::new(vec![(b.value - e, y + 0.35), (b.value - e, y + 0.65)], style),
                        PathElement::new(vec![(b.value + e, y + 0.35), (b.value + e, y + 0.65)], style),
                    ])
                    .map_err(perr)?;
                end = b.value + e;
            }
            let text = b.annotation.clone().unwrap_or_else(|| fmt_num(b.value));
            let style = (FONT, 14).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
            chart.draw_series(std::iter::once(EmptyElement::at((end, y + 0.5)) + Text::new(text, (6, 0), style))).map_err(perr)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Number formatting and ticks

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
fn tick_formatter(ticks: &[f64]) -> Box<dyn Fn(f64) -> String> {
    if ticks.iter().any(|v| *v != 0.0 && (v.abs() < 1e-2 || v.abs() >= 1e5)) {
        return Box::new(fmt_sci);
    }
    let exact =
        |d: usize| ticks.iter().all(|v| (format!("{v:.d$}").parse::<f64>().unwrap_or(f64::NAN) - v).abs() <= 1e-9 * v.abs().max(1.0));
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
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
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

// ---------------------------------------------------------------------------------------------
// Drawing internals

/// A linear axis (over data or log10 data) whose tick positions are chosen here.
#[derive(Clone, Debug)]
struct Axis {
    lo: f64,
    hi: f64,
    keys: Vec<f64>,
}

impl Axis {
    fn new(lo: f64, hi: f64, keys: Vec<f64>) -> Self {
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

fn perr<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plotting: {e:?}")
}

/// Something drawn the same way on the PNG and the SVG backend.
trait Draw {
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
fn save_both<D: Draw>(d: &D, stem: &Path, size: (u32, u32)) -> Result<Vec<PathBuf>> {
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

fn notes_height(notes: &[String]) -> u32 {
    if notes.is_empty() { 0 } else { 10 + 20 * notes.len() as u32 }
}

/// Font size that fits `text` into `width` pixels (DejaVu Sans averages ≈ 0.58 em per char).
fn fit_font(text: &str, width: u32, size: f64) -> f64 {
    let chars = text.chars().count().max(1) as f64;
    let fit = (width as f64 - 30.0) / (0.6 * chars);
    size.min(fit).max(11.0)
}

/// Draw notes at the bottom of `area`; returns the area above them.
fn draw_notes<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, notes: &[String]) -> Result<DrawingArea<DB, Shift>> {
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

struct LegendEntry {
    name: String,
    color: RGBColor,
    shape: Option<usize>,
    dashed: bool,
}

impl LegendEntry {
    fn of(s: &Series, slot: usize) -> Self {
        LegendEntry {
            name: truncate(&s.name, 42),
            color: PALETTE[slot % PALETTE.len()],
            shape: s.markers.then_some(slot / PALETTE.len() + slot),
            dashed: s.dashed,
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n - 1).collect::<String>()) }
}

/// Legend column width for sizing a grid image (DejaVu Sans 14 px ≈ 8 px per character).
fn legend_width(names: &[String]) -> u32 {
    let longest = names.iter().map(|n| truncate(n, 42).chars().count()).max().unwrap_or(0) as u32;
    (64 + longest * 8).clamp(100, 440)
}

/// Legend in its own column at the right of `area`; returns the area left of it.
fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, entries: &[LegendEntry]) -> Result<DrawingArea<DB, Shift>> {
    let (w, h) = area.dim_in_pixel();
    let style = (FONT, 14).into_font().color(&BLACK);
    let text_w = entries
        .iter()
        .map(|e| area.estimate_text_size(&e.name, &style.clone().into_text_style(area)).map(|s| s.0).unwrap_or(200))
        .max()
        .unwrap_or(0);
    let lw = (text_w + 64).clamp(100, 440).min(w / 2);
    let (left, right) = area.split_horizontally(w - lw);
    let row = 22i32;
    let fit = ((h as i32 - 30) / row).max(1) as usize;
    for (i, e) in entries.iter().enumerate() {
        let y = 20 + row * i as i32;
        if i + 1 == fit && entries.len() > fit {
            right
                .draw_text(&format!("… and {} more", entries.len() - i), &style.clone().into_text_style(&right), (8, y - 8))
                .map_err(perr)?;
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
fn draw_marker<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: (i32, i32), shape: usize, c: RGBColor) -> Result<()> {
    let style = c.filled();
    match shape % 4 {
        0 => area.draw(&Circle::new(p, 4, style)),
        1 => area.draw(&TriangleMarker::new(p, 5, style)),
        2 => area.draw(&Rectangle::new([(p.0 - 4, p.1 - 4), (p.0 + 4, p.1 + 4)], style)),
        _ => area.draw(&Polygon::new(vec![(p.0, p.1 - 5), (p.0 + 5, p.1), (p.0, p.1 + 5), (p.0 - 5, p.1)], style)),
    }
    .map_err(perr)
}

fn no_data<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> Result<()> {
    let (w, h) = area.dim_in_pixel();
    let style = (FONT, 18).into_font().color(&RGBColor(90, 90, 90)).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text("no finished runs to plot", &style.into_text_style(area), (w as i32 / 2, h as i32 / 2)).map_err(perr)
}

/// The plot itself (axes, grid, series, reference lines) filling `area`.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &LineChart,
    color_of: &dyn Fn(usize, &Series) -> usize,
    label_size: f64,
) -> Result<()> {
    let tx = |v: f64| if c.log_x { v.log10() } else { v };
    let ty = |v: f64| if c.log_y { v.log10() } else { v };
    let ok_x = |v: f64| v.is_finite() && (!c.log_x || v > 0.0);
    let ok_y = |v: f64| v.is_finite() && (!c.log_y || v > 0.0);
    let xs: Vec<f64> = c.series.iter().flat_map(|s| s.points.iter()).map(|p| p.0).filter(|v| ok_x(*v)).collect();
    let mut ys: Vec<f64> = c.series.iter().flat_map(|s| s.points.iter()).filter(|p| ok_x(p.0)).map(|p| p.1).filter(|v| ok_y(*v)).collect();
    for (y, _) in &c.hlines {
        if ok_y(*y) {
            ys.push(*y);
        }
    }
    if xs.is_empty() || (ys.is_empty() && c.y_range.is_none()) {
        return no_data(area);
    }
    let (mut x0, mut x1) =
        (xs.iter().cloned().map(tx).fold(f64::INFINITY, f64::min), xs.iter().cloned().map(tx).fold(f64::NEG_INFINITY, f64::max));
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
    let x_keys: Vec<f64> = match &c.x_ticks {
        Ticks::Values(v) => v.iter().cloned().filter(|v| ok_x(*v)).map(tx).collect(),
        Ticks::Data => {
            let mut d: Vec<f64> = xs.iter().cloned().map(tx).collect();
            d.sort_by(|a, b| a.partial_cmp(b).unwrap());
            d.dedup_by(|a, b| (*a - *b).abs() < 1e-9 * (1.0 + b.abs()));
            if d.len() <= 12 {
                d
            } else if c.log_x {
                log_ticks(x0, x1)
            } else {
                nice_ticks(x0, x1)
            }
        }
        Ticks::Auto => {
            if c.log_x {
                log_ticks(x0, x1)
            } else {
                nice_ticks(x0, x1)
            }
        }
    };
    let y_keys = if c.log_y { log_ticks(y0, y1) } else { nice_ticks(y0, y1) };
    let (lx, ly) = (c.log_x, c.log_y);
    let xf = tick_formatter(&x_keys.iter().map(|v| if lx { 10f64.powf(*v) } else { *v }).collect::<Vec<_>>());
    let yf = tick_formatter(&y_keys.iter().map(|v| if ly { 10f64.powf(*v) } else { *v }).collect::<Vec<_>>());
    let x_fmt = move |v: &f64| xf(if lx { 10f64.powf(*v) } else { *v });
    let y_fmt = move |v: &f64| yf(if ly { 10f64.powf(*v) } else { *v });
    // Room for the y tick labels: measure the widest one.
    let tick_font = (FONT, label_size).into_font();
    let y_label_w = y_keys
        .iter()
        .map(|v| area.estimate_text_size(&y_fmt(v), &tick_font.clone().into_text_style(area)).map(|s| s.0).unwrap_or(40))
        .max()
        .unwrap_or(40);
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .margin_right(22)
        .x_label_area_size((label_size * 3.4) as u32)
        .y_label_area_size(y_label_w + (label_size * 2.6) as u32)
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
                _ => chart
                    .draw_series(pts.map(|p| EmptyElement::at(p) + Polygon::new(vec![(0, -5), (5, 0), (0, 5), (-5, 0)], f)))
                    .map(|_| ()),
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
    Ok(())
}
