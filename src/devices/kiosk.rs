//! The kiosk's real devices, opened from the hall's config: the ESC/POS printer on `[printer]` and the
//! ID-card reader on `[idcard]`, joined to the hall and to the kiosk screen through [`super::link`]. The
//! hall is the engine when the kiosk runs on the hall node's board, or the hall node over the LAN from
//! a kiosk board of its own. A missing or unplugged device is reported as a fault; it never stops the
//! hall.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::idcard::spawn_card_reader;
use super::link::{KioskLink, KioskPresence, forward_reports};
use super::printer::{PrinterService, SerialEscPosPrinter};
use super::worker::DeviceThread;
use crate::ports::{Hall, TicketOutput};

/// Keeps the kiosk's devices running; dropping it stops them.
pub struct KioskDevices {
    _threads: Vec<DeviceThread>,
    printer: PrinterService<SerialEscPosPrinter>,
}

impl KioskDevices {
    /// Opens the configured printer and reader, reporting to `hall`: the engine on the hall node's
    /// own board, or the hall node over the LAN from a kiosk board of its own. Either way the reader
    /// hands the kiosk the card's number and name, and the hall node alone hashes the number: no
    /// kiosk board holds the hall key. Call inside the tokio runtime.
    pub fn start(hall: Hall, kiosk: KioskLink) -> anyhow::Result<KioskDevices> {
        let setup = Arc::clone(hall.setup());
        let config = &setup.config;
        let (reports_tx, reports) = mpsc::channel(64);
        let printer = PrinterService::new(
            SerialEscPosPrinter::new(config.printer.clone(), config.ticket.clone()),
            reports_tx.clone(),
        );
        let monitor =
            printer.spawn_monitor(Duration::from_secs(config.printer.status_poll_seconds))?;
        let reader = spawn_card_reader(config.idcard.clone(), reports_tx)?;
        let threads = vec![monitor, reader];
        // The kiosk screen prints its own tickets, so nothing here follows the engine's events.
        tokio::spawn(forward_reports(hall, reports, KioskPresence::Screen(kiosk)));
        Ok(KioskDevices {
            _threads: threads,
            printer,
        })
    }

    /// The serial printer, for the kiosk to print on.
    pub fn kiosk_printer(&self) -> Arc<dyn TicketOutput> {
        Arc::new(self.printer.clone())
    }
}
