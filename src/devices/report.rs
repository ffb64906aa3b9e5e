//! What the devices tell the engine: plain values on a channel, so the engine owns every event.

use serde::Serialize;
use tokio::sync::mpsc::Sender;

pub use super::fault::DeviceFault;
use super::idcard::card_text::CardFacts;
use super::idcard::reader::ReaderError;
use super::printer::ticket::PrintError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    TicketPrinter,
    IdCardReader,
}

/// One thing a device has to say to the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceReport {
    /// The device's health changed: `fault: None` means it recovered. Sent only on a change.
    Health {
        device: DeviceKind,
        fault: Option<DeviceFault>,
    },
    /// A card was read; only the derived facts travel, never the ID number or photo.
    Card(CardFacts),
    /// A card was on the reader but could not be read (moved away, unknown layout, bad data).
    CardRejected(ReaderError),
    /// The outcome of printing one issued ticket. A failure here is a failed print of that
    /// ticket, never a reason to issue another one.
    Print {
        ticket_number: String,
        outcome: Result<(), PrintError>,
    },
}

/// Remembers the last health reported for one device so only changes reach the engine.
///
/// The printer's monitor thread and its print path share one tracker, so whichever notices a
/// change first reports it and the other stays quiet.
#[derive(Debug)]
pub struct HealthTracker {
    device: DeviceKind,
    // `None` until the first observation: the engine learns the starting health once.
    last: std::sync::Mutex<Option<Option<DeviceFault>>>,
}

impl HealthTracker {
    pub fn new(device: DeviceKind) -> Self {
        Self {
            device,
            last: std::sync::Mutex::new(None),
        }
    }

    /// Records an observation; returns the report to send if it differs from the last one.
    pub fn observe(&self, fault: Option<DeviceFault>) -> Option<DeviceReport> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        // A fault is the same fault while its kind stays: a reader that keeps failing to reopen
        // gives a new OS message each time, which is not news to the hall.
        let code = |f: &Option<DeviceFault>| f.as_ref().map(DeviceFault::code);
        if last.as_ref().map(code) == Some(code(&fault)) {
            return None;
        }
        *last = Some(fault.clone());
        Some(DeviceReport::Health {
            device: self.device,
            fault,
        })
    }

    /// Observes and sends from a blocking device thread. A closed channel means the engine has
    /// stopped; the device thread notices through its own stop flag, so the error is ignored here.
    pub fn observe_and_send(&self, fault: Option<DeviceFault>, reports: &Sender<DeviceReport>) {
        if let Some(report) = self.observe(fault) {
            let _ = reports.blocking_send(report);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_reports_first_observation_then_only_changes() {
        let tracker = HealthTracker::new(DeviceKind::TicketPrinter);
        assert_eq!(
            tracker.observe(None),
            Some(DeviceReport::Health {
                device: DeviceKind::TicketPrinter,
                fault: None
            })
        );
        assert_eq!(tracker.observe(None), None);
        assert!(tracker.observe(Some(DeviceFault::PaperOut)).is_some());
        assert_eq!(tracker.observe(Some(DeviceFault::PaperOut)), None);
        assert!(
            tracker
                .observe(Some(DeviceFault::Disconnected("EIO".into())))
                .is_some()
        );
        assert_eq!(
            tracker.observe(Some(DeviceFault::Disconnected("ENOENT".into()))),
            None
        );
        assert_eq!(
            tracker.observe(None),
            Some(DeviceReport::Health {
                device: DeviceKind::TicketPrinter,
                fault: None
            })
        );
    }

    #[test]
    fn only_paper_near_end_still_works() {
        assert!(DeviceFault::PaperNearEnd.still_works());
        assert!(!DeviceFault::PaperOut.still_works());
        assert!(!DeviceFault::NoAnswer.still_works());
    }
}
