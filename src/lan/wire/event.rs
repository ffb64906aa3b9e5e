//! The event log as terminals receive it on the push stream.
//!
//! A [`TerminalEvent`] is built from the stored event by [`TerminalEvent::for_terminals`], field by
//! field: its body has no place for a citizen's name or age, so a display wall cannot be sent them.
//! Those travel apart, in [`Personal`], and only to terminals whose work needs them (a window
//! terminal showing staff who is at the counter). No terminal receives an ID hash: the hall node
//! matches cards to bookings itself, and the event's ticket or booking is the terminal's reference
//! to the citizen. The
//! conversion names every field of every domain event, so a field added to a domain event does not
//! compile until someone decides which side of that line it belongs on.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::command::{DeviceFault, Indicators, RatingChannel, UnratedWhy};
use crate::queue::{self, Event, StoredEvent};

/// The shape of [`TerminalEvent`], sent in each as `v`. It changes when a field changes meaning or
/// goes away; a new optional field does not change it. 2: `personal` lost `id_hash`.
pub const EVENT_VERSION: u32 = 2;

/// Who receives an event: the lobby's walls get no personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Kiosks, window terminals and admin tools: they handle citizens' cards and serve them.
    Staff,
    /// Display walls, read by everyone in the lobby.
    Lobby,
}

/// One event of the hall's log, as the push stream sends it in `data:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TerminalEvent {
    /// The shape of this message; 2 today.
    #[schema(minimum = 2)]
    pub v: u32,
    /// Per-hall, gap-free, from 1; also the message's SSE `id:`.
    #[schema(minimum = 1, maximum = 9223372036854775807_i64)]
    pub seq: u64,
    #[schema(value_type = String, format = Uuid)]
    pub event_id: uuid::Uuid,
    pub hall_id: String,
    /// The command that caused it, as the hall node keeps it; `null` for the hall's own events.
    pub command_id: Option<String>,
    pub recorded: Recorded,
    pub event: EventBody,
    /// The personal data of a `ticket_issued` or `appointment_booked` event; never sent to a display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<Personal>,
}

/// When and under which clock an event was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Recorded {
    /// The wall clock as read, ms since the Unix epoch.
    pub wall_ms: i64,
    /// The hall's time, which the queue's rules use (docs/time.md).
    pub hall_ms: i64,
    pub boot_id: String,
    pub mono_ms: i64,
    pub clock_trusted: bool,
    pub business_day: NaiveDate,
}

/// What happened, tagged by `type` (also the message's SSE `event:`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    BusinessDayOpened {
        day: NaiveDate,
        expired: Vec<u64>,
        unrated: Vec<u64>,
    },
    /// Its citizen, if any, is in `personal`.
    TicketIssued {
        ticket: u64,
        number: String,
        sequence: u32,
        prefix: String,
        service: String,
        channel: Channel,
        appointment: Option<SlotRef>,
        at_ms: i64,
        /// The secret part of the ticket's status link.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status_token: Option<String>,
    },
    AppointmentCheckedIn {
        appointment: String,
        ticket: u64,
    },
    StaffSignedIn {
        window: u16,
        staff: String,
        /// The staff member's PIN was checked.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        with_pin: bool,
    },
    StaffSignedOut {
        window: u16,
    },
    ClockConfirmed {
        window: u16,
        staff: String,
        at_ms: i64,
    },
    TicketCalled {
        ticket: u64,
        window: u16,
        staff: String,
        at_ms: i64,
    },
    TicketRecalled {
        ticket: u64,
        window: u16,
        calls: u8,
    },
    ServiceStarted {
        ticket: u64,
        window: u16,
        at_ms: i64,
    },
    TicketFinished {
        ticket: u64,
        window: u16,
        at_ms: i64,
    },
    TicketNoShow {
        ticket: u64,
        window: u16,
    },
    TicketRequeued {
        ticket: u64,
        queue_ms: i64,
    },
    TicketTransferred {
        ticket: u64,
        from_window: u16,
        service: String,
        only_window: Option<u16>,
        queue_ms: i64,
    },
    GreenChannelFlagged {
        ticket: u64,
    },
    WindowPaused {
        window: u16,
    },
    WindowResumed {
        window: u16,
    },
    /// A window's business system asked for a rating of the visit: the evaluator named opens for it.
    RatingRequested {
        ticket: u64,
        window: u16,
        #[schema(value_type = String)]
        case_number: queue::CaseNumber,
        evaluator: Evaluator,
    },
    TicketRated {
        ticket: u64,
        rating: Rating,
        /// The visit as it stood when rated; absent in ratings recorded before it was kept.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        visit: Option<RatedVisit>,
    },
    /// Its citizen is in `personal`.
    AppointmentBooked {
        appointment: Appointment,
    },
    AppointmentCancelled {
        appointment: String,
    },
    /// The platform moved a booking to another slot, day or service.
    AppointmentRescheduled {
        appointment: String,
        service: String,
        business_day: NaiveDate,
        start_ms: i64,
        end_ms: i64,
        version: u32,
    },
    /// The hall's list of bookings is out of date: the kiosk tells staff.
    BookingsWentStale {
        last_pull_ms: Option<i64>,
    },
    BookingsCurrent,
    DeviceFaulted {
        device: String,
        fault: DeviceFault,
    },
    DeviceRecovered {
        device: String,
    },
    TicketPrinted {
        ticket: u64,
    },
    TicketPrintFailed {
        ticket: u64,
        /// What the kiosk said went wrong, when it said anything.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
}

