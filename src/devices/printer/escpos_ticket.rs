//! The ticket as ESC/POS, built with the escpos crate around its known gaps: FS & is sent by hand,
//! the partial cut is a custom `GS V 66 0` after `ESC d n` lines, the QR code is set to model 2 explicitly, and no page
//! code is chosen so Chinese goes through the GBK/GB18030 encoder.

use std::cell::RefCell;
use std::rc::Rc;

use escpos::driver::Driver;
use escpos::errors::PrinterError as EscPosError;
use escpos::printer::Printer;
use escpos::printer_options::PrinterOptions;
use escpos::utils::{
    Encoder, JustifyMode, Protocol, QRCodeCorrectionLevel, QRCodeModel, QRCodeOption,
};

use super::ticket::{PrintError, TicketPrint};
use crate::config::printer::{PrinterConfig, TicketTextConfig};

pub const ENTER_CHINESE: [u8; 2] = [0x1C, 0x26];
pub const LEAVE_CHINESE: [u8; 2] = [0x1C, 0x2E];
/// `GS V 66 0`: feed the paper to the cutting position, then cut leaving a hinge. The n of
/// `GS V 66 n` adds n vertical motion units (dots, not lines) past the cutting position (Epson
/// TM-T88 and Zijiang ZJ-58 manuals, function B), so the lines wanted below the footer go out as
/// `ESC d n` before it.
pub const FEED_TO_CUTTER_AND_PARTIAL_CUT: [u8; 4] = [0x1D, 0x56, 0x42, 0x00];
/// Characters per line on a 58 mm printer with font A; only used by escpos for its own layout.
const CHARACTERS_PER_LINE: u8 = 32;
/// The ticket number prints at 4x width and height.
const NUMBER_SCALE: u8 = 4;

/// A driver that keeps the bytes, for measuring a ticket and for tests.
#[derive(Clone, Default)]
pub struct CaptureDriver {
    bytes: Rc<RefCell<Vec<u8>>>,
}

impl CaptureDriver {
    pub fn bytes(&self) -> Vec<u8> {
        self.bytes.borrow().clone()
    }
}

impl Driver for CaptureDriver {
    fn name(&self) -> String {
        "capture".into()
    }

    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.bytes.borrow_mut().extend_from_slice(data);
        Ok(())
    }

    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }

    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

/// Sends one ticket through `driver`. Lines end in a bare LF (one byte) rather than escpos's
/// `ESC d 1` (three), since every byte costs a millisecond at 9600 baud.
pub fn send_ticket<D: Driver>(
    driver: D,
    ticket: &TicketPrint,
    texts: &TicketTextConfig,
    config: &PrinterConfig,
) -> Result<(), EscPosError> {
    let words = texts.texts_for(ticket.language, config.encoding);
    let protocol = Protocol::new(Encoder::new(config.encoding.codec()));
    let options = PrinterOptions::new(None, None, CHARACTERS_PER_LINE);
    let qr = QRCodeOption::new(
        QRCodeModel::Model2,
        config.qr_module_size,
        QRCodeCorrectionLevel::M,
    );
    let mut printer = Printer::new(driver, protocol, Some(options));
    printer
        .init()?
        .custom(&ENTER_CHINESE)?
        .justify(JustifyMode::CENTER)?
        .write(&line(&words.header))?
        .write(&line(&ticket.hall_name))?
        .write(&line(&ticket.service_name))?
        .size(NUMBER_SCALE, NUMBER_SCALE)?
        .write(&line(&ticket.number))?
        .reset_size()?
        .write(&line(&format!("前面还有 {} 人", ticket.people_ahead)))?
        .write(&line(&format!(
            "取号时间 {}",
            ticket.issued_at.format("%Y-%m-%d %H:%M")
        )))?;
    if let Some(slot) = &ticket.appointment {
        printer.write(&line(&format!(
            "预约时段 {}-{}",
            slot.start.format("%H:%M"),
            slot.end.format("%H:%M")
        )))?;
    }
    printer
        .write(&line(&words.notice))?
        .qrcode_option(&ticket.status_url, qr)?
        .write(&line(""))?
        .write(&line(&words.footer))?
        .custom(&LEAVE_CHINESE)?;
    if config.feed_before_cut > 0 {
        printer.feeds(config.feed_before_cut)?;
    }
    printer.custom(&FEED_TO_CUTTER_AND_PARTIAL_CUT)?.print()?;
    Ok(())
}

fn line(text: &str) -> String {
    format!("{text}\n")
}

