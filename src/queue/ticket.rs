//! Tickets, windows and appointments as the domain sees them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::rating::{Indicators, RatingRequest, SatisfactionLevel};

/// A ticket's identity inside the hall, assigned in issue order and never reused.
pub type TicketId = u64;

/// Where a ticket is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    Waiting,
    Called,
    Serving,
    Finished,
    /// 过号: called and did not come.
    NoShow,
    /// Still open when its business day ended.
    Expired,
}

impl TicketState {
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TicketState::Waiting | TicketState::Called | TicketState::Serving
        )
    }
}

/// What the ID card reader tells the engine about a citizen: never the ID number or the photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CitizenCard {
    /// Keyed hash of the ID number: matches appointments and per-person limits without keeping the number.
    pub id_hash: String,
    /// The name as screens may show it, e.g. 张*三.
    pub masked_name: String,
    #[serde(default)]
    pub birth_date: Option<NaiveDate>,
}

/// The citizen a ticket belongs to, when known from an ID card or a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citizen {
    /// Empty in a terminal's copy of the state: ID hashes stay on the hall node.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id_hash: String,
    pub masked_name: String,
    pub senior: bool,
}

/// How the ticket was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    #[default]
    Kiosk,
    /// Issued by staff at a window or the reception desk.
    Staff,
    /// Checked in from an online booking.
    Appointment,
}

/// A booked slot, as far as a ticket needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotRef {
    pub appointment_id: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A citizen's verdict on one visit (好差评). `Unrated` is recorded as such, never as a default score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rating {
    Rated {
        /// 非常满意 … 非常不满意, stored as the score 5 … 1 it has always been stored as.
        #[serde(rename = "score")]
        level: SatisfactionLevel,
        reasons: Vec<String>,
        comment: Option<String>,
        channel: RatingChannel,
        /// The offline indicators the citizen rated; absent in ratings recorded before them.
        #[serde(default, skip_serializing_if = "Indicators::is_empty")]
        indicators: Indicators,
    },
    Unrated {
        why: UnratedWhy,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingChannel {
    /// The rating screen at the window (the window's evaluator).
    WindowTablet,
    /// Another terminal in the hall: a self-service kiosk the business system opened the rating on.
    HallTerminal,
    /// The QR code on the ticket.
    QrCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnratedWhy {
    /// The rating prompt timed out.
    TimedOut,
    /// The citizen chose not to rate.
    Declined,
    /// The business day ended with the visit still unrated.
    DayClosed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    /// Prefix and daily sequence, e.g. "A012": the same everywhere it is shown.
    pub number: String,
    pub business_day: NaiveDate,
    pub service: String,
    pub channel: Channel,
    pub issued_ms: i64,
    /// Its place in the queue: the issue time, unless a re-queue or a transfer moved it.
    pub queue_ms: i64,
    pub state: TicketState,
    /// The window that called or serves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u16>,
    /// Set when transferred to one window: no other window may call it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_window: Option<u16>,
    /// Calls so far, the first one included.
    pub calls: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_called_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_ms: Option<i64>,
    /// 工号 of the staff member who served it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citizen: Option<Citizen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment: Option<SlotRef>,
    /// 绿色通道, flagged by staff.
    pub green: bool,
    pub requeued: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
    /// The rating the window's business system asked for, while the citizen has not given it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating_request: Option<RatingRequest>,
    pub print: PrintState,
    /// The secret part of the ticket's status link (`[ticket] status_base_url` + token): drawn at
    /// random when the ticket is issued, so one ticket's link does not lead to another's. Tickets
    /// recorded before tokens existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PrintState {
    /// No printer outcome reported (e.g. a ticket issued at a window, or still printing).
    #[default]
    Unknown,
    Printed,
    /// The citizen got the number on screen instead.
    Failed,
}

impl Ticket {
    pub fn is_priority(&self) -> bool {
        self.green || self.citizen.as_ref().is_some_and(|c| c.senior)
    }
}

/// Random bytes behind a status token: 128 bits, far beyond what walking the links could guess.
pub use crate::identity::STATUS_TOKEN_BYTES;

/// Formats a ticket number: the service letter and the day's sequence, at least three digits.
pub fn ticket_number(prefix: &str, sequence: u32) -> String {
    format!("{prefix}{sequence:03}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WindowState {
    pub number: u16,
    /// 工号 of the staff member signed in, if any.
    pub staff: Option<String>,
    pub paused: bool,
    /// The ticket called to or served at this window.
    pub current: Option<TicketId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentState {
    Booked,
    CheckedIn,
    Cancelled,
}

/// A slot booked online, pulled from the platform, waiting for its citizen to check in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    pub id: String,
    pub service: String,
    pub business_day: NaiveDate,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Cleared once the citizen has checked in: the booking no longer needs to know who it was.
    pub id_hash: Option<String>,
    pub masked_name: Option<String>,
    pub state: AppointmentState,
    pub ticket: Option<TicketId>,
    /// The platform's change count of the booking as last taken (1 for events stored before it).
    #[serde(default = "first_version")]
    pub version: u32,
}

fn first_version() -> u32 {
    1
}

/// A device's condition as the hall sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceFault {
    /// Short machine-readable code, e.g. `paper_out`.
    pub code: String,
    /// What staff should read, e.g. "Kiosk printer: out of paper".
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_prefix_and_zero_padded_sequence() {
        assert_eq!(ticket_number("A", 1), "A001");
        assert_eq!(ticket_number("B", 42), "B042");
        assert_eq!(ticket_number("C", 999), "C999");
        assert_eq!(ticket_number("C", 1000), "C1000");
    }
}