/// Personal data that belongs to one event, tagged by `of`: masked names only. The event's ticket
/// (or booking) is the reference to its citizen; ID hashes stay on the hall node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "of", rename_all = "snake_case")]
pub enum Personal {
    /// The citizen a `ticket_issued` event's ticket belongs to.
    TicketHolder { masked_name: String, senior: bool },
    /// The citizen an `appointment_booked` event's booking is for.
    BookingHolder { masked_name: Option<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Kiosk,
    Staff,
    Appointment,
}

/// A booked slot, as far as a ticket needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlotRef {
    pub appointment_id: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rating {
    Rated {
        /// The level: 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意.
        #[schema(value_type = u8, minimum = 1, maximum = 5)]
        score: queue::SatisfactionLevel,
        reasons: Vec<String>,
        comment: Option<String>,
        channel: RatingChannel,
        #[serde(default, skip_serializing_if = "Indicators::is_empty")]
        indicators: Indicators,
    },
    Unrated {
        why: UnratedWhy,
    },
}

/// Where a rating request opens the rating screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "at", rename_all = "snake_case", deny_unknown_fields)]
pub enum Evaluator {
    /// The window's own evaluator.
    Window,
    /// The paired kiosk of this name.
    Kiosk { name: String },
}

/// The visit a rating is about, as it stood when rated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RatedVisit {
    pub window: Option<u16>,
    /// 工号 of the staff member who served it.
    pub staff: Option<String>,
    pub service: String,
    /// 事项编码 of the service, when the hall set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_code: Option<String>,
    /// 办件编号, when a business system asked for the rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub case_number: Option<queue::CaseNumber>,
    pub at_ms: i64,
}

impl From<queue::Evaluator> for Evaluator {
    fn from(evaluator: queue::Evaluator) -> Evaluator {
        match evaluator {
            queue::Evaluator::Window => Evaluator::Window,
            queue::Evaluator::Kiosk { name } => Evaluator::Kiosk { name },
        }
    }
}

impl From<Evaluator> for queue::Evaluator {
    fn from(evaluator: Evaluator) -> queue::Evaluator {
        match evaluator {
            Evaluator::Window => queue::Evaluator::Window,
            Evaluator::Kiosk { name } => queue::Evaluator::Kiosk { name },
        }
    }
}

impl From<queue::RatedVisit> for RatedVisit {
    fn from(
        queue::RatedVisit {
            window,
            staff,
            service,
            item_code,
            case_number,
            at_ms,
        }: queue::RatedVisit,
    ) -> RatedVisit {
        RatedVisit {
            window,
            staff,
            service,
            item_code,
            case_number,
            at_ms,
        }
    }
}

