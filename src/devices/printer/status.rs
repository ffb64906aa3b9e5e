//! Real-time status (DLE EOT): the printer answers one byte per query even while busy.

use std::io;
use std::time::{Duration, Instant};

use serde::Serialize;
use serialport::{ClearBuffer, SerialPort};

use crate::devices::fault::DeviceFault;
use crate::devices::serial::read_exact_until;

/// What the printer says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum PrinterStatus {
    #[error("ready")]
    Ready,
    #[error("ready, but the paper roll is nearly finished")]
    PaperNearEnd,
    #[error("out of paper")]
    PaperOut,
    #[error("cover is open")]
    CoverOpen,
    /// Offline or in error for another reason; the detail names the cause the printer gave.
    #[error("offline: {0}")]
    Offline(String),
    #[error("no answer to the status query")]
    NoAnswer,
    /// The answer broke the fixed `0xx1xx10` pattern: wrong baud rate or not an ESC/POS printer.
    #[error("unrecognised status byte {0:#04x}")]
    Garbled(u8),
    #[error("serial port failed: {0}")]
    PortFailed(String),
}

impl PrinterStatus {
    pub fn can_print(&self) -> bool {
        matches!(self, PrinterStatus::Ready | PrinterStatus::PaperNearEnd)
    }

    /// The health this status means for the engine; `None` when all is well.
    pub fn fault(&self) -> Option<DeviceFault> {
        match self {
            PrinterStatus::Ready => None,
            PrinterStatus::PaperNearEnd => Some(DeviceFault::PaperNearEnd),
            PrinterStatus::PaperOut => Some(DeviceFault::PaperOut),
            PrinterStatus::CoverOpen => Some(DeviceFault::CoverOpen),
            PrinterStatus::Offline(cause) => Some(DeviceFault::DeviceError(cause.clone())),
            PrinterStatus::NoAnswer => Some(DeviceFault::NoAnswer),
            PrinterStatus::Garbled(byte) => Some(DeviceFault::DeviceError(format!(
                "unrecognised status byte {byte:#04x}; check the baud rate"
            ))),
            PrinterStatus::PortFailed(detail) => Some(DeviceFault::Disconnected(detail.clone())),
        }
    }
}

/// Which DLE EOT query (`10 04 n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum StatusQuery {
    Printer = 1,
    OfflineCause = 2,
    ErrorCause = 3,
    PaperSensor = 4,
}

impl StatusQuery {
    pub fn command(self) -> [u8; 3] {
        [0x10, 0x04, self as u8]
    }
}

/// Every DLE EOT answer has bits 1 and 4 set and bits 0 and 7 clear.
pub fn is_status_byte(byte: u8) -> bool {
    byte & 0b1001_0011 == 0b0001_0010
}

/// The answers to the queries, as far as they were needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusBytes {
    pub printer: u8,
    pub offline_cause: u8,
    pub error_cause: Option<u8>,
    pub paper: u8,
}

/// Folds the answers into one status, the most serious first.
pub fn decode(bytes: StatusBytes) -> PrinterStatus {
    for byte in [
        Some(bytes.printer),
        Some(bytes.offline_cause),
        bytes.error_cause,
        Some(bytes.paper),
    ]
    .into_iter()
    .flatten()
    {
        if !is_status_byte(byte) {
            return PrinterStatus::Garbled(byte);
        }
    }
    if bytes.offline_cause & 0x04 != 0 {
        return PrinterStatus::CoverOpen;
    }
    if bytes.paper & 0x60 != 0 || bytes.offline_cause & 0x20 != 0 {
        return PrinterStatus::PaperOut;
    }
    if let Some(error) = bytes.error_cause.filter(|e| e & 0x68 != 0) {
        let cause = if error & 0x08 != 0 {
            "auto-cutter error"
        } else if error & 0x20 != 0 {
            "unrecoverable error"
        } else {
            "auto-recoverable error"
        };
        return PrinterStatus::Offline(cause.into());
    }
    if bytes.printer & 0x08 != 0 || bytes.offline_cause & 0x40 != 0 {
        return PrinterStatus::Offline("printer reports offline".into());
    }
    if bytes.paper & 0x0C != 0 {
        return PrinterStatus::PaperNearEnd;
    }
    PrinterStatus::Ready
}

/// Why a query got no usable answer.
enum NoStatus {
    Io(io::Error),
    /// Answered with a byte outside the pattern: stop asking, the rest would be noise too.
    Garbled(u8),
}

impl From<io::Error> for NoStatus {
    fn from(e: io::Error) -> Self {
        NoStatus::Io(e)
    }
}

