//! Draws a printed ticket as a 58 mm thermal printer would: 384 dots wide, 24-dot font A.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};

use super::interpret::{Align, PrintedTicket, TextRun, TicketElement};

pub const PAPER_DOTS: u32 = 384;
/// Font A is 12×24 dots, a Chinese character 24×24.
const LINE_DOTS: u32 = 24;
const LINE_GAP: u32 = 6;
const MARGIN: u32 = 8;
const MAX_HEIGHT: u32 = 8000;
const PAPER: u8 = 255;

/// Where the CJK font is looked for, in order (see `ui/fonts/README.md`).
pub fn font_candidates() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Some(path) = std::env::var_os("HALLQ_FONT") {
        paths.push(PathBuf::from(path));
    }
    paths.push(PathBuf::from("ui/fonts/wqy-microhei.ttc"));
    paths.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/fonts/wqy-microhei.ttc"));
    paths.push(PathBuf::from("/usr/share/hallq/fonts/wqy-microhei.ttc"));
    paths.push(PathBuf::from(
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    ));
    paths
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("no CJK font found; looked at {0:?}")]
    NoFont(Vec<PathBuf>),
    #[error("font {path}: {reason}")]
    BadFont { path: PathBuf, reason: String },
    #[error("QR code data does not fit a QR symbol: {0}")]
    Qr(String),
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

pub fn load_font() -> Result<FontVec, RenderError> {
    let candidates = font_candidates();
    let path = candidates
        .iter()
        .find(|p| p.is_file())
        .ok_or_else(|| RenderError::NoFont(candidates.clone()))?;
    let bytes = std::fs::read(path).map_err(|e| RenderError::BadFont {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    FontVec::try_from_vec_and_index(bytes, 0).map_err(|e| RenderError::BadFont {
        path: path.clone(),
        reason: e.to_string(),
    })
}

/// Where each element landed, so a test can look at the number or the QR code alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub element: usize,
    pub top: u32,
    pub bottom: u32,
}

/// A greyscale ticket image (0 = ink).
#[derive(Debug, Clone)]
pub struct TicketImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
    pub placed: Vec<Placed>,
}

impl TicketImage {
    pub fn ink_in_rows(&self, top: u32, bottom: u32) -> usize {
        let (top, bottom) = (top.min(self.height), bottom.min(self.height));
        self.pixels[(top * self.width) as usize..(bottom * self.width) as usize]
            .iter()
            .filter(|&&p| p < 128)
            .count()
    }

    pub fn to_png(&self) -> Result<Vec<u8>, RenderError> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .map_err(|e| RenderError::Png(e.to_string()))?;
        writer
            .write_image_data(&self.pixels)
            .map_err(|e| RenderError::Png(e.to_string()))?;
        writer
            .finish()
            .map_err(|e| RenderError::Png(e.to_string()))?;
        Ok(out)
    }
}

struct Canvas {
    width: u32,
    rows: Vec<u8>,
}

impl Canvas {
    fn grow_to(&mut self, height: u32) {
        let height = height.min(MAX_HEIGHT);
        let needed = (self.width * height) as usize;
        if self.rows.len() < needed {
            self.rows.resize(needed, PAPER);
        }
    }

    fn height(&self) -> u32 {
        self.rows.len() as u32 / self.width
    }

    fn darken(&mut self, x: i64, y: i64, coverage: f32) {
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height()) {
            return;
        }
        let at = (y as u32 * self.width + x as u32) as usize;
        let ink = (f32::from(PAPER) * (1.0 - coverage.clamp(0.0, 1.0))) as u8;
        self.rows[at] = self.rows[at].min(ink);
    }

    fn fill(&mut self, x: u32, y: u32, size: u32) {
        for dy in 0..size {
            for dx in 0..size {
                self.darken(i64::from(x + dx), i64::from(y + dy), 1.0);
            }
        }
    }
}

fn run_scale(run: &TextRun) -> PxScale {
    PxScale {
        x: (LINE_DOTS * u32::from(run.width)) as f32,
        y: (LINE_DOTS * u32::from(run.height)) as f32,
    }
}

fn run_width(font: &FontVec, run: &TextRun) -> f32 {
    let scaled = font.as_scaled(run_scale(run));
    run.text
        .chars()
        .map(|c| scaled.h_advance(font.glyph_id(c)))
        .sum()
}

fn start_x(align: Align, content: f32) -> f32 {
    let free = (PAPER_DOTS - 2 * MARGIN) as f32 - content;
    MARGIN as f32
        + match align {
            Align::Left => 0.0,
            Align::Centre => (free / 2.0).max(0.0),
            Align::Right => free.max(0.0),
        }
}

fn draw_line(canvas: &mut Canvas, font: &FontVec, align: Align, runs: &[TextRun], top: u32) -> u32 {
    let height = runs
        .iter()
        .map(|r| LINE_DOTS * u32::from(r.height))
        .max()
        .unwrap_or(LINE_DOTS);
    canvas.grow_to(top + height + LINE_GAP);
    let content: f32 = runs.iter().map(|r| run_width(font, r)).sum();
    let mut x = start_x(align, content);
    for run in runs {
        let scale = run_scale(run);
        let scaled = font.as_scaled(scale);
        let baseline = top as f32 + height as f32 - scaled.descent().abs();
        for c in run.text.chars() {
            let id = font.glyph_id(c);
            let glyph = id.with_scale_and_position(scale, ab_glyph::point(x, baseline));
            x += scaled.h_advance(id);
            if let Some(outline) = font.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                outline.draw(|gx, gy, coverage| {
                    let px = bounds.min.x as i64 + i64::from(gx);
                    let py = bounds.min.y as i64 + i64::from(gy);
                    canvas.darken(px, py, coverage);
                    if run.bold {
                        canvas.darken(px + 1, py, coverage);
                    }
                });
            }
        }
    }
    top + height + LINE_GAP
}

