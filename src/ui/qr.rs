//! The QR code the kiosk shows beside the number: the ticket's status link, for a phone to open.

use slint::{Rgb8Pixel, SharedPixelBuffer};

/// Pixels of a module, and the quiet zone around the code in modules, as a phone camera needs it.
const MODULE_PX: usize = 8;
const QUIET_MODULES: usize = 4;

/// The QR code of `text` as black-on-white pixels for the screen.
pub fn qr_pixels(text: &str) -> Option<SharedPixelBuffer<Rgb8Pixel>> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_MODULES) * MODULE_PX;
    let mut buffer = SharedPixelBuffer::<Rgb8Pixel>::new(side as u32, side as u32);
    let pixels = buffer.make_mut_slice();
    for y in 0..side {
        for x in 0..side {
            let (mx, my) = (x / MODULE_PX, y / MODULE_PX);
            let dark = (QUIET_MODULES..QUIET_MODULES + modules).contains(&mx)
                && (QUIET_MODULES..QUIET_MODULES + modules).contains(&my)
                && colors[(my - QUIET_MODULES) * modules + (mx - QUIET_MODULES)]
                    == qrcode::Color::Dark;
            let v = if dark { 0 } else { 255 };
            pixels[y * side + x] = Rgb8Pixel { r: v, g: v, b: v };
        }
    }
    Some(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_has_a_white_quiet_zone_and_dark_finder_corner() {
        let buffer = qr_pixels("https://zwfw.example.gov.cn/q/h/2026-11-27/A012").unwrap();
        let side = buffer.width() as usize;
        let px = buffer.as_slice();
        assert_eq!(px[0].r, 255, "the quiet zone is white");
        // The top-left finder pattern starts right after the quiet zone.
        let corner = QUIET_MODULES * MODULE_PX;
        assert_eq!(px[corner * side + corner].r, 0);
        assert_eq!(side % MODULE_PX, 0);
    }
}
