//! One printer shared by the kiosk's print path and a status monitor, reporting to the engine.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::Sender;

use super::status::PrinterStatus;
use super::ticket::{PrintError, TicketPrint, TicketPrinter};
use crate::devices::report::{DeviceKind, DeviceReport, HealthTracker};
use crate::devices::worker::DeviceThread;

/// Serialises access to the printer (a status query must never land inside a ticket's bytes) and
/// reports health changes and print outcomes on `reports`.
pub struct PrinterService<P: TicketPrinter> {
    printer: Arc<Mutex<P>>,
    health: Arc<HealthTracker>,
    reports: Sender<DeviceReport>,
}

impl<P: TicketPrinter> Clone for PrinterService<P> {
    fn clone(&self) -> Self {
        Self {
            printer: Arc::clone(&self.printer),
            health: Arc::clone(&self.health),
            reports: self.reports.clone(),
        }
    }
}

impl<P: TicketPrinter + 'static> PrinterService<P> {
    pub fn new(printer: P, reports: Sender<DeviceReport>) -> Self {
        Self {
            printer: Arc::new(Mutex::new(printer)),
            health: Arc::new(HealthTracker::new(DeviceKind::TicketPrinter)),
            reports,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, P> {
        self.printer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queries the printer, reporting a health change if there is one. Blocking.
    pub fn check(&self) -> PrinterStatus {
        let status = self.lock().status();
        self.health.observe_and_send(status.fault(), &self.reports);
        status
    }

    /// Prints an already issued ticket and reports the outcome, plus any health change the
    /// attempt revealed. Blocking: call it from `spawn_blocking` or a device thread.
    pub fn print(&self, ticket: &TicketPrint) -> Result<(), PrintError> {
        let outcome = self.print_unrecorded(ticket);
        let _ = self.reports.blocking_send(DeviceReport::Print {
            ticket_number: ticket.number.clone(),
            outcome: outcome.clone(),
        });
        outcome
    }

    /// Prints and reports health changes, but leaves the outcome to the caller: the kiosk records
    /// it itself, and a second record of the same ticket would be refused. Blocking.
    pub fn print_unrecorded(&self, ticket: &TicketPrint) -> Result<(), PrintError> {
        let result = self.lock().print(ticket);
        match &result {
            Ok(status) | Err(PrintError::NotReady(status) | PrintError::Interrupted(status)) => {
                self.health.observe_and_send(status.fault(), &self.reports)
            }
            Err(PrintError::Link(_) | PrintError::Compose(_)) => {}
        }
        result.map(|_| ())
    }

    /// Polls the printer every `period` on its own thread until the handle is stopped or dropped.
    pub fn spawn_monitor(&self, period: Duration) -> std::io::Result<DeviceThread> {
        let service = self.clone();
        DeviceThread::spawn("printer-monitor", move |stop| {
            while !stop.is_set() && !service.reports.is_closed() {
                service.check();
                stop.sleep(period);
            }
        })
    }
}