impl From<RatedVisit> for queue::RatedVisit {
    fn from(
        RatedVisit {
            window,
            staff,
            service,
            item_code,
            case_number,
            at_ms,
        }: RatedVisit,
    ) -> queue::RatedVisit {
        queue::RatedVisit {
            window,
            staff,
            service,
            item_code,
            case_number,
            at_ms,
        }
    }
}

/// A booked slot without who booked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Appointment {
    pub id: String,
    pub service: String,
    pub business_day: NaiveDate,
    pub start_ms: i64,
    pub end_ms: i64,
    pub state: AppointmentState,
    pub ticket: Option<u64>,
    /// The platform's change count of the booking.
    #[serde(default = "first_version")]
    pub version: u32,
}

fn first_version() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentState {
    Booked,
    CheckedIn,
    Cancelled,
}

impl TerminalEvent {
    /// The stored event as `audience` may receive it.
    pub fn for_terminals(stored: &StoredEvent, audience: Audience) -> TerminalEvent {
        let StoredEvent {
            seq,
            event_id,
            hall_id,
            command_id,
            recorded,
            event,
        } = stored;
        let (event, personal) = EventBody::of(event.clone());
        TerminalEvent {
            v: EVENT_VERSION,
            seq: *seq,
            event_id: *event_id,
            hall_id: hall_id.clone(),
            command_id: command_id.clone(),
            recorded: recorded.clone().into(),
            event,
            personal: personal.filter(|_| audience == Audience::Staff),
        }
    }

    /// The domain event again, for a terminal to fold into its copy of the hall's state. Personal
    /// fields come from `personal` when it was sent, and are empty otherwise.
    pub fn into_stored(self) -> StoredEvent {
        StoredEvent {
            seq: self.seq,
            event_id: self.event_id,
            hall_id: self.hall_id,
            command_id: self.command_id,
            recorded: self.recorded.into(),
            event: self.event.into_domain(self.personal),
        }
    }
}

