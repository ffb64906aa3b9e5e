//! Wire figures of the example hall's ticket, for `hallq bench --json`.

use chrono::{NaiveDate, NaiveTime};
use serde::Serialize;

use super::escpos_ticket::ticket_bytes;
use super::{AppointmentSlot, PrintError, PrinterConfig, TicketPrint, TicketTextConfig};
use crate::config::{Lang, localized};
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

/// The example hall's ticket: an appointment holder for its first service (社会保障, A012).
pub fn example_ticket() -> TicketPrint {
    let hall = crate::config::example().config;
    let service = hall
        .services
        .first()
        .expect("the example hall has services");
    let day = NaiveDate::from_ymd_opt(2026, 11, 27).expect("valid date");
    let number = format!("{}012", service.prefix);
    TicketPrint {
        hall_name: localized(&hall.hall.name, Lang::Zh).to_owned(),
        service_name: localized(&service.name, Lang::Zh).to_owned(),
        status_url: TicketTextConfig::default()
            .status_url(&format!("20261127-{number}-k7q2"), Lang::Zh),
        number,
        people_ahead: 7,
        issued_at: day.and_hms_opt(9, 41, 5).expect("valid time"),
        appointment: Some(AppointmentSlot {
            start: NaiveTime::from_hms_opt(9, 30, 0).expect("valid time"),
            end: NaiveTime::from_hms_opt(10, 0, 0).expect("valid time"),
        }),
        language: Lang::Zh,
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

    #[test]
    fn example_ticket_fits_the_byte_budget_in_every_language() {
        for language in [Lang::Zh, Lang::Ug, Lang::Kk, Lang::En] {
            let mut ticket = example_ticket();
            ticket.language = language;
            for encoding in [
                super::super::PrinterEncoding::Gbk,
                super::super::PrinterEncoding::Gb18030,
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