/// The exact bytes of one ticket as the printer will receive them.
pub fn ticket_bytes(
    ticket: &TicketPrint,
    texts: &TicketTextConfig,
    config: &PrinterConfig,
) -> Result<Vec<u8>, PrintError> {
    let capture = CaptureDriver::default();
    send_ticket(capture.clone(), ticket, texts, config)
        .map_err(|e| PrintError::Compose(e.to_string()))?;
    Ok(capture.bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Lang;
    use crate::config::printer::PrinterEncoding;
    use crate::devices::printer::example::example_ticket;

    fn gbk(text: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(text).0.into_owned()
    }

    fn expected_example_bytes(config: &PrinterConfig) -> Vec<u8> {
        let t = example_ticket();
        let mut b = vec![0x1B, 0x40, 0x1C, 0x26, 0x1B, 0x61, 0x01];
        for text in ["欢迎光临", &t.hall_name, &t.service_name] {
            b.extend(gbk(text));
            b.push(0x0A);
        }
        b.extend([0x1D, 0x21, 0x33]);
        b.extend(b"A012\n");
        b.extend([0x1D, 0x21, 0x00]);
        b.extend(gbk(
            "前面还有 7 人\n取号时间 2026-11-27 09:41\n预约时段 09:30-10:00\n",
        ));
        b.extend(gbk("请留意叫号屏幕和语音提示\n"));
        b.extend([0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00]);
        b.extend([
            0x1D,
            0x28,
            0x6B,
            0x03,
            0x00,
            0x31,
            0x43,
            config.qr_module_size,
        ]);
        b.extend([0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x31]);
        let url = t.status_url.as_bytes();
        let stored = url.len() + 3;
        b.extend([
            0x1D,
            0x28,
            0x6B,
            stored as u8,
            (stored >> 8) as u8,
            0x31,
            0x50,
            0x30,
        ]);
        b.extend(url);
        b.extend([0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30]);
        b.push(0x0A);
        b.extend(gbk("过号请重新取号\n"));
        b.extend([0x1C, 0x2E, 0x1B, 0x64, config.feed_before_cut]);
        b.extend([0x1D, 0x56, 0x42, 0x00]);
        b
    }

    #[test]
    fn example_ticket_bytes_are_exact() {
        let config = PrinterConfig::default();
        let bytes = ticket_bytes(&example_ticket(), &TicketTextConfig::default(), &config).unwrap();
        assert_eq!(bytes, expected_example_bytes(&config));
    }

    #[test]
    fn lines_before_the_cut_are_fed_as_lines_and_none_are_sent_for_zero() {
        let tail = |feed_before_cut| {
            let config = PrinterConfig {
                feed_before_cut,
                ..PrinterConfig::default()
            };
            let bytes =
                ticket_bytes(&example_ticket(), &TicketTextConfig::default(), &config).unwrap();
            bytes[bytes.len() - 7..].to_vec()
        };
        assert_eq!(tail(5), [0x1B, 0x64, 0x05, 0x1D, 0x56, 0x42, 0x00]);
        assert_eq!(tail(0)[3..], FEED_TO_CUTTER_AND_PARTIAL_CUT);
        assert_ne!(tail(0)[..3], [0x1B, 0x64, 0x00]);
    }

    #[test]
    fn chinese_goes_out_as_gbk() {
        let service = [0xC9, 0xE7, 0xBB, 0xE1, 0xB1, 0xA3, 0xD5, 0xCF];
        assert_eq!(gbk("社会保障"), service);
        let bytes = ticket_bytes(
            &example_ticket(),
            &TicketTextConfig::default(),
            &PrinterConfig::default(),
        )
        .unwrap();
        assert!(bytes.windows(8).any(|w| w == service));
    }

    #[test]
    fn no_slot_line_without_an_appointment() {
        let mut ticket = example_ticket();
        ticket.appointment = None;
        let bytes = ticket_bytes(
            &ticket,
            &TicketTextConfig::default(),
            &PrinterConfig::default(),
        )
        .unwrap();
        assert!(!bytes.windows(4).any(|w| w == gbk("预约").as_slice()));
    }

    #[test]
    fn english_notice_when_chosen() {
        let mut ticket = example_ticket();
        ticket.language = Lang::En;
        let bytes = ticket_bytes(
            &ticket,
            &TicketTextConfig::default(),
            &PrinterConfig::default(),
        )
        .unwrap();
        let needle = b"Watch the display for your number\n";
        assert!(bytes.windows(needle.len()).any(|w| w == needle));
    }

    #[test]
    fn uyghur_goes_out_as_four_byte_gb18030_only_on_such_printers() {
        let mut ticket = example_ticket();
        ticket.language = Lang::Ug;
        let texts = TicketTextConfig::default();
        let gb18030 = PrinterConfig {
            encoding: PrinterEncoding::Gb18030,
            ..PrinterConfig::default()
        };
        let bytes = ticket_bytes(&ticket, &texts, &gb18030).unwrap();
        let notice = encoding_rs::GB18030
            .encode(&texts.ug.as_ref().unwrap().notice)
            .0;
        assert!(bytes.windows(notice.len()).any(|w| w == &*notice));
        let gbk_bytes = ticket_bytes(&ticket, &texts, &PrinterConfig::default()).unwrap();
        assert!(!gbk_bytes.windows(notice.len()).any(|w| w == &*notice));
    }

    #[test]
    fn hall_name_outside_the_printer_charset_is_a_compose_error() {
        let mut ticket = example_ticket();
        ticket.hall_name = "ئۈرۈمچی".into();
        let err = ticket_bytes(
            &ticket,
            &TicketTextConfig::default(),
            &PrinterConfig::default(),
        )
        .unwrap_err();
        assert!(matches!(err, PrintError::Compose(_)), "{err:?}");
    }
}
