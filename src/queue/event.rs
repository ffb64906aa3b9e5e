//! Events: the facts the hall records, in the order it recorded them. State is a fold over them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::rating::{CaseNumber, Evaluator, RatedVisit};
use super::ticket::{Appointment, Channel, Citizen, DeviceFault, Rating, SlotRef, TicketId};

/// `kind()` comes from strum with the same case rule as serde's tag, so the name stored and exported
/// beside an event is the `type` its JSON carries; a test holds the two together.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantNames,
)]
#[serde(tag = "type", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
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
        /// The staff member's PIN was checked: the trail shows who proved who they are.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        with_pin: bool,
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
    /// A window's business system asked for a rating of the visit `ticket` under its case number.
    RatingRequested {
        ticket: TicketId,
        window: u16,
        case_number: CaseNumber,
        evaluator: Evaluator,
    },
    TicketRated {
        ticket: TicketId,
        rating: Rating,
        /// The visit as it stood when rated, for the provincial rating system; absent in ratings
        /// recorded before it was kept.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        visit: Option<RatedVisit>,
    },
    AppointmentBooked {
        appointment: Appointment,
    },
    AppointmentCancelled {
        appointment: String,
    },
    /// The platform moved a booking; the citizen checks in for the new slot.
    AppointmentRescheduled {
        appointment: String,
        service: String,
        business_day: NaiveDate,
        start_ms: i64,
        end_ms: i64,
        version: u32,
    },
    /// No pull of bookings has succeeded for the configured time: a booking made since may be
    /// unknown here, and the hall's fallback for stale bookings applies.
    BookingsWentStale {
        last_pull_ms: Option<i64>,
    },
    /// A pull succeeded again: bookings are checked as usual.
    BookingsCurrent,
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
        /// What the kiosk said went wrong, when it said anything.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
}

