//! From device reports to engine commands: the one place that speaks both vocabularies, so the
//! engine never sees driver types and the drivers never see the event log.

use chrono::{DateTime, NaiveDateTime};

use super::fault::DeviceFault;
use super::printer::ticket::{AppointmentSlot, TicketPrint};
use super::report::{DeviceKind, DeviceReport};
use crate::config::{HallSetup, Lang, localized};
use crate::queue::{self, Command, Ticket};

impl DeviceKind {
    /// The device's name in events, as the counters, display wall and platform see it.
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::TicketPrinter => crate::ports::TICKET_PRINTER,
            DeviceKind::IdCardReader => crate::ports::IDCARD_READER,
        }
    }

    fn label(self) -> &'static str {
        match self {
            DeviceKind::TicketPrinter => "Kiosk printer",
            DeviceKind::IdCardReader => "ID-card reader",
        }
    }
}

impl DeviceFault {
    /// Short machine-readable code, stable for the platform and the screens' translations.
    pub fn code(&self) -> &'static str {
        match self {
            DeviceFault::PaperNearEnd => "paper_near_end",
            DeviceFault::PaperOut => "paper_out",
            DeviceFault::CoverOpen => "cover_open",
            DeviceFault::DeviceError(_) => "device_error",
            DeviceFault::NoAnswer => "no_answer",
            DeviceFault::Disconnected(_) => "disconnected",
            DeviceFault::SamFailure(_) => "sam_failure",
        }
    }
}

impl DeviceReport {
    /// The engine command this report calls for. Cards give none: the kiosk decides whether a
    /// card means a new ticket or an appointment check-in.
    pub fn to_command(&self) -> Option<Command> {
        match self {
            DeviceReport::Health { device, fault } => Some(Command::ReportDevice {
                device: device.name().into(),
                fault: fault.as_ref().map(|f| queue::DeviceFault {
                    code: f.code().into(),
                    message: format!("{}: {f}", device.label()),
                }),
            }),
            DeviceReport::Print {
                ticket_number,
                outcome,
            } => Some(Command::RecordPrint {
                number: ticket_number.clone(),
                printed: outcome.is_ok(),
                detail: outcome.as_ref().err().map(ToString::to_string),
            }),
            DeviceReport::Card(_) | DeviceReport::CardRejected(_) => None,
        }
    }
}

/// What the printer and the kiosk screen need of an issued ticket, in hall-local time. The one place
/// a ticket's print is built, so paper and screen both carry the hall's own status link
/// (`[ticket] status_base_url`).
pub fn ticket_print(
    setup: &HallSetup,
    ticket: &Ticket,
    people_ahead: u32,
    language: Lang,
) -> TicketPrint {
    let local = |ms: i64| -> NaiveDateTime {
        DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .with_timezone(&setup.utc_offset)
            .naive_local()
    };
    let service_name = setup
        .service(&ticket.service)
        .map(|s| localized(&s.name, Lang::Zh).to_owned())
        .unwrap_or_else(|| ticket.service.clone());
    // A ticket recorded before tokens existed links to the status page itself, never to a
    // guessable address.
    let token = ticket.status_token.as_deref().unwrap_or_default();
    TicketPrint {
        hall_name: localized(&setup.config.hall.name, Lang::Zh).to_owned(),
        service_name,
        number: ticket.number.clone(),
        people_ahead,
        issued_at: local(ticket.issued_ms),
        appointment: ticket.appointment.as_ref().map(|slot| AppointmentSlot {
            start: local(slot.start_ms).time(),
            end: local(slot.end_ms).time(),
        }),
        language,
        status_url: setup.config.ticket.status_url(token, language),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::printer::status::PrinterStatus;
    use crate::devices::printer::ticket::PrintError;

    #[test]
    fn health_becomes_a_device_report_command() {
        let report = DeviceReport::Health {
            device: DeviceKind::TicketPrinter,
            fault: Some(DeviceFault::PaperOut),
        };
        assert_eq!(
            report.to_command(),
            Some(Command::ReportDevice {
                device: "ticket_printer".into(),
                fault: Some(queue::DeviceFault {
                    code: "paper_out".into(),
                    message: "Kiosk printer: out of paper".into(),
                }),
            })
        );
        let recovered = DeviceReport::Health {
            device: DeviceKind::IdCardReader,
            fault: None,
        };
        assert_eq!(
            recovered.to_command(),
            Some(Command::ReportDevice {
                device: "idcard_reader".into(),
                fault: None
            })
        );
    }

    #[test]
    fn a_failed_print_carries_its_reason() {
        let report = DeviceReport::Print {
            ticket_number: "A012".into(),
            outcome: Err(PrintError::Interrupted(PrinterStatus::PaperOut)),
        };
        assert_eq!(
            report.to_command(),
            Some(Command::RecordPrint {
                number: "A012".into(),
                printed: false,
                detail: Some("printing stopped part-way through the ticket: out of paper".into()),
            })
        );
    }

    #[test]
    fn fault_codes_are_distinct() {
        let faults = [
            DeviceFault::PaperNearEnd,
            DeviceFault::PaperOut,
            DeviceFault::CoverOpen,
            DeviceFault::DeviceError(String::new()),
            DeviceFault::NoAnswer,
            DeviceFault::Disconnected(String::new()),
            DeviceFault::SamFailure(String::new()),
        ];
        let codes: std::collections::BTreeSet<_> = faults.iter().map(DeviceFault::code).collect();
        assert_eq!(codes.len(), faults.len());
    }
}
