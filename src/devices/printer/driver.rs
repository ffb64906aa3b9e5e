//! The real printer: ESC/POS bytes over a serial port opened without libudev.

use std::io;
use std::time::Duration;

use serialport::SerialPort;

use super::escpos_ticket::ticket_bytes;
use super::status::{self, PrinterStatus};
use super::ticket::{PrintError, TicketPrint, TicketPrinter};
use crate::config::printer::{PrinterConfig, TicketTextConfig};
use crate::devices::serial::{open_port, wire_millis};

/// Opens the printer's port from its config.
pub type PortOpener =
    Box<dyn FnMut(&PrinterConfig) -> io::Result<Box<dyn SerialPort>> + Send + 'static>;

/// How far a ticket's bytes got.
enum Sent {
    /// Nothing reached the port: no paper was used.
    Nothing(String),
    /// The port failed part-way: the printer holds the head of a ticket and no cut.
    Part(String),
    /// Every byte, cut included, was taken by the port. A flush that failed after that says
    /// nothing about the paper; the printer's status does.
    Whole { flush_error: Option<String> },
}

/// An ESC/POS ticket printer on a serial port. The port is opened lazily and reopened after an
/// error, so a printer that was unplugged works again once it is back.
pub struct SerialEscPosPrinter {
    config: PrinterConfig,
    texts: TicketTextConfig,
    open: PortOpener,
    port: Option<Box<dyn SerialPort>>,
}

impl SerialEscPosPrinter {
    pub fn new(config: PrinterConfig, texts: TicketTextConfig) -> Self {
        Self::with_port_opener(
            config,
            texts,
            Box::new(|config: &PrinterConfig| {
                let port = open_port(
                    &config.port,
                    config.baud,
                    config.flow_control,
                    Duration::from_millis(config.status_timeout_ms),
                )?;
                Ok(Box::new(port) as Box<dyn SerialPort>)
            }),
        )
    }

    /// A printer whose port comes from `open`: a serial line that needs more than opening the
    /// device, or a test's line with a fault placed between the driver and the printer.
    pub fn with_port_opener(
        config: PrinterConfig,
        texts: TicketTextConfig,
        open: PortOpener,
    ) -> Self {
        Self {
            config,
            texts,
            open,
            port: None,
        }
    }

    fn status_timeout(&self) -> Duration {
        Duration::from_millis(self.config.status_timeout_ms)
    }

    fn port(&mut self) -> Result<&mut Box<dyn SerialPort>, PrinterStatus> {
        if self.port.is_none() {
            let port = (self.open)(&self.config)
                .map_err(|e| PrinterStatus::PortFailed(format!("{}: {e}", self.config.port)))?;
            self.port = Some(port);
        }
        Ok(self.port.as_mut().expect("port was just opened"))
    }

    fn send(&mut self, bytes: &[u8]) -> Sent {
        // A write may wait on flow control; allow the ticket's wire time twice over.
        let budget =
            Duration::from_millis(2000 + 2 * wire_millis(bytes.len(), self.config.baud) as u64);
        let port = match self.port() {
            Ok(port) => port,
            Err(status) => return Sent::Nothing(status.to_string()),
        };
        if let Err(e) = port.set_timeout(budget) {
            return Sent::Nothing(e.to_string());
        }
        let mut written = 0;
        while written < bytes.len() {
            let error = match port.write(&bytes[written..]) {
                Ok(0) => "the port took no more bytes".to_owned(),
                Ok(n) => {
                    written += n;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => e.to_string(),
            };
            return if written == 0 {
                Sent::Nothing(error)
            } else {
                Sent::Part(error)
            };
        }
        Sent::Whole {
            flush_error: port.flush().err().map(|e| e.to_string()),
        }
    }
}

impl TicketPrinter for SerialEscPosPrinter {
    fn status(&mut self) -> PrinterStatus {
        let timeout = self.status_timeout();
        let status = match self.port() {
            Ok(port) => status::query(port.as_mut(), timeout),
            Err(status) => status,
        };
        if matches!(status, PrinterStatus::PortFailed(_)) {
            self.port = None;
        }
        status
    }

    fn print(&mut self, ticket: &TicketPrint) -> Result<PrinterStatus, PrintError> {
        let bytes = ticket_bytes(ticket, &self.texts, &self.config)?;
        let before = self.status();
        if !before.can_print() {
            return Err(PrintError::NotReady(before));
        }
        match self.send(&bytes) {
            Sent::Nothing(error) => {
                self.port = None;
                Err(PrintError::Link(error))
            }
            Sent::Part(error) => {
                self.port = None;
                Err(PrintError::Interrupted(PrinterStatus::PortFailed(error)))
            }
            Sent::Whole { flush_error } => {
                // DLE EOT is answered in order after every byte before it, so an answer of
                // "online, with paper" means the whole ticket reached a printer able to print
                // it. Only a fault or silence makes it a failed print, whatever the flush said.
                let after = self.status();
                if let Some(error) = flush_error {
                    tracing::warn!(
                        "printer port flush failed after the whole ticket was written ({error}); \
                         the printer then answered: {after}"
                    );
                }
                if after.can_print() {
                    Ok(after)
                } else {
                    Err(PrintError::Interrupted(after))
                }
            }
        }
    }
}
