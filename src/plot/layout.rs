//! Where every text of a chart lands: a drawing backend that draws nothing and records the
//! pixel box of each text exactly as the PNG backend places it (the same font metrics,
//! anchors and rotations: plotters' default `draw_text`), so a test can check that no two
//! labels of a rendered chart overlap.

use super::draw::Draw;
use super::*;
use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingErrorKind};

/// One drawn text and its pixel box [x0, x1) × [y0, y1).
#[derive(Clone, Debug, PartialEq)]
pub struct TextBox {
    pub text: String,
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

impl TextBox {
    /// Do the two boxes share any pixel?
    pub fn intersects(&self, o: &TextBox) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
}

/// Every pair of boxes that share a pixel.
pub fn overlapping(boxes: &[TextBox]) -> Vec<(TextBox, TextBox)> {
    let mut out = Vec::new();
    for (i, a) in boxes.iter().enumerate() {
        for b in &boxes[i + 1..] {
            if a.intersects(b) {
                out.push((a.clone(), b.clone()));
            }
        }
    }
    out
}

/// Shares its list with the caller: the drawing area owns the backend.
struct Recorder {
    size: (u32, u32),
    texts: std::rc::Rc<std::cell::RefCell<Vec<TextBox>>>,
}

impl DrawingBackend for Recorder {
    type ErrorType = std::io::Error;

    fn get_size(&self) -> (u32, u32) {
        self.size
    }
    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        Ok(())
    }
    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        Ok(())
    }
    fn draw_pixel(&mut self, _: BackendCoord, _: BackendColor) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        Ok(())
    }

    fn draw_text<S: BackendTextStyle>(&mut self, text: &str, style: &S, pos: BackendCoord) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if style.color().alpha == 0.0 || text.trim().is_empty() {
            return Ok(());
        }
        let ((min_x, min_y), (max_x, max_y)) = style.layout_box(text).map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (w, h) = (max_x - min_x, max_y - min_y);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -w,
            HPos::Center => -w / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -h / 2,
            VPos::Bottom => -h,
        };
        // The glyph box's corners, moved and rotated as the rasterizer moves each pixel.
        let t = style.transform();
        let corners = [(dx, dy), (dx + w, dy), (dx, dy + h), (dx + w, dy + h)].map(|(x, y)| t.transform(x, y));
        let xs = corners.map(|c| pos.0 + c.0);
        let ys = corners.map(|c| pos.1 + c.1);
        self.texts.borrow_mut().push(TextBox {
            text: text.to_string(),
            x0: *xs.iter().min().unwrap(),
            x1: *xs.iter().max().unwrap(),
            y0: *ys.iter().min().unwrap(),
            y1: *ys.iter().max().unwrap(),
        });
        Ok(())
    }
}

/// The boxes of every text `d` draws on a canvas of `size` pixels.
pub(super) fn text_boxes<D: Draw>(d: &D, size: (u32, u32)) -> Result<Vec<TextBox>> {
    init_font();
    let texts = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    d.draw(&Recorder { size, texts: texts.clone() }.into_drawing_area())?;
    Ok(texts.take())
}
