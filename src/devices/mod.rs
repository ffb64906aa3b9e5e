//! Hardware behind small traits: each device has a real driver and a simulator speaking its wire protocol.
//!
//! Drivers are blocking (serial I/O is), so each device runs on its own thread and tells the engine
//! what happened through [`DeviceReport`] values on a tokio channel. The engine turns those into
//! device-fault, recovered, card and failed-print events; nothing here writes the event log.

pub mod idcard;
pub mod printer;
pub mod serial;
pub mod sim_cli;
pub mod worker;

mod report;

pub use report::{DeviceFault, DeviceKind, DeviceReport, HealthTracker};

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