fn ask(port: &mut dyn SerialPort, query: StatusQuery, timeout: Duration) -> Result<u8, NoStatus> {
    port.write_all(&query.command())?;
    port.flush()?;
    let mut answer = [0u8; 1];
    read_exact_until(port, &mut answer, Instant::now() + timeout)?;
    if !is_status_byte(answer[0]) {
        return Err(NoStatus::Garbled(answer[0]));
    }
    Ok(answer[0])
}

/// Runs the DLE EOT queries on `port`. The error-cause query is only sent when the printer is
/// offline for no reason the other answers explain, to keep the poll short at 9600 baud.
pub fn query(port: &mut dyn SerialPort, timeout: Duration) -> PrinterStatus {
    // Stale bytes from an earlier timed-out answer would shift every answer by one.
    let _ = port.clear(ClearBuffer::Input);
    let result = (|| {
        let printer = ask(port, StatusQuery::Printer, timeout)?;
        let offline_cause = ask(port, StatusQuery::OfflineCause, timeout)?;
        let paper = ask(port, StatusQuery::PaperSensor, timeout)?;
        let unexplained_offline =
            printer & 0x08 != 0 && offline_cause & 0x24 == 0 && paper & 0x60 == 0;
        let error_cause = if unexplained_offline {
            Some(ask(port, StatusQuery::ErrorCause, timeout)?)
        } else {
            None
        };
        Ok::<_, NoStatus>(StatusBytes {
            printer,
            offline_cause,
            error_cause,
            paper,
        })
    })();
    match result {
        Ok(bytes) => decode(bytes),
        Err(NoStatus::Garbled(byte)) => PrinterStatus::Garbled(byte),
        Err(NoStatus::Io(e)) if e.kind() == io::ErrorKind::TimedOut => PrinterStatus::NoAnswer,
        Err(NoStatus::Io(e)) => PrinterStatus::PortFailed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: u8 = 0x12;

    fn bytes(printer: u8, offline_cause: u8, error_cause: Option<u8>, paper: u8) -> StatusBytes {
        StatusBytes {
            printer,
            offline_cause,
            error_cause,
            paper,
        }
    }

    #[test]
    fn query_commands_are_three_bytes() {
        assert_eq!(StatusQuery::Printer.command(), [0x10, 0x04, 0x01]);
        assert_eq!(StatusQuery::OfflineCause.command(), [0x10, 0x04, 0x02]);
        assert_eq!(StatusQuery::ErrorCause.command(), [0x10, 0x04, 0x03]);
        assert_eq!(StatusQuery::PaperSensor.command(), [0x10, 0x04, 0x04]);
    }

    #[test]
    fn decodes_each_condition() {
        assert_eq!(decode(bytes(IDLE, IDLE, None, IDLE)), PrinterStatus::Ready);
        assert_eq!(
            decode(bytes(IDLE, IDLE, None, 0x1E)),
            PrinterStatus::PaperNearEnd
        );
        assert_eq!(
            decode(bytes(0x1A, 0x32, None, 0x72)),
            PrinterStatus::PaperOut
        );
        assert_eq!(
            decode(bytes(0x1A, 0x16, None, IDLE)),
            PrinterStatus::CoverOpen
        );
        assert_eq!(
            decode(bytes(0x1A, 0x52, Some(0x1A), IDLE)),
            PrinterStatus::Offline("auto-cutter error".into())
        );
        assert_eq!(
            decode(bytes(0x1A, IDLE, Some(IDLE), IDLE)),
            PrinterStatus::Offline("printer reports offline".into())
        );
    }

    #[test]
    fn cover_open_wins_over_paper_out() {
        assert_eq!(
            decode(bytes(0x1A, 0x36, None, 0x72)),
            PrinterStatus::CoverOpen
        );
    }

    #[test]
    fn bytes_outside_the_fixed_pattern_are_garbled() {
        assert!(is_status_byte(0x12));
        assert!(!is_status_byte(0x13));
        assert!(!is_status_byte(0x92));
        assert!(!is_status_byte(0x00));
        assert_eq!(
            decode(bytes(IDLE, 0xFF, None, IDLE)),
            PrinterStatus::Garbled(0xFF)
        );
        assert!(PrinterStatus::Garbled(0xFF).fault().is_some());
    }

    #[test]
    fn only_ready_and_near_end_can_print() {
        assert!(PrinterStatus::Ready.can_print());
        assert!(PrinterStatus::PaperNearEnd.can_print());
        for s in [
            PrinterStatus::PaperOut,
            PrinterStatus::CoverOpen,
            PrinterStatus::NoAnswer,
            PrinterStatus::Offline("x".into()),
        ] {
            assert!(!s.can_print(), "{s}");
        }
    }
}
