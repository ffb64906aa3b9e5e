//! Wire figures of the example hall's ticket, for `hallq bench --json`.

use serde::Serialize;

use super::escpos_ticket::ticket_bytes;
pub use super::example::example_ticket;
use super::ticket::{PrintError, TicketPrint};
use crate::config::printer::{PrinterConfig, TicketTextConfig};
use crate::devices::serial::wire_millis;

/// A ticket must stay at most this many bytes for the example hall: at 9600 baud that is
/// under two thirds of a second of waiting at the kiosk.
pub const EXAMPLE_TICKET_BYTE_BUDGET: usize = 600;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WireStats {
    pub bytes: usize,
    pub ms_at_9600: f64,
    pub ms_at_115200: f64,
}

impl WireStats {
    pub fn of(bytes: usize) -> Self {
        Self {
            bytes,
            ms_at_9600: wire_millis(bytes, 9600),
            ms_at_115200: wire_millis(bytes, 115_200),
        }
    }
}

/// Bytes and wire time of `ticket` with the default wording and printer settings.
pub fn example_ticket_wire_stats(ticket: &TicketPrint) -> Result<WireStats, PrintError> {
    ticket_wire_stats(
        ticket,
        &TicketTextConfig::default(),
        &PrinterConfig::default(),
    )
}

pub fn ticket_wire_stats(
    ticket: &TicketPrint,
    texts: &TicketTextConfig,
    config: &PrinterConfig,
) -> Result<WireStats, PrintError> {
    Ok(WireStats::of(ticket_bytes(ticket, texts, config)?.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Lang;

    #[test]
    fn example_ticket_fits_the_byte_budget_in_every_language() {
        for language in [Lang::Zh, Lang::Ug, Lang::Kk, Lang::En] {
            let mut ticket = example_ticket();
            ticket.language = language;
            for encoding in [
                crate::config::printer::PrinterEncoding::Gbk,
                crate::config::printer::PrinterEncoding::Gb18030,
            ] {
                let config = PrinterConfig {
                    encoding,
                    ..PrinterConfig::default()
                };
                let stats =
                    ticket_wire_stats(&ticket, &TicketTextConfig::default(), &config).unwrap();
                assert!(
                    stats.bytes <= EXAMPLE_TICKET_BYTE_BUDGET,
                    "{language:?}/{encoding:?}: {} bytes",
                    stats.bytes
                );
            }
        }
    }

    #[test]
    fn example_ticket_comes_from_the_example_hall() {
        let ticket = example_ticket();
        assert_eq!(ticket.hall_name, "天山区政务服务中心");
        assert_eq!(ticket.service_name, "社会保障");
        assert_eq!(ticket.number, "A012");
    }

    #[test]
    fn wire_stats_scale_with_baud() {
        let stats = example_ticket_wire_stats(&example_ticket()).unwrap();
        assert!(stats.bytes > 100);
        assert!((stats.ms_at_9600 / stats.ms_at_115200 - 12.0).abs() < 1e-9);
        assert!((stats.ms_at_9600 - stats.bytes as f64 * 10.0 / 9.6).abs() < 1e-9);
    }
}
