//! The real printer: ESC/POS bytes over a serial port opened without libudev.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

use escpos::driver::Driver;
use escpos::errors::PrinterError as EscPosError;
use serialport::{SerialPort, TTYPort};

use super::escpos_ticket::send_ticket;
use super::status::{self, PrinterStatus};
use super::{PrintError, PrinterConfig, TicketPrint, TicketPrinter, TicketTextConfig};
use crate::devices::serial::{open_port, wire_millis};

/// An escpos driver over a borrowed serial port that counts what reached the port, so a failure
/// can be told apart as "nothing printed" or "stopped part-way".
#[derive(Clone)]
struct SerialDriver<'a> {
    port: Rc<RefCell<&'a mut TTYPort>>,
    written: Rc<Cell<usize>>,
}

impl Driver for SerialDriver<'_> {
    fn name(&self) -> String {
        self.port.borrow().name().unwrap_or_else(|| "serial".into())
    }

    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.port
            .borrow_mut()
            .write_all(data)
            .map_err(|e| EscPosError::Io(e.to_string()))?;
        self.written.set(self.written.get() + data.len());
        Ok(())
    }

    fn read(&self, buf: &mut [u8]) -> escpos::errors::Result<usize> {
        std::io::Read::read(&mut **self.port.borrow_mut(), buf)
            .map_err(|e| EscPosError::Io(e.to_string()))
    }

    fn flush(&self) -> escpos::errors::Result<()> {
        self.port
            .borrow_mut()
            .flush()
            .map_err(|e| EscPosError::Io(e.to_string()))
    }
}

/// An ESC/POS ticket printer on a serial port. The port is opened lazily and reopened after an
/// error, so a printer that was unplugged works again once it is back.
pub struct SerialEscPosPrinter {
    config: PrinterConfig,
    texts: TicketTextConfig,
    port: Option<TTYPort>,
}

impl SerialEscPosPrinter {
    pub fn new(config: PrinterConfig, texts: TicketTextConfig) -> Self {
        Self {
            config,
            texts,
            port: None,
        }
    }

    fn status_timeout(&self) -> Duration {
        Duration::from_millis(self.config.status_timeout_ms)
    }

    fn port(&mut self) -> Result<&mut TTYPort, PrinterStatus> {
        if self.port.is_none() {
            let port = open_port(
                &self.config.port,
                self.config.baud,
                self.config.flow_control,
                self.status_timeout(),
            )
            .map_err(|e| PrinterStatus::PortFailed(format!("{}: {e}", self.config.port)))?;
            self.port = Some(port);
        }
        Ok(self.port.as_mut().expect("port was just opened"))
    }

    fn send(&mut self, ticket: &TicketPrint) -> Result<(), (usize, String)> {
        let texts = self.texts.clone();
        let config = self.config.clone();
        let port = self.port().map_err(|s| (0, s.to_string()))?;
        // A write may wait on flow control; allow the ticket's wire time twice over.
        let budget = Duration::from_millis(2000 + 2 * wire_millis(1024, config.baud) as u64);
        port.set_timeout(budget).map_err(|e| (0, e.to_string()))?;
        let driver = SerialDriver {
            port: Rc::new(RefCell::new(port)),
            written: Rc::new(Cell::new(0)),
        };
        let result = send_ticket(driver.clone(), ticket, &texts, &config);
        let written = driver.written.get();
        result.map_err(|e| (written, e.to_string()))
    }
}

impl TicketPrinter for SerialEscPosPrinter {
    fn status(&mut self) -> PrinterStatus {
        let timeout = self.status_timeout();
        let status = match self.port() {
            Ok(port) => status::query(port, timeout),
            Err(status) => status,
        };
        if matches!(status, PrinterStatus::PortFailed(_)) {
            self.port = None;
        }
        status
    }

    fn print(&mut self, ticket: &TicketPrint) -> Result<PrinterStatus, PrintError> {
        let before = self.status();
        if !before.can_print() {
            return Err(PrintError::NotReady(before));
        }
        if let Err((written, error)) = self.send(ticket) {
            self.port = None;
            if written == 0 {
                return Err(PrintError::Link(error));
            }
            return Err(PrintError::Interrupted(PrinterStatus::PortFailed(error)));
        }
        let after = self.status();
        if after.can_print() {
            Ok(after)
        } else {
            Err(PrintError::Interrupted(after))
        }
    }
}
