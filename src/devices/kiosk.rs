//! The kiosk's real devices, opened from the hall's config: the ESC/POS printer on `[printer]` and the
//! ID-card reader on `[idcard]`, joined to the hall and to the kiosk screen through [`super::link`]. The
//! hall is the engine when the kiosk runs on the hall node's board, or the hall node over the LAN from
//! a kiosk board of its own. A missing or unplugged device is reported as a fault; it never stops the
//! hall.

use std::path::Path;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::fault::DeviceFault;
use super::idcard::spawn_card_reader;
use super::link::{KioskLink, KioskPresence, forward_reports};
use super::printer::{PrinterService, SerialEscPosPrinter};
use super::report::{DeviceKind, DeviceReport};
use super::worker::DeviceThread;
use crate::identity::{HallKey, HallKeyError, load_or_create_key, load_paired_key};
use crate::ports::{Hall, TicketOutput};

/// Keeps the kiosk's devices running; dropping it stops them.
pub struct KioskDevices {
    _threads: Vec<DeviceThread>,
    printer: PrinterService<SerialEscPosPrinter>,
}

impl KioskDevices {
    /// Opens the configured printer and reader beside the engine, on the hall node's own board: the
    /// hall key lives beside the database and is made there on first start. Call inside the tokio
    /// runtime.
    pub fn start(hall: Hall, key_path: &Path, kiosk: KioskLink) -> anyhow::Result<Self> {
        let key = load_or_create_key(key_path)?;
        Self::open(hall, Ok(key), kiosk)
    }

    /// Opens the configured printer and reader on a kiosk board of its own, reporting to the hall
    /// node through `hall`. The reader hashes cards with the key the board received at pairing and
    /// never makes one: a key of its own would match no booking and no one-ticket rule. Without
    /// that key the reader stays closed and the hall's staff see why as a reader fault; the printer
    /// works either way. Call inside the tokio runtime.
    pub fn start_with(
        hall: Hall,
        key_path: &Path,
        kiosk: KioskLink,
    ) -> anyhow::Result<KioskDevices> {
        Self::open(hall, load_paired_key(key_path), kiosk)
    }

    fn open(
        hall: Hall,
        key: Result<HallKey, HallKeyError>,
        kiosk: KioskLink,
    ) -> anyhow::Result<KioskDevices> {
        let setup = Arc::clone(hall.setup());
        let config = &setup.config;
        let (reports_tx, reports) = mpsc::channel(64);
        let printer = PrinterService::new(
            SerialEscPosPrinter::new(config.printer.clone(), config.ticket.clone()),
            reports_tx.clone(),
        );
        let monitor =
            printer.spawn_monitor(Duration::from_secs(config.printer.status_poll_seconds))?;
        let mut threads = vec![monitor];
        match key {
            Ok(key) => threads.push(spawn_card_reader(config.idcard.clone(), key, reports_tx)?),
            Err(why) => {
                tracing::error!("the ID-card reader takes no cards: {why}");
                let fault = DeviceReport::Health {
                    device: DeviceKind::IdCardReader,
                    fault: Some(DeviceFault::NoHallKey(why.to_string())),
                };
                // The channel is new and empty, so this cannot find it full.
                let _ = reports_tx.try_send(fault);
            }
        }
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
