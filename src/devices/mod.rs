//! Hardware behind small traits: each device has a real driver and a simulator speaking its wire protocol.
//!
//! Drivers are blocking (serial I/O is), so each device runs on its own thread and tells the engine
//! what happened through [`DeviceReport`] values on a tokio channel. The engine turns those into
//! device-fault, recovered, card and failed-print events; nothing here writes the event log.

mod bridge;
#[cfg(feature = "sim")]
pub mod demo;
mod fault;
pub mod idcard;
pub mod kiosk;
pub mod link;
pub mod printer;
#[cfg(feature = "sim")]
pub mod pty;
pub mod serial;
#[cfg(feature = "sim")]
pub mod sim_cli;
mod ticket_output;
pub mod worker;

mod report;

pub use bridge::ticket_print;
pub use fault::DeviceFault;
pub use report::{DeviceKind, DeviceReport, HealthTracker};
pub use ticket_output::{SimulatedPrinter, UnconnectedPrinter};

pub use crate::config::devices::ConfigProblem;
