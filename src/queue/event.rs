//! Events: the facts the hall records, in the order it recorded them. State is a fold over them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::ticket::{Appointment, Channel, Citizen, DeviceFault, Rating, SlotRef, TicketId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The first event of a business day: numbering restarts, yesterday's open tickets close.
    BusinessDayOpened {
        day: NaiveDate,
        expired: Vec<TicketId>,
        unrated: Vec<TicketId>,
    },
    TicketIssued {
        ticket: TicketId,
        number: String,
        /// The daily sequence behind the number, kept so numbering resumes exactly after a restart.
        sequence: u32,
        prefix: String,
        service: String,
        channel: Channel,
        citizen: Option<Citizen>,
        appointment: Option<SlotRef>,
        at_ms: i64,
        /// The ticket's status-link token, drawn by the engine; absent in events stored before
        /// tokens existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status_token: Option<String>,
    },
    AppointmentCheckedIn {
        appointment: String,
        ticket: TicketId,
    },
    StaffSignedIn {
        window: u16,
        staff: String,
    },
    StaffSignedOut {
        window: u16,
    },
    /// Staff confirmed the date and time: from the next event on, the hall's time counts from `at_ms`
    /// for the rest of this boot, unless the system vouches for its own clock.
    ClockConfirmed {
        window: u16,
        staff: String,
        at_ms: i64,
    },
    TicketCalled {
        ticket: TicketId,
        window: u16,
        staff: String,
        at_ms: i64,
    },
    TicketRecalled {
        ticket: TicketId,
        window: u16,
        /// Calls so far, the first one included.
        calls: u8,
    },
    ServiceStarted {
        ticket: TicketId,
        window: u16,
        at_ms: i64,
    },
    TicketFinished {
        ticket: TicketId,
        window: u16,
        at_ms: i64,
    },
    TicketNoShow {
        ticket: TicketId,
        window: u16,
    },
    TicketRequeued {
        ticket: TicketId,
        queue_ms: i64,
    },
    TicketTransferred {
        ticket: TicketId,
        from_window: u16,
        service: String,
        only_window: Option<u16>,
        queue_ms: i64,
    },
    GreenChannelFlagged {
        ticket: TicketId,
    },
    WindowPaused {
        window: u16,
    },
    WindowResumed {
        window: u16,
    },
    TicketRated {
        ticket: TicketId,
        rating: Rating,
    },
    AppointmentBooked {
        appointment: Appointment,
    },
    AppointmentCancelled {
        appointment: String,
    },
    DeviceFaulted {
        device: String,
        fault: DeviceFault,
    },
    DeviceRecovered {
        device: String,
    },
    TicketPrinted {
        ticket: TicketId,
    },
    TicketPrintFailed {
        ticket: TicketId,
        detail: String,
    },
}

impl Event {
    /// The event's type name as stored and exported.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::BusinessDayOpened { .. } => "business_day_opened",
            Event::TicketIssued { .. } => "ticket_issued",
            Event::AppointmentCheckedIn { .. } => "appointment_checked_in",
            Event::StaffSignedIn { .. } => "staff_signed_in",
            Event::StaffSignedOut { .. } => "staff_signed_out",
            Event::ClockConfirmed { .. } => "clock_confirmed",
            Event::TicketCalled { .. } => "ticket_called",
            Event::TicketRecalled { .. } => "ticket_recalled",
            Event::ServiceStarted { .. } => "service_started",
            Event::TicketFinished { .. } => "ticket_finished",
            Event::TicketNoShow { .. } => "ticket_no_show",
            Event::TicketRequeued { .. } => "ticket_requeued",
            Event::TicketTransferred { .. } => "ticket_transferred",
            Event::GreenChannelFlagged { .. } => "green_channel_flagged",
            Event::WindowPaused { .. } => "window_paused",
            Event::WindowResumed { .. } => "window_resumed",
            Event::TicketRated { .. } => "ticket_rated",
            Event::AppointmentBooked { .. } => "appointment_booked",
            Event::AppointmentCancelled { .. } => "appointment_cancelled",
            Event::DeviceFaulted { .. } => "device_faulted",
            Event::DeviceRecovered { .. } => "device_recovered",
            Event::TicketPrinted { .. } => "ticket_printed",
            Event::TicketPrintFailed { .. } => "ticket_print_failed",
        }
    }
}

/// When and under which clock an event was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// The wall clock as read, in ms since the Unix epoch.
    pub wall_ms: i64,
    /// The hall's time: the wall clock, or the monotonic clock's count from the last good reading when
    /// the wall clock jumped. Domain rules use this one.
    pub hall_ms: i64,
    pub boot_id: String,
    pub mono_ms: i64,
    pub clock_trusted: bool,
    pub business_day: NaiveDate,
}

/// An event as stored in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Per-hall, gap-free, starting at 1.
    pub seq: u64,
    pub event_id: uuid::Uuid,
    pub hall_id: String,
    pub command_id: Option<String>,
    pub recorded: Recorded,
    pub event: Event,
}
