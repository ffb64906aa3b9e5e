//! What the kiosk hands a printer: one ticket's content, and what can go wrong printing it.

use chrono::{NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use super::status::PrinterStatus;
use crate::lang::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentSlot {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// Everything printed on one ticket; the fixed wording comes from
/// [`TicketTextConfig`](crate::config::printer::TicketTextConfig).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketPrint {
    pub hall_name: String,
    pub service_name: String,
    /// The queue number as called out, e.g. `A012`.
    pub number: String,
    pub people_ahead: u32,
    /// Hall-local time the ticket was issued.
    pub issued_at: NaiveDateTime,
    pub appointment: Option<AppointmentSlot>,
    /// The language the citizen chose; picks the notice, header and footer.
    pub language: Lang,
    /// Link to the ticket's live status page, carried by the QR code.
    pub status_url: String,
}

/// What can go wrong printing one ticket. The ticket itself is already issued by then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrintError {
    #[error("printer cannot print: {0}")]
    NotReady(PrinterStatus),
    #[error("printing stopped part-way through the ticket: {0}")]
    Interrupted(PrinterStatus),
    #[error("ticket could not be written to the printer: {0}")]
    Link(String),
    #[error("ticket text cannot be encoded for the printer: {0}")]
    Compose(String),
}

/// A printer the kiosk can print tickets on.
pub trait TicketPrinter: Send {
    /// Asks the printer how it is (DLE EOT); never fails, an unreachable printer is a status.
    fn status(&mut self) -> PrinterStatus;
    /// Checks the status, prints the ticket and checks again, so a printer that stopped part-way
    /// is reported as [`PrintError::Interrupted`]. Returns the status after printing.
    fn print(&mut self, ticket: &TicketPrint) -> Result<PrinterStatus, PrintError>;
}
