//! Why a device cannot do (all of) its job, as the engine and the screens hear it.

use serde::Serialize;

/// Why a device cannot do (all of) its job. `PaperNearEnd` still prints but staff should change the roll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "fault", content = "detail")]
pub enum DeviceFault {
    PaperNearEnd,
    PaperOut,
    CoverOpen,
    /// The device reports an error, or answers with nonsense (wrong baud rate, broken frames).
    DeviceError(String),
    /// The port is open but the device does not answer.
    NoAnswer,
    /// The port cannot be opened or has gone away (unplugged USB-serial adapter).
    Disconnected(String),
    /// The reader answers but its security module refuses to work.
    SamFailure(String),
}

impl DeviceFault {
    /// Whether the device can still do its job with this fault present.
    pub fn still_works(&self) -> bool {
        matches!(self, DeviceFault::PaperNearEnd)
    }
}

impl std::fmt::Display for DeviceFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceFault::PaperNearEnd => write!(f, "paper roll is nearly finished"),
            DeviceFault::PaperOut => write!(f, "out of paper"),
            DeviceFault::CoverOpen => write!(f, "cover is open"),
            DeviceFault::DeviceError(detail) => write!(f, "device error: {detail}"),
            DeviceFault::NoAnswer => write!(f, "device does not answer"),
            DeviceFault::Disconnected(detail) => write!(f, "device disconnected: {detail}"),
            DeviceFault::SamFailure(detail) => write!(f, "security module failure: {detail}"),
        }
    }
}
