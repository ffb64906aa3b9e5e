//! Hardware behind small traits: each device has a real driver and a simulator speaking its wire protocol.
//!
//! Drivers are blocking (serial I/O is), so each device runs on its own thread and tells the engine
//! what happened through [`DeviceReport`] values on a tokio channel. The engine turns those into
//! device-fault, recovered, card and failed-print events; nothing here writes the event log.

mod bridge;
pub mod demo;
pub mod idcard;
pub mod kiosk;
pub mod link;
pub mod printer;
pub mod pty;
pub mod serial;
pub mod sim_cli;
pub mod worker;

mod report;

pub use bridge::ticket_print;
pub use report::{
    CARD_COUNTERS, CardCounters, DeviceFault, DeviceKind, DeviceReport, HealthTracker,
};

/// A problem found in one field of a device's configuration table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted TOML path, e.g. `printer.baud`.
    pub field: &'static str,
    pub problem: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl ConfigProblem {
    pub(crate) fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

/// Gathers every problem of a table so the integrator sees them all at once.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<ConfigProblem>);

impl Problems {
    pub(crate) fn unless(&mut self, ok: bool, field: &'static str, problem: impl Into<String>) {
        if !ok {
            self.0.push(ConfigProblem::new(field, problem));
        }
    }

    pub(crate) fn serial_port(&mut self, fields: [&'static str; 2], port: &str, baud: u32) {
        self.unless(
            !port.trim().is_empty(),
            fields[0],
            "must name a serial device",
        );
        self.unless(
            serial::COMMON_BAUD_RATES.contains(&baud),
            fields[1],
            format!("{baud} is not one of {:?}", serial::COMMON_BAUD_RATES),
        );
    }

    pub(crate) fn range(&mut self, field: &'static str, value: u64, low: u64, high: u64) {
        self.unless(
            (low..=high).contains(&value),
            field,
            format!("must be between {low} and {high}"),
        );
    }

    pub(crate) fn finish(self) -> Result<(), Vec<ConfigProblem>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}