impl EventBody {
    /// Splits a domain event into what everyone may read and the personal data it carries.
    fn of(event: Event) -> (EventBody, Option<Personal>) {
        let body = match event {
            Event::BusinessDayOpened {
                day,
                expired,
                unrated,
            } => EventBody::BusinessDayOpened {
                day,
                expired,
                unrated,
            },
            Event::TicketIssued {
                ticket,
                number,
                sequence,
                prefix,
                service,
                channel,
                citizen,
                appointment,
                at_ms,
                status_token,
            } => {
                let personal = citizen.map(
                    |queue::Citizen {
                         id_hash: _,
                         masked_name,
                         senior,
                     }| Personal::TicketHolder {
                        masked_name,
                        senior,
                    },
                );
                let body = EventBody::TicketIssued {
                    ticket,
                    number,
                    sequence,
                    prefix,
                    service,
                    channel: channel.into(),
                    appointment: appointment.map(Into::into),
                    at_ms,
                    status_token,
                };
                return (body, personal);
            }
            Event::AppointmentCheckedIn {
                appointment,
                ticket,
            } => EventBody::AppointmentCheckedIn {
                appointment,
                ticket,
            },
            Event::StaffSignedIn {
                window,
                staff,
                with_pin,
            } => EventBody::StaffSignedIn {
                window,
                staff,
                with_pin,
            },
            Event::StaffSignedOut { window } => EventBody::StaffSignedOut { window },
            Event::ClockConfirmed {
                window,
                staff,
                at_ms,
            } => EventBody::ClockConfirmed {
                window,
                staff,
                at_ms,
            },
            Event::TicketCalled {
                ticket,
                window,
                staff,
                at_ms,
            } => EventBody::TicketCalled {
                ticket,
                window,
                staff,
                at_ms,
            },
            Event::TicketRecalled {
                ticket,
                window,
                calls,
            } => EventBody::TicketRecalled {
                ticket,
                window,
                calls,
            },
            Event::ServiceStarted {
                ticket,
                window,
                at_ms,
            } => EventBody::ServiceStarted {
                ticket,
                window,
                at_ms,
            },
            Event::TicketFinished {
                ticket,
                window,
                at_ms,
            } => EventBody::TicketFinished {
                ticket,
                window,
                at_ms,
            },
            Event::TicketNoShow { ticket, window } => EventBody::TicketNoShow { ticket, window },
            Event::TicketRequeued { ticket, queue_ms } => {
                EventBody::TicketRequeued { ticket, queue_ms }
            }
            Event::TicketTransferred {
                ticket,
                from_window,
                service,
                only_window,
                queue_ms,
            } => EventBody::TicketTransferred {
                ticket,
                from_window,
                service,
                only_window,
                queue_ms,
            },
            Event::GreenChannelFlagged { ticket } => EventBody::GreenChannelFlagged { ticket },
            Event::WindowPaused { window } => EventBody::WindowPaused { window },
            Event::WindowResumed { window } => EventBody::WindowResumed { window },
            Event::RatingRequested {
                ticket,
                window,
                case_number,
                evaluator,
            } => EventBody::RatingRequested {
                ticket,
                window,
                case_number,
                evaluator: evaluator.into(),
            },
            Event::TicketRated {
                ticket,
                rating,
                visit,
            } => EventBody::TicketRated {
                ticket,
                rating: rating.into(),
                visit: visit.map(Into::into),
            },
            Event::AppointmentBooked {
                appointment:
                    queue::Appointment {
                        id,
                        service,
                        business_day,
                        start_ms,
                        end_ms,
                        id_hash: _,
                        masked_name,
                        state,
                        ticket,
                        version,
                    },
            } => {
                let body = EventBody::AppointmentBooked {
                    appointment: Appointment {
                        id,
                        service,
                        business_day,
                        start_ms,
                        end_ms,
                        state: state.into(),
                        ticket,
                        version,
                    },
                };
                let personal = masked_name
                    .is_some()
                    .then_some(Personal::BookingHolder { masked_name });
                return (body, personal);
            }
            Event::AppointmentCancelled { appointment } => {
                EventBody::AppointmentCancelled { appointment }
            }
            Event::AppointmentRescheduled {
                appointment,
                service,
                business_day,
                start_ms,
                end_ms,
                version,
            } => EventBody::AppointmentRescheduled {
                appointment,
                service,
                business_day,
                start_ms,
                end_ms,
                version,
            },
            Event::BookingsWentStale { last_pull_ms } => {
                EventBody::BookingsWentStale { last_pull_ms }
            }
            Event::BookingsCurrent => EventBody::BookingsCurrent,
            Event::DeviceFaulted { device, fault } => EventBody::DeviceFaulted {
                device,
                fault: fault.into(),
            },
            Event::DeviceRecovered { device } => EventBody::DeviceRecovered { device },
            Event::TicketPrinted { ticket } => EventBody::TicketPrinted { ticket },
            Event::TicketPrintFailed { ticket, detail } => {
                EventBody::TicketPrintFailed { ticket, detail }
            }
        };
        (body, None)
    }