fn draw_qr(
    canvas: &mut Canvas,
    data: &str,
    module: u8,
    level: char,
    align: Align,
    top: u32,
) -> Result<u32, RenderError> {
    let level = match level {
        'L' => qrcode::EcLevel::L,
        'M' => qrcode::EcLevel::M,
        'Q' => qrcode::EcLevel::Q,
        _ => qrcode::EcLevel::H,
    };
    let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), level)
        .map_err(|e| RenderError::Qr(e.to_string()))?;
    let modules = code.width() as u32;
    let module = u32::from(module.max(1));
    // A quiet zone of four modules, as on paper.
    let side = (modules + 8) * module;
    canvas.grow_to(top + side);
    let left = start_x(align, side as f32) as u32;
    let colours = code.to_colors();
    for (i, colour) in colours.iter().enumerate() {
        if *colour == qrcode::Color::Dark {
            let (mx, my) = (i as u32 % modules, i as u32 / modules);
            canvas.fill(left + (mx + 4) * module, top + (my + 4) * module, module);
        }
    }
    Ok(top + side)
}

pub fn render(ticket: &PrintedTicket, font: &FontVec) -> Result<TicketImage, RenderError> {
    let mut canvas = Canvas {
        width: PAPER_DOTS,
        rows: Vec::new(),
    };
    let mut y = MARGIN;
    canvas.grow_to(y);
    let mut placed = Vec::new();
    for (index, element) in ticket.elements.iter().enumerate() {
        let top = y;
        y = match element {
            TicketElement::Line { align, runs } => draw_line(&mut canvas, font, *align, runs, y),
            TicketElement::Qr {
                data,
                module_size,
                level,
                align,
                ..
            } => draw_qr(&mut canvas, data, *module_size, *level, *align, y)?,
            TicketElement::Feed(lines) => y + u32::from(*lines) * (LINE_DOTS + LINE_GAP),
            TicketElement::FeedDots(dots) => y + u32::from(*dots),
        }
        .min(MAX_HEIGHT);
        canvas.grow_to(y);
        placed.push(Placed {
            element: index,
            top,
            bottom: y,
        });
    }
    canvas.grow_to(y + MARGIN);
    Ok(TicketImage {
        width: canvas.width,
        height: canvas.height(),
        pixels: canvas.rows,
        placed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::printer::sim::interpret::Cut;

    fn ticket(elements: Vec<TicketElement>) -> PrintedTicket {
        PrintedTicket {
            elements,
            cut: Cut::Partial,
            warnings: Vec::new(),
            bytes: 0,
        }
    }

    fn line(text: &str, align: Align) -> TicketElement {
        TicketElement::Line {
            align,
            runs: vec![TextRun {
                text: text.into(),
                width: 1,
                height: 1,
                bold: false,
            }],
        }
    }

    #[test]
    fn text_lands_where_it_is_aligned() {
        let font = load_font().unwrap();
        let left = render(&ticket(vec![line("号", Align::Left)]), &font).unwrap();
        let right = render(&ticket(vec![line("号", Align::Right)]), &font).unwrap();
        let first_ink_column = |image: &TicketImage| {
            (0..image.width)
                .find(|&x| {
                    (0..image.height).any(|y| image.pixels[(y * image.width + x) as usize] < 128)
                })
                .unwrap()
        };
        assert!(first_ink_column(&left) < 40);
        assert!(first_ink_column(&right) > PAPER_DOTS - 60);
    }

    #[test]
    fn a_blank_ticket_has_no_ink_and_a_runaway_one_is_capped() {
        let font = load_font().unwrap();
        let blank = render(&ticket(vec![TicketElement::Feed(3)]), &font).unwrap();
        assert_eq!(blank.ink_in_rows(0, blank.height), 0);
        let endless = ticket(vec![TicketElement::Feed(255); 256]);
        assert!(render(&endless, &font).unwrap().height <= MAX_HEIGHT + MARGIN);
    }

    #[test]
    fn qr_data_too_long_for_any_symbol_is_an_error() {
        let font = load_font().unwrap();
        let qr = TicketElement::Qr {
            data: "x".repeat(3000),
            model: 2,
            module_size: 3,
            level: 'H',
            align: Align::Centre,
        };
        assert!(matches!(
            render(&ticket(vec![qr]), &font),
            Err(RenderError::Qr(_))
        ));
    }

    #[test]
    fn png_output_is_a_png_of_the_image_size() {
        let font = load_font().unwrap();
        let image = render(&ticket(vec![line("A012", Align::Centre)]), &font).unwrap();
        let png = image.to_png().unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let info = decoder.read_info().unwrap();
        assert_eq!(info.info().width, PAPER_DOTS);
        assert_eq!(info.info().height, image.height);
    }
}
