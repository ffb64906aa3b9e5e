//! The kiosk's real devices, opened from the hall's config: the ESC/POS printer on `[printer]` and the
//! ID-card reader on `[idcard]`, joined to the hall and to the kiosk screen through [`super::link`]. The
//! hall is the engine when the kiosk runs on the hall node's board, or the hall node over the LAN from
//! a kiosk board of its own. A missing or unplugged device is reported as a fault; it never stops the
//! hall.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use tokio::sync::mpsc;

use super::idcard::{HallKey, spawn_card_reader};
use super::link::{KioskLink, KioskPresence, forward_reports};
use super::printer::{PrinterService, SerialEscPosPrinter};
use super::worker::DeviceThread;
use super::{DeviceFault, DeviceKind, DeviceReport};
use crate::ports::{Hall, TicketOutput};

/// Bytes of a hall key made on first start.
const KEY_BYTES: usize = 32;
/// The hall key's file name.
const KEY_FILE: &str = "idcard.key";

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
        key: Result<HallKey, String>,
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
                    fault: Some(DeviceFault::NoHallKey(why)),
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

/// Where the hall key lives: beside the hall node's database, or beside a kiosk board's device token.
pub fn key_path_beside(file: &Path) -> PathBuf {
    file.with_file_name(KEY_FILE)
}

/// The hall's secret for hashing ID numbers (appointments and per-person limits match on the hash):
/// made once from the system's random source, readable by hallq alone, and kept across restarts so
/// hashes stay comparable. Kiosk boards get the hall node's key when they pair.
pub fn load_or_create_key(path: &Path) -> anyhow::Result<HallKey> {
    match std::fs::read(path) {
        Ok(bytes) => HallKey::new(bytes)
            .map_err(|e| anyhow::anyhow!("{}: {e}; remove it to make a new one", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = vec![0u8; KEY_BYTES];
            rand::rng().fill_bytes(&mut bytes);
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            HallKey::new(bytes).map_err(anyhow::Error::msg)
        }
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// The hall key a kiosk board received at pairing, or why it has none to use.
pub fn load_paired_key(path: &Path) -> Result<HallKey, String> {
    match std::fs::read(path) {
        Ok(bytes) => HallKey::new(bytes).map_err(|e| {
            format!(
                "the hall card key at {} is unusable ({e}); pair this kiosk again with `hallq pair join`",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "this kiosk has no hall card key at {}; pair it again with `hallq pair join`",
            path.display()
        )),
        Err(e) => Err(format!("cannot read the hall card key {}: {e}", path.display())),
    }
}

/// Keeps the hall key a kiosk board received at pairing, replacing any key it had: every kiosk of a
/// hall must hash a card the same way. Written aside and renamed, so a crash leaves the old key or
/// the new one, never half of one.
pub fn store_key(path: &Path, key: &HallKey) -> anyhow::Result<()> {
    let aside = path.with_extension("key.new");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&aside)
        .with_context(|| format!("writing {}", aside.display()))?;
    file.write_all(key.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&aside, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
