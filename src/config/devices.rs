//! What the device tables of the hall's TOML share: serial flow control, the usual baud rates, and the
//! gathering of every problem of a table so the integrator sees them all at once. The tables
//! themselves are `printer.rs` and `idcard.rs` beside this file; the drivers in `devices/` read them.

use serde::{Deserialize, Serialize};

/// Rates both kinds of device ship with or can be switched to.
pub const COMMON_BAUD_RATES: [u32; 5] = [9600, 19200, 38400, 57600, 115200];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowControl {
    #[default]
    None,
    /// XON/XOFF.
    Software,
    /// RTS/CTS (DTR/DSR printers are wired to it through the cable).
    Hardware,
}

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
            COMMON_BAUD_RATES.contains(&baud),
            fields[1],
            format!("{baud} is not one of {:?}", COMMON_BAUD_RATES),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_control_names_in_config() {
        #[derive(Deserialize)]
        struct T {
            f: FlowControl,
        }
        let t: T = toml::from_str("f = \"hardware\"").unwrap();
        assert_eq!(t.f, FlowControl::Hardware);
        assert!(toml::from_str::<T>("f = \"dtr\"").is_err());
    }
}