impl Event {
    /// The event's type name as stored and exported.
    pub fn kind(&self) -> &'static str {
        self.into()
    }

    /// The ticket named in the event's `ticket` field: the store keeps it beside the event to find a
    /// ticket's own events.
    pub fn ticket(&self) -> Option<TicketId> {
        match self {
            Event::TicketIssued { ticket, .. }
            | Event::AppointmentCheckedIn { ticket, .. }
            | Event::TicketCalled { ticket, .. }
            | Event::TicketRecalled { ticket, .. }
            | Event::ServiceStarted { ticket, .. }
            | Event::TicketFinished { ticket, .. }
            | Event::TicketNoShow { ticket, .. }
            | Event::TicketRequeued { ticket, .. }
            | Event::TicketTransferred { ticket, .. }
            | Event::GreenChannelFlagged { ticket }
            | Event::RatingRequested { ticket, .. }
            | Event::TicketRated { ticket, .. }
            | Event::TicketPrinted { ticket }
            | Event::TicketPrintFailed { ticket, .. } => Some(*ticket),
            Event::BusinessDayOpened { .. }
            | Event::StaffSignedIn { .. }
            | Event::StaffSignedOut { .. }
            | Event::ClockConfirmed { .. }
            | Event::WindowPaused { .. }
            | Event::WindowResumed { .. }
            | Event::AppointmentBooked { .. }
            | Event::AppointmentCancelled { .. }
            | Event::AppointmentRescheduled { .. }
            | Event::BookingsWentStale { .. }
            | Event::BookingsCurrent
            | Event::DeviceFaulted { .. }
            | Event::DeviceRecovered { .. } => None,
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

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeSet;

    use strum::VariantNames;

    use super::*;
    use crate::queue::rating::{Indicators, SatisfactionLevel};
    use crate::queue::ticket::{RatingChannel, UnratedWhy};

    /// One event of every kind.
    pub(crate) fn one_of_each() -> Vec<Event> {
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        vec![
            Event::BusinessDayOpened {
                day,
                expired: vec![1],
                unrated: vec![2],
            },
            Event::TicketIssued {
                ticket: 3,
                number: "A001".into(),
                sequence: 1,
                prefix: "A".into(),
                service: "social".into(),
                channel: Channel::Kiosk,
                citizen: None,
                appointment: None,
                at_ms: 10,
                status_token: Some("t".into()),
            },
            Event::AppointmentCheckedIn {
                appointment: "b1".into(),
                ticket: 3,
            },
            Event::StaffSignedIn {
                window: 1,
                staff: "0001".into(),
                with_pin: true,
            },
            Event::StaffSignedOut { window: 1 },
            Event::ClockConfirmed {
                window: 1,
                staff: "0001".into(),
                at_ms: 5,
            },
            Event::TicketCalled {
                ticket: 3,
                window: 1,
                staff: "0001".into(),
                at_ms: 11,
            },
            Event::TicketRecalled {
                ticket: 3,
                window: 1,
                calls: 2,
            },
            Event::ServiceStarted {
                ticket: 3,
                window: 1,
                at_ms: 12,
            },
            Event::TicketFinished {
                ticket: 3,
                window: 1,
                at_ms: 13,
            },
            Event::TicketNoShow {
                ticket: 3,
                window: 1,
            },
            Event::TicketRequeued {
                ticket: 3,
                queue_ms: 14,
            },
            Event::TicketTransferred {
                ticket: 3,
                from_window: 1,
                service: "tax".into(),
                only_window: Some(2),
                queue_ms: 15,
            },
            Event::GreenChannelFlagged { ticket: 3 },
            Event::WindowPaused { window: 1 },
            Event::WindowResumed { window: 1 },
            Event::RatingRequested {
                ticket: 3,
                window: 1,
                case_number: CaseNumber::parse("330102-2026-000123").unwrap(),
                evaluator: Evaluator::Window,
            },
            Event::TicketRated {
                ticket: 3,
                rating: Rating::Rated {
                    level: SatisfactionLevel::VerySatisfied,
                    reasons: Vec::new(),
                    comment: None,
                    channel: RatingChannel::QrCode,
                    indicators: Indicators::default(),
                },
                visit: None,
            },
            Event::TicketRated {
                ticket: 4,
                rating: Rating::Unrated {
                    why: UnratedWhy::Declined,
                },
                visit: None,
            },
            Event::AppointmentBooked {
                appointment: Appointment {
                    id: "b1".into(),
                    service: "social".into(),
                    business_day: day,
                    start_ms: 0,
                    end_ms: 1,
                    id_hash: None,
                    masked_name: None,
                    state: crate::queue::ticket::AppointmentState::Booked,
                    ticket: None,
                    version: 1,
                },
            },
            Event::AppointmentCancelled {
                appointment: "b1".into(),
            },
            Event::AppointmentRescheduled {
                appointment: "b1".into(),
                service: "social".into(),
                business_day: day,
                start_ms: 2,
                end_ms: 3,
                version: 2,
            },
            Event::BookingsWentStale {
                last_pull_ms: Some(1),
            },
            Event::BookingsCurrent,
            Event::DeviceFaulted {
                device: "ticket_printer".into(),
                fault: DeviceFault {
                    code: "paper_out".into(),
                    message: "out of paper".into(),
                },
            },
            Event::DeviceRecovered {
                device: "ticket_printer".into(),
            },
            Event::TicketPrinted { ticket: 3 },
            Event::TicketPrintFailed {
                ticket: 3,
                detail: Some("jam".into()),
            },
        ]
    }

    #[test]
    fn every_kind_is_the_type_serde_writes() {
        let events = one_of_each();
        for event in &events {
            let json = serde_json::to_value(event).unwrap();
            assert_eq!(json["type"], event.kind(), "{json}");
        }
        let sampled: BTreeSet<&str> = events.iter().map(Event::kind).collect();
        let all: BTreeSet<&str> = Event::VARIANTS.iter().copied().collect();
        assert_eq!(sampled, all, "the sample holds one event of every kind");
    }

    /// The store finds a ticket's events by this number where it once read the payload's field.
    #[test]
    fn the_ticket_of_every_event_is_its_ticket_field() {
        for event in one_of_each() {
            let json = serde_json::to_value(&event).unwrap();
            assert_eq!(
                event.ticket(),
                json.get("ticket").map(|t| t.as_u64().unwrap()),
                "{json}"
            );
        }
    }

    #[test]
    fn a_rating_stored_before_levels_indicators_and_visits_reads_as_it_was() {
        let stored = r#"{"type": "ticket_rated", "ticket": 3,
            "rating": {"kind": "rated", "score": 4, "reasons": ["fast"], "comment": null,
                       "channel": "window_tablet"}}"#;
        let read: Event = serde_json::from_str(stored).unwrap();
        assert_eq!(
            read,
            Event::TicketRated {
                ticket: 3,
                rating: Rating::Rated {
                    level: SatisfactionLevel::Satisfied,
                    reasons: vec!["fast".into()],
                    comment: None,
                    channel: RatingChannel::WindowTablet,
                    indicators: Indicators::default(),
                },
                visit: None,
            }
        );
        let written = serde_json::to_value(&read).unwrap();
        assert_eq!(
            written["rating"]["score"], 4,
            "the level is still written as the score"
        );
        assert!(written["rating"].get("indicators").is_none());
        assert!(written.get("visit").is_none());
    }
}