    /// The domain event, with the personal data `personal` holds for it, if any.
    fn into_domain(self, personal: Option<Personal>) -> Event {
        match self {
            EventBody::BusinessDayOpened {
                day,
                expired,
                unrated,
            } => Event::BusinessDayOpened {
                day,
                expired,
                unrated,
            },
            EventBody::TicketIssued {
                ticket,
                number,
                sequence,
                prefix,
                service,
                channel,
                appointment,
                at_ms,
                status_token,
            } => Event::TicketIssued {
                ticket,
                number,
                sequence,
                prefix,
                service,
                channel: channel.into(),
                citizen: match personal {
                    Some(Personal::TicketHolder {
                        masked_name,
                        senior,
                    }) => Some(queue::Citizen {
                        id_hash: String::new(),
                        masked_name,
                        senior,
                    }),
                    _ => None,
                },
                appointment: appointment.map(Into::into),
                at_ms,
                status_token,
            },
            EventBody::AppointmentCheckedIn {
                appointment,
                ticket,
            } => Event::AppointmentCheckedIn {
                appointment,
                ticket,
            },
            EventBody::StaffSignedIn {
                window,
                staff,
                with_pin,
            } => Event::StaffSignedIn {
                window,
                staff,
                with_pin,
            },
            EventBody::StaffSignedOut { window } => Event::StaffSignedOut { window },
            EventBody::ClockConfirmed {
                window,
                staff,
                at_ms,
            } => Event::ClockConfirmed {
                window,
                staff,
                at_ms,
            },
            EventBody::TicketCalled {
                ticket,
                window,
                staff,
                at_ms,
            } => Event::TicketCalled {
                ticket,
                window,
                staff,
                at_ms,
            },
            EventBody::TicketRecalled {
                ticket,
                window,
                calls,
            } => Event::TicketRecalled {
                ticket,
                window,
                calls,
            },
            EventBody::ServiceStarted {
                ticket,
                window,
                at_ms,
            } => Event::ServiceStarted {
                ticket,
                window,
                at_ms,
            },
            EventBody::TicketFinished {
                ticket,
                window,
                at_ms,
            } => Event::TicketFinished {
                ticket,
                window,
                at_ms,
            },
            EventBody::TicketNoShow { ticket, window } => Event::TicketNoShow { ticket, window },
            EventBody::TicketRequeued { ticket, queue_ms } => {
                Event::TicketRequeued { ticket, queue_ms }
            }
            EventBody::TicketTransferred {
                ticket,
                from_window,
                service,
                only_window,
                queue_ms,
            } => Event::TicketTransferred {
                ticket,
                from_window,
                service,
                only_window,
                queue_ms,
            },
            EventBody::GreenChannelFlagged { ticket } => Event::GreenChannelFlagged { ticket },
            EventBody::WindowPaused { window } => Event::WindowPaused { window },
            EventBody::WindowResumed { window } => Event::WindowResumed { window },
            EventBody::RatingRequested {
                ticket,
                window,
                case_number,
                evaluator,
            } => Event::RatingRequested {
                ticket,
                window,
                case_number,
                evaluator: evaluator.into(),
            },
            EventBody::TicketRated {
                ticket,
                rating,
                visit,
            } => Event::TicketRated {
                ticket,
                rating: rating.into(),
                visit: visit.map(Into::into),
            },
            EventBody::AppointmentBooked {
                appointment:
                    Appointment {
                        id,
                        service,
                        business_day,
                        start_ms,
                        end_ms,
                        state,
                        ticket,
                        version,
                    },
            } => {
                let masked_name = match personal {
                    Some(Personal::BookingHolder { masked_name }) => masked_name,
                    _ => None,
                };
                Event::AppointmentBooked {
                    appointment: queue::Appointment {
                        id,
                        service,
                        business_day,
                        start_ms,
                        end_ms,
                        id_hash: None,
                        masked_name,
                        state: state.into(),
                        ticket,
                        version,
                    },
                }
            }
            EventBody::AppointmentCancelled { appointment } => {
                Event::AppointmentCancelled { appointment }
            }
            EventBody::AppointmentRescheduled {
                appointment,
                service,
                business_day,
                start_ms,
                end_ms,
                version,
            } => Event::AppointmentRescheduled {
                appointment,
                service,
                business_day,
                start_ms,
                end_ms,
                version,
            },
            EventBody::BookingsWentStale { last_pull_ms } => {
                Event::BookingsWentStale { last_pull_ms }
            }
            EventBody::BookingsCurrent => Event::BookingsCurrent,
            EventBody::DeviceFaulted { device, fault } => Event::DeviceFaulted {
                device,
                fault: fault.into(),
            },
            EventBody::DeviceRecovered { device } => Event::DeviceRecovered { device },
            EventBody::TicketPrinted { ticket } => Event::TicketPrinted { ticket },
            EventBody::TicketPrintFailed { ticket, detail } => {
                Event::TicketPrintFailed { ticket, detail }
            }
        }
    }
}

