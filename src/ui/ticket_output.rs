//! How the kiosk hands a ticket to paper, and the QR code it shows instead when paper fails.

use slint::{Rgb8Pixel, SharedPixelBuffer};

use crate::config::Lang;
use crate::devices::printer::{PrinterService, TicketPrint, TicketPrinter};

/// One issued ticket as the kiosk asks for it to be printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintJob {
    pub hall_name: String,
    pub service_name: String,
    pub number: String,
    pub people_ahead: u32,
    pub windows: String,
    pub lang: Lang,
    /// What goes on paper (its QR code, the status link, is also the on-screen one).
    pub ticket: TicketPrint,
}

/// The kiosk's ticket printer. `print` blocks (serial I/O); the kiosk calls it off the UI thread and
/// records the outcome with `RecordPrint`.
pub trait KioskPrinter: Send + Sync {
    fn print(&self, job: &PrintJob) -> Result<(), String>;
}

/// The demo hall's printer: every ticket "prints". Out-of-paper is simulated by reporting a printer
/// fault to the engine (the kiosk then shows the number on screen without trying to print).
#[derive(Debug, Default)]
pub struct SimulatedPrinter;

impl KioskPrinter for SimulatedPrinter {
    fn print(&self, job: &PrintJob) -> Result<(), String> {
        tracing::info!(number = %job.number, service = %job.service_name, "simulated printer: ticket out");
        Ok(())
    }
}

/// The real printer: the ticket goes out as ESC/POS on the serial port. Health changes still reach
/// the engine through the service's reports; the print outcome does not, the kiosk records it.
impl<P: TicketPrinter + 'static> KioskPrinter for PrinterService<P> {
    fn print(&self, job: &PrintJob) -> Result<(), String> {
        self.print_unrecorded(&job.ticket)
            .map_err(|e| e.to_string())
    }
}

/// The kiosk of a configured hall whose serial printer `hallq run` does not open yet: every print fails
/// with a plain reason, so the citizen gets the number and QR code on screen and the print is recorded
/// as failed, rather than being told to take a ticket that never came out.
#[derive(Debug, Default)]
pub struct UnconnectedPrinter;

impl KioskPrinter for UnconnectedPrinter {
    fn print(&self, _job: &PrintJob) -> Result<(), String> {
        Err("the kiosk printer is not connected".into())
    }
}

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
    fn an_unconnected_printer_refuses_every_ticket_with_a_reason() {
        let job = PrintJob {
            hall_name: "天山区政务服务中心".into(),
            service_name: "社会保障".into(),
            number: "A012".into(),
            people_ahead: 3,
            windows: "1, 2, 3".into(),
            lang: Lang::Zh,
            ticket: crate::devices::printer::bench::example_ticket(),
        };
        let refused = UnconnectedPrinter.print(&job).unwrap_err();
        assert!(refused.contains("not connected"), "{refused}");
    }

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
