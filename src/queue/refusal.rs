//! Why a command was refused, in words staff and citizens can act on. A refusal changes nothing.

use serde::{Deserialize, Serialize};

use super::ticket::TicketState;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("unknown service \"{0}\"")]
    UnknownService(String),
    #[error("there is no window {0}")]
    UnknownWindow(u16),
    #[error("no ticket {0} today")]
    UnknownTicket(String),
    #[error("the hall is closed{}", opens_at.as_ref().map(|t| format!("; it opens at {t}")).unwrap_or_default())]
    HallClosed { opens_at: Option<String> },
    #[error("{service} has issued all {cap} tickets for today")]
    DailyCapReached { service: String, cap: u32 },
    #[error("{0} needs your ID card: please place it on the reader")]
    IdCardRequired(String),
    #[error("{0} is by appointment only: please check in with your ID card")]
    AppointmentOnly(String),
    #[error("you already hold ticket {0} for this service")]
    AlreadyHoldsTicket(String),
    #[error("{0} does not take an expired ID card")]
    CardExpired(String),
    #[error("no booking today for this ID card")]
    NoBooking,
    #[error("your slot is {slot}; check-in opens at {check_in_from}")]
    TooEarly { slot: String, check_in_from: String },
    #[error("your slot was {slot}; check-in closed at {check_in_until}. Please book a new slot")]
    TooLate {
        slot: String,
        check_in_until: String,
    },
    #[error("no staff member is signed in at window {0}")]
    NotSignedIn(u16),
    #[error("staff {staff} is already signed in at window {window}")]
    AlreadySignedIn { window: u16, staff: String },
    #[error("staff {staff} is signed in at window {window}: sign out there first")]
    StaffAtAnotherWindow { staff: String, window: u16 },
    #[error("this hall asks for the staff PIN as well as the number")]
    StaffPinRequired,
    #[error("wrong staff number or PIN")]
    WrongStaffPin,
    #[error("too many wrong PINs: staff number {staff} is locked for {minutes} minutes")]
    StaffLocked { staff: String, minutes: u32 },
    #[error("window {0} is paused")]
    WindowPaused(u16),
    #[error("window {0} is not paused")]
    WindowNotPaused(u16),
    #[error("window {window} still has {number}: finish it, mark it no-show or transfer it first")]
    WindowBusy { window: u16, number: String },
    #[error("window {0} has no called ticket")]
    NoCurrentTicket(u16),
    #[error("no ticket is waiting for window {0}")]
    QueueEmpty(u16),
    #[error("cannot {action} {number}: it is {}", state_words(*state))]
    WrongState {
        number: String,
        state: TicketState,
        action: &'static str,
    },
    #[error("{number} has been recalled {limit} times: mark it no-show")]
    RecallLimit { number: String, limit: u8 },
    #[error("this hall does not re-queue no-show tickets")]
    RequeueOff,
    #[error("{0} has already been re-queued once")]
    AlreadyRequeued(String),
    #[error("this hall has no green channel")]
    GreenChannelOff,
    #[error("{0} is already in the green channel")]
    AlreadyGreen(String),
    #[error("{0} has already been rated")]
    AlreadyRated(String),
    #[error("window {0} has no finished visit waiting for a rating")]
    NothingToRate(u16),
    #[error("{number} was not served at window {window}")]
    NotServedHere { number: String, window: u16 },
    #[error("{number} is not up for rating under case {case_number}")]
    CaseMismatch { number: String, case_number: String },
    #[error("the print of {0} is already recorded")]
    PrintAlreadyRecorded(String),
    #[error("booking {0} already exists")]
    DuplicateBooking(String),
    #[error("no booking {0}")]
    UnknownBooking(String),
    #[error("booking {0} is already checked in or cancelled")]
    BookingClosed(String),
    #[error(
        "the hall's list of bookings is out of date, so your booking cannot be checked here. Please ask the staff at a window to check you in"
    )]
    BookingsStaleAskStaff,
    #[error("{0}")]
    Invalid(String),
}

fn state_words(state: TicketState) -> &'static str {
    match state {
        TicketState::Waiting => "still waiting",
        TicketState::Called => "called, not yet being served",
        TicketState::Serving => "being served",
        TicketState::Finished => "finished",
        TicketState::NoShow => "marked no-show",
        TicketState::Expired => "expired",
    }
}

impl Refusal {
    /// A stable machine-readable code for terminals and the API.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::UnknownService(_) => "unknown_service",
            Refusal::UnknownWindow(_) => "unknown_window",
            Refusal::UnknownTicket(_) => "unknown_ticket",
            Refusal::HallClosed { .. } => "hall_closed",
            Refusal::DailyCapReached { .. } => "daily_cap_reached",
            Refusal::IdCardRequired(_) => "id_card_required",
            Refusal::AppointmentOnly(_) => "appointment_only",
            Refusal::AlreadyHoldsTicket(_) => "already_holds_ticket",
            Refusal::CardExpired(_) => "card_expired",
            Refusal::NoBooking => "no_booking",
            Refusal::TooEarly { .. } => "too_early",
            Refusal::TooLate { .. } => "too_late",
            Refusal::NotSignedIn(_) => "not_signed_in",
            Refusal::AlreadySignedIn { .. } => "already_signed_in",
            Refusal::StaffAtAnotherWindow { .. } => "staff_at_another_window",
            Refusal::StaffPinRequired => "staff_pin_required",
            Refusal::WrongStaffPin => "wrong_staff_pin",
            Refusal::StaffLocked { .. } => "staff_locked",
            Refusal::WindowPaused(_) => "window_paused",
            Refusal::WindowNotPaused(_) => "window_not_paused",
            Refusal::WindowBusy { .. } => "window_busy",
            Refusal::NoCurrentTicket(_) => "no_current_ticket",
            Refusal::QueueEmpty(_) => "queue_empty",
            Refusal::WrongState { .. } => "wrong_state",
            Refusal::RecallLimit { .. } => "recall_limit",
            Refusal::RequeueOff => "requeue_off",
            Refusal::AlreadyRequeued(_) => "already_requeued",
            Refusal::GreenChannelOff => "green_channel_off",
            Refusal::AlreadyGreen(_) => "already_green",
            Refusal::AlreadyRated(_) => "already_rated",
            Refusal::NothingToRate(_) => "nothing_to_rate",
            Refusal::NotServedHere { .. } => "not_served_here",
            Refusal::CaseMismatch { .. } => "case_mismatch",
            Refusal::PrintAlreadyRecorded(_) => "print_already_recorded",
            Refusal::DuplicateBooking(_) => "duplicate_booking",
            Refusal::UnknownBooking(_) => "unknown_booking",
            Refusal::BookingClosed(_) => "booking_closed",
            Refusal::BookingsStaleAskStaff => "bookings_stale_ask_staff",
            Refusal::Invalid(_) => "invalid",
        }
    }

    /// The form a refusal is stored and sent in.
    pub fn to_wire(&self) -> RefusalWire {
        RefusalWire {
            code: self.code().to_string(),
            message: self.to_string(),
        }
    }
}

/// A refusal as stored for idempotent replies and sent over the LAN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalWire {
    pub code: String,
    pub message: String,
}