impl From<queue::Recorded> for Recorded {
    fn from(
        queue::Recorded {
            wall_ms,
            hall_ms,
            boot_id,
            mono_ms,
            clock_trusted,
            business_day,
        }: queue::Recorded,
    ) -> Recorded {
        Recorded {
            wall_ms,
            hall_ms,
            boot_id,
            mono_ms,
            clock_trusted,
            business_day,
        }
    }
}

impl From<Recorded> for queue::Recorded {
    fn from(
        Recorded {
            wall_ms,
            hall_ms,
            boot_id,
            mono_ms,
            clock_trusted,
            business_day,
        }: Recorded,
    ) -> queue::Recorded {
        queue::Recorded {
            wall_ms,
            hall_ms,
            boot_id,
            mono_ms,
            clock_trusted,
            business_day,
        }
    }
}

impl From<queue::Channel> for Channel {
    fn from(channel: queue::Channel) -> Channel {
        match channel {
            queue::Channel::Kiosk => Channel::Kiosk,
            queue::Channel::Staff => Channel::Staff,
            queue::Channel::Appointment => Channel::Appointment,
        }
    }
}

impl From<Channel> for queue::Channel {
    fn from(channel: Channel) -> queue::Channel {
        match channel {
            Channel::Kiosk => queue::Channel::Kiosk,
            Channel::Staff => queue::Channel::Staff,
            Channel::Appointment => queue::Channel::Appointment,
        }
    }
}

impl From<queue::SlotRef> for SlotRef {
    fn from(
        queue::SlotRef {
            appointment_id,
            start_ms,
            end_ms,
        }: queue::SlotRef,
    ) -> SlotRef {
        SlotRef {
            appointment_id,
            start_ms,
            end_ms,
        }
    }
}

impl From<SlotRef> for queue::SlotRef {
    fn from(
        SlotRef {
            appointment_id,
            start_ms,
            end_ms,
        }: SlotRef,
    ) -> queue::SlotRef {
        queue::SlotRef {
            appointment_id,
            start_ms,
            end_ms,
        }
    }
}

impl From<queue::Rating> for Rating {
    fn from(rating: queue::Rating) -> Rating {
        match rating {
            queue::Rating::Rated {
                level,
                reasons,
                comment,
                channel,
                indicators,
            } => Rating::Rated {
                score: level,
                reasons,
                comment,
                channel: channel.into(),
                indicators: indicators.into(),
            },
            queue::Rating::Unrated { why } => Rating::Unrated { why: why.into() },
        }
    }
}

impl From<Rating> for queue::Rating {
    fn from(rating: Rating) -> queue::Rating {
        match rating {
            Rating::Rated {
                score,
                reasons,
                comment,
                channel,
                indicators,
            } => queue::Rating::Rated {
                level: score,
                reasons,
                comment,
                channel: channel.into(),
                indicators: indicators.into(),
            },
            Rating::Unrated { why } => queue::Rating::Unrated { why: why.into() },
        }
    }
}

impl From<queue::AppointmentState> for AppointmentState {
    fn from(state: queue::AppointmentState) -> AppointmentState {
        match state {
            queue::AppointmentState::Booked => AppointmentState::Booked,
            queue::AppointmentState::CheckedIn => AppointmentState::CheckedIn,
            queue::AppointmentState::Cancelled => AppointmentState::Cancelled,
        }
    }
}

