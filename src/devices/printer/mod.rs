//! The ticket printer: ESC/POS over a serial port, with a simulator on a pseudo-terminal.
//!
//! [`escpos_ticket`] turns a [`TicketPrint`] into ESC/POS bytes, [`driver`] sends them and asks the
//! printer how it is ([`status`]), [`service`] shares one printer between the kiosk's print path and
//! a status monitor and reports to the engine, [`bench`] measures the example ticket on the wire.

pub mod bench;
pub mod driver;
pub mod escpos_ticket;
mod example;
pub mod service;
#[cfg(feature = "sim")]
pub mod sim;
pub mod status;
pub mod ticket;

pub use crate::config::printer::{PrinterConfig, PrinterEncoding, TicketTextConfig, TicketTexts};
pub use driver::SerialEscPosPrinter;
pub use service::PrinterService;
pub use status::PrinterStatus;
pub use ticket::{AppointmentSlot, PrintError, TicketPrint, TicketPrinter};
