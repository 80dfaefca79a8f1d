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

mod draw;
mod layout;
mod spread;
mod ticks;

pub use layout::{TextBox, overlapping};
pub use spread::{Mark, Spread};

use draw::*;
use ticks::tick_formatter;
pub use ticks::{choose_ticks, fmt_num, fmt_sci, labels_fit, log_axis_ticks, nice_ticks, tick_labels};

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
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
    /// These values (thinned, like the others, until their labels fit).
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
    /// Intervals of series' points (whiskers or bands; see `spread`).
    pub spreads: Vec<Spread>,
    /// Highlighted points (optima) with their x intervals (see `spread`).
    pub marks: Vec<Mark>,
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
            spreads: Vec::new(),
            marks: Vec::new(),
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
        save_both(self, stem, self.canvas())
    }

    /// The pixel box of every text the saved image holds (see `layout`).
    pub fn text_boxes(&self) -> Result<Vec<TextBox>> {
        layout::text_boxes(self, self.canvas())
    }

    fn canvas(&self) -> (u32, u32) {
        let (w, h) = self.size;
        (w, h + notes_height(&self.auto_notes()))
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
        save_both(self, stem, self.canvas())
    }

    /// The pixel box of every text the saved image holds (see `layout`).
    pub fn text_boxes(&self) -> Result<Vec<TextBox>> {
        layout::text_boxes(self, self.canvas())
    }

    fn canvas(&self) -> (u32, u32) {
        let (rows, cols) = self.shape();
        let names = self.names();
        let legend_w = if names.len() > 1 { legend_width(&names) } else { 0 };
        let w = self.panel_size.0 * cols as u32 + legend_w;
        (w, self.panel_size.1 * rows as u32 + 40 + notes_height(&self.notes_all()))
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
        save_both(self, stem, self.canvas())
    }

    /// The pixel box of every text the saved image holds (see `layout`).
    pub fn text_boxes(&self) -> Result<Vec<TextBox>> {
        layout::text_boxes(self, self.canvas())
    }

    fn canvas(&self) -> (u32, u32) {
        (self.width, 110 + 44 * self.bars.len().max(1) as u32 + notes_height(&self.all_notes()))
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
        // Widen the value axis until every bar's annotation fits right of its bar (or whisker).
        let text_style = (FONT, 14).into_font();
        let plot_px = (w as f64 - label_w as f64 - 16.0 - 36.0).max(100.0);
        let hi = self.bars.iter().filter(|b| b.value.is_finite()).fold(hi, |hi, b| {
            let end = b.value + b.err.filter(|e| e.is_finite() && *e > 0.0).unwrap_or(0.0);
            let text = b.annotation.clone().unwrap_or_else(|| fmt_num(b.value));
            let tw = area.estimate_text_size(&text, &text_style.clone().into_text_style(&area)).map(|s| s.0).unwrap_or(0) as f64;
            let a = ((tw + 12.0) / plot_px).min(0.8); // fraction of the axis the text needs
            hi.max((end - a * lo) / (1.0 - a))
        });
        let tick_w =
            |l: &str| area.estimate_text_size(l, &text_style.clone().into_text_style(&area)).map(|s| s.0 as f64).unwrap_or(8.0 * l.len() as f64);
        let fits = |keys: &[f64]| {
            let centers: Vec<f64> = keys.iter().map(|v| (v - lo) / (hi - lo) * plot_px).collect();
            labels_fit(&centers, &tick_labels(keys).iter().map(|l| tick_w(l)).collect::<Vec<_>>(), 14.0)
        };
        let x_keys = choose_ticks(&ticks::linear_tick_candidates(lo, hi), &fits);
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
            chart.draw_series(std::iter::once(Rectangle::new([(lo, y + 0.18), (b.value, y + 0.82)], c.mix(0.85).filled()))).map_err(perr)?;
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
