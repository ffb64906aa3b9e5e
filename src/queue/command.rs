//! Commands: everything that may change the hall, as asked by a kiosk, a window, a device or the platform.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::ticket::{CitizenCard, DeviceFault, RatingChannel, UnratedWhy};

/// Where a transferred ticket goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TransferTarget {
    /// Into another service's queue; any window serving it may call it.
    Service(String),
    /// To one window only.
    Window(u16),
}

/// A citizen's rating as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RatingInput {
    Rated {
        score: u8,
        #[serde(default)]
        reasons: Vec<String>,
        #[serde(default)]
        comment: Option<String>,
        channel: RatingChannel,
    },
    Unrated {
        why: UnratedWhy,
    },
}

/// A booking as the platform sends it down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Booking {
    pub id: String,
    pub service: String,
    pub day: NaiveDate,
    /// Slot start and end in local time, "HH:MM".
    pub start: String,
    pub end: String,
    pub id_hash: String,
    pub masked_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// A walk-in citizen takes a number for a service.
    IssueTicket {
        service: String,
        #[serde(default)]
        citizen: Option<CitizenCard>,
        #[serde(default)]
        by_staff: bool,
    },
    /// A booked citizen taps their ID card at the kiosk.
    CheckIn {
        citizen: CitizenCard,
    },
    SignIn {
        window: u16,
        staff: String,
    },
    SignOut {
        window: u16,
    },
    /// Staff at a window confirm the hall's date and time (local, in the hall's time zone), vouching for
    /// the clock for the rest of this boot when neither NTP nor the platform does.
    ConfirmClock {
        window: u16,
        local: chrono::NaiveDateTime,
    },
    CallNext {
        window: u16,
    },
    Recall {
        window: u16,
    },
    StartService {
        window: u16,
    },
    Finish {
        window: u16,
    },
    NoShow {
        window: u16,
    },
    Transfer {
        window: u16,
        to: TransferTarget,
    },
    Pause {
        window: u16,
    },
    Resume {
        window: u16,
    },
    /// A no-show citizen came back and asks to queue again with the same number.
    Requeue {
        number: String,
    },
    /// Staff give a waiting ticket the green channel (绿色通道).
    FlagGreenChannel {
        number: String,
    },
    Rate {
        number: String,
        rating: RatingInput,
    },
    /// A booking arrives from the platform.
    Book {
        booking: Booking,
    },
    CancelBooking {
        id: String,
    },
    /// A device reports its condition; only changes become events.
    ReportDevice {
        device: String,
        fault: Option<DeviceFault>,
    },
    /// The kiosk reports whether a ticket came out of the printer.
    RecordPrint {
        number: String,
        printed: bool,
        #[serde(default)]
        detail: Option<String>,
    },
}

impl Command {
    /// The window a command acts for, so the LAN can check a terminal acts only for its own window.
    pub fn window(&self) -> Option<u16> {
        match self {
            Command::SignIn { window, .. }
            | Command::SignOut { window }
            | Command::ConfirmClock { window, .. }
            | Command::CallNext { window }
            | Command::Recall { window }
            | Command::StartService { window }
            | Command::Finish { window }
            | Command::NoShow { window }
            | Command::Transfer { window, .. }
            | Command::Pause { window }
            | Command::Resume { window } => Some(*window),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Command::IssueTicket { .. } => "issue_ticket",
            Command::CheckIn { .. } => "check_in",
            Command::SignIn { .. } => "sign_in",
            Command::SignOut { .. } => "sign_out",
            Command::ConfirmClock { .. } => "confirm_clock",
            Command::CallNext { .. } => "call_next",
            Command::Recall { .. } => "recall",
            Command::StartService { .. } => "start_service",
            Command::Finish { .. } => "finish",
            Command::NoShow { .. } => "no_show",
            Command::Transfer { .. } => "transfer",
            Command::Pause { .. } => "pause",
            Command::Resume { .. } => "resume",
            Command::Requeue { .. } => "requeue",
            Command::FlagGreenChannel { .. } => "flag_green_channel",
            Command::Rate { .. } => "rate",
            Command::Book { .. } => "book",
            Command::CancelBooking { .. } => "cancel_booking",
            Command::ReportDevice { .. } => "report_device",
            Command::RecordPrint { .. } => "record_print",
        }
    }
}
