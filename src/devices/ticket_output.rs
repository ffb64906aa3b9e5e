//! The kiosk's ticket outputs: the serial printer, the demo's simulated one, and the stand-in for a
//! printer that is not connected. Each lays the ticket out with [`ticket_print`].

use super::bridge::ticket_print;
use super::printer::service::PrinterService;
use super::printer::ticket::TicketPrinter;
use crate::ports::{PrintJob, TicketOutput};

/// The real printer: the ticket goes out as ESC/POS on the serial port. Health changes still reach
/// the engine through the service's reports; the print outcome does not, the kiosk records it.
impl<P: TicketPrinter + 'static> TicketOutput for PrinterService<P> {
    fn print(&self, job: &PrintJob) -> Result<(), String> {
        let ticket = ticket_print(&job.setup, &job.ticket, job.people_ahead, job.lang);
        self.print_unrecorded(&ticket).map_err(|e| e.to_string())
    }
}

/// The demo hall's printer: every ticket "prints". Out-of-paper is simulated by reporting a printer
/// fault to the engine (the kiosk then shows the number on screen without trying to print).
#[derive(Debug, Default)]
pub struct SimulatedPrinter;

impl TicketOutput for SimulatedPrinter {
    fn print(&self, job: &PrintJob) -> Result<(), String> {
        tracing::info!(number = %job.ticket.number, service = %job.ticket.service, "simulated printer: ticket out");
        Ok(())
    }
}

/// The kiosk of a configured hall whose serial printer is not open: every print fails with a plain
/// reason, so the citizen gets the number and QR code on screen and the print is recorded as failed,
/// rather than being told to take a ticket that never came out.
#[derive(Debug, Default)]
pub struct UnconnectedPrinter;

impl TicketOutput for UnconnectedPrinter {
    fn print(&self, _job: &PrintJob) -> Result<(), String> {
        Err("the kiosk printer is not connected".into())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn an_unconnected_printer_refuses_every_ticket_with_a_reason() {
        let setup = Arc::new(crate::config::example());
        let ticket: crate::queue::Ticket = serde_json::from_value(serde_json::json!({
            "id": 1, "number": "A012", "business_day": "2026-11-27", "service": "social",
            "channel": "kiosk", "issued_ms": 0, "queue_ms": 0, "state": "waiting", "calls": 0,
            "green": false, "requeued": false, "print": "unknown"
        }))
        .unwrap();
        let job = PrintJob {
            setup,
            ticket,
            people_ahead: 3,
            lang: crate::lang::Lang::Zh,
        };
        let refused = UnconnectedPrinter.print(&job).unwrap_err();
        assert!(refused.contains("not connected"), "{refused}");
    }
}