impl From<AppointmentState> for queue::AppointmentState {
    fn from(state: AppointmentState) -> queue::AppointmentState {
        match state {
            AppointmentState::Booked => queue::AppointmentState::Booked,
            AppointmentState::CheckedIn => queue::AppointmentState::CheckedIn,
            AppointmentState::Cancelled => queue::AppointmentState::Cancelled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID_HASH: &str = "feedfacecafebeef0123456789abcdef";
    const NAME: &str = "李*四";

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    fn booking(id_hash: Option<&str>, masked_name: Option<&str>) -> queue::Appointment {
        queue::Appointment {
            id: "BK1".into(),
            service: "HJ".into(),
            business_day: day(),
            start_ms: 1_795_572_000_000,
            end_ms: 1_795_573_800_000,
            id_hash: id_hash.map(str::to_string),
            masked_name: masked_name.map(str::to_string),
            state: queue::AppointmentState::Booked,
            ticket: Some(7),
            version: 1,
        }
    }

    fn issued(citizen: Option<queue::Citizen>) -> Event {
        Event::TicketIssued {
            ticket: 7,
            number: "C001".into(),
            sequence: 1,
            prefix: "C".into(),
            service: "HJ".into(),
            channel: queue::Channel::Appointment,
            citizen,
            appointment: Some(queue::SlotRef {
                appointment_id: "BK1".into(),
                start_ms: 1_795_572_000_000,
                end_ms: 1_795_573_800_000,
            }),
            at_ms: 1_795_572_000_000,
            status_token: Some("0f".repeat(16)),
        }
    }

    /// Every kind of domain event with every field set, and the same event as a staff terminal and
    /// as a display may see it, written out by hand.
    fn every_event() -> Vec<(Event, Event, Event)> {
        let same = |e: Event| (e.clone(), e.clone(), e);
        vec![
            same(Event::BusinessDayOpened {
                day: day(),
                expired: vec![1, 2],
                unrated: vec![3],
            }),
            (
                issued(Some(queue::Citizen {
                    id_hash: ID_HASH.into(),
                    masked_name: NAME.into(),
                    senior: true,
                })),
                issued(Some(queue::Citizen {
                    id_hash: String::new(),
                    masked_name: NAME.into(),
                    senior: true,
                })),
                issued(None),
            ),
            same(Event::AppointmentCheckedIn {
                appointment: "BK1".into(),
                ticket: 7,
            }),
            same(Event::StaffSignedIn {
                window: 3,
                staff: "1003".into(),
                with_pin: true,
            }),
            same(Event::StaffSignedOut { window: 3 }),
            same(Event::ClockConfirmed {
                window: 3,
                staff: "1003".into(),
                at_ms: 1_795_572_000_001,
            }),
            same(Event::TicketCalled {
                ticket: 7,
                window: 3,
                staff: "1003".into(),
                at_ms: 1_795_572_000_002,
            }),
            same(Event::TicketRecalled {
                ticket: 7,
                window: 3,
                calls: 2,
            }),
            same(Event::ServiceStarted {
                ticket: 7,
                window: 3,
                at_ms: 1_795_572_000_003,
            }),
            same(Event::TicketFinished {
                ticket: 7,
                window: 3,
                at_ms: 1_795_572_000_004,
            }),
            same(Event::TicketNoShow {
                ticket: 7,
                window: 3,
            }),
            same(Event::TicketRequeued {
                ticket: 7,
                queue_ms: 1_795_572_000_005,
            }),
            same(Event::TicketTransferred {
                ticket: 7,
                from_window: 3,
                service: "SB".into(),
                only_window: Some(4),
                queue_ms: 1_795_572_000_006,
            }),
            same(Event::GreenChannelFlagged { ticket: 7 }),
            same(Event::WindowPaused { window: 3 }),
            same(Event::WindowResumed { window: 3 }),
            same(Event::RatingRequested {
                ticket: 7,
                window: 3,
                case_number: queue::CaseNumber::parse("330102-2026-000123").unwrap(),
                evaluator: queue::Evaluator::Kiosk {
                    name: "大厅自助机1".into(),
                },
            }),
            same(Event::TicketRated {
                ticket: 7,
                rating: queue::Rating::Rated {
                    level: queue::SatisfactionLevel::VerySatisfied,
                    reasons: vec!["fast".into()],
                    comment: Some("好".into()),
                    channel: queue::RatingChannel::WindowTablet,
                    indicators: queue::Indicators {
                        overall: Some(queue::SatisfactionLevel::Satisfied),
                        attitude: Some(queue::SatisfactionLevel::VerySatisfied),
                        ..queue::Indicators::default()
                    },
                },
                visit: Some(queue::RatedVisit {
                    window: Some(3),
                    staff: Some("1003".into()),
                    service: "SB".into(),
                    item_code: Some("330100-000117001000".into()),
                    case_number: Some(queue::CaseNumber::parse("330102-2026-000123").unwrap()),
                    at_ms: 1_795_572_000_007,
                }),
            }),
            same(Event::TicketRated {
                ticket: 8,
                rating: queue::Rating::Unrated {
                    why: queue::UnratedWhy::TimedOut,
                },
                visit: None,
            }),
            (
                Event::AppointmentBooked {
                    appointment: booking(Some(ID_HASH), Some(NAME)),
                },
                Event::AppointmentBooked {
                    appointment: booking(None, Some(NAME)),
                },
                Event::AppointmentBooked {
                    appointment: booking(None, None),
                },
            ),
            same(Event::AppointmentCancelled {
                appointment: "BK1".into(),
            }),
            same(Event::DeviceFaulted {
                device: "printer".into(),
                fault: queue::DeviceFault {
                    code: "paper_out".into(),
                    message: "out of paper".into(),
                },
            }),
            same(Event::DeviceRecovered {
                device: "printer".into(),
            }),
            same(Event::TicketPrinted { ticket: 7 }),
            same(Event::TicketPrintFailed {
                ticket: 7,
                detail: Some("jam".into()),
            }),
        ]
    }

    fn stored(seq: u64, event: Event) -> StoredEvent {
        StoredEvent {
            seq,
            event_id: uuid::Uuid::now_v7(),
            hall_id: "hall-1".into(),
            command_id: Some("a1b2c3d4e5f6:k1".into()),
            recorded: queue::Recorded {
                wall_ms: 1_795_572_000_000,
                hall_ms: 1_795_571_999_000,
                boot_id: "boot-1".into(),
                mono_ms: 12_345,
                clock_trusted: false,
                business_day: day(),
            },
            event,
        }
    }

    /// Through JSON, as a terminal receives it.
    fn sent(event: &StoredEvent, audience: Audience) -> (String, StoredEvent) {
        let json = serde_json::to_string(&TerminalEvent::for_terminals(event, audience)).unwrap();
        let received: TerminalEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(received.v, EVENT_VERSION);
        (json, received.into_stored())
    }

    #[test]
    fn every_event_kind_reaches_staff_without_id_hashes_and_the_lobby_without_personal_data() {
        let events = every_event();
        let kinds: std::collections::BTreeSet<&str> =
            events.iter().map(|(full, ..)| full.kind()).collect();
        assert_eq!(kinds.len(), 24, "one of each kind of event");
        for (seq, (full, staff, lobby)) in (1..).zip(events) {
            let original = stored(seq, full);
            let (json, at_staff) = sent(&original, Audience::Staff);
            assert_eq!(
                at_staff,
                StoredEvent {
                    event: staff,
                    ..original.clone()
                },
                "staff terminals get every field but the ID hash"
            );
            assert!(
                !json.contains(ID_HASH),
                "no ID hash in what a terminal is sent: {json}"
            );

            let (json, at_lobby) = sent(&original, Audience::Lobby);
            assert_eq!(
                at_lobby,
                StoredEvent {
                    event: lobby,
                    ..original.clone()
                },
                "a display gets every field but the personal ones"
            );
            assert!(
                !json.contains(ID_HASH) && !json.contains(NAME) && !json.contains("senior"),
                "no personal data in what a display is sent: {json}"
            );
        }
    }

    #[test]
    fn the_wire_event_is_tagged_as_the_domain_event_is() {
        for (seq, (full, ..)) in (1..).zip(every_event()) {
            let kind = full.kind();
            let sent = TerminalEvent::for_terminals(&stored(seq, full), Audience::Staff);
            let json = serde_json::to_value(&sent).unwrap();
            assert_eq!(
                json["event"]["type"], kind,
                "the SSE event name and the data agree"
            );
            assert_eq!(json["v"], EVENT_VERSION);
        }
    }
}
