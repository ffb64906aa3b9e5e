//! The event log as the platform receives it.
//!
//! A [`PlatformEvent`] is built from the stored event by [`PlatformEvent::for_platform`], which names
//! every field of every domain event: a field added to a domain event does not compile until someone
//! decides whether the platform gets it. Of a citizen the platform gets the keyed ID hash and the
//! masked name (张*三), because its types have a place for nothing else: not the age band behind the
//! senior flag, not a ticket's status-link token (a secret of the citizen's phone), not the command
//! ids terminals chose.
//!
//! The protocol around these types (batches, acknowledgements, signatures, error codes) is described
//! in `docs/platform.md`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::queue::{self, Event, StoredEvent};
use crate::store::PlatformClock;

/// The shape of [`PlatformEvent`], sent in each as `v`. It changes when a field changes meaning or
/// goes away; a new optional field does not change it.
pub const PLATFORM_EVENT_VERSION: u32 = 1;

/// Where the hall posts its batches, relative to the platform's base URL.
pub const EVENTS_PATH: &str = "/v1/events";

/// The most events the reference receiver takes in one batch.
pub const MAX_BATCH_EVENTS: usize = 1000;

/// One event of the hall's log as the platform receives it. The platform keeps it once per
/// `(hall_id, seq)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformEvent {
    /// The shape of this message; 1 today.
    pub v: u32,
    pub hall_id: String,
    /// Per hall, gap-free, from 1.
    pub seq: u64,
    pub event_id: uuid::Uuid,
    /// The wall clock when the hall recorded it, ms since the Unix epoch.
    pub wall_ms: i64,
    /// The hall's time, which its queue rules used (equal to `wall_ms` unless the wall clock jumped).
    pub hall_ms: i64,
    /// Whether the hall's clock was vouched for (time-synchronised or confirmed by staff).
    pub clock_trusted: bool,
    /// Present when `wall_ms` is not the board's reading but that reading corrected from the
    /// platform's own time (the board's clock was not vouched for): by how much, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_corrected_by_ms: Option<i64>,
    pub business_day: NaiveDate,
    /// What happened: `kind` names it, `data` holds its fields.
    #[serde(flatten)]
    pub body: PlatformBody,
}

/// What happened, as `"kind": …, "data": {…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum PlatformBody {
    BusinessDayOpened {
        day: NaiveDate,
        expired: Vec<u64>,
        unrated: Vec<u64>,
    },
    TicketIssued {
        ticket: u64,
        number: String,
        sequence: u32,
        prefix: String,
        service: String,
        channel: Channel,
        appointment: Option<SlotRef>,
        at_ms: i64,
        /// The citizen, when the ticket was taken with an ID card or a booking.
        citizen: Option<Citizen>,
    },
    AppointmentCheckedIn {
        appointment: String,
        ticket: u64,
    },
    StaffSignedIn {
        window: u16,
        staff: String,
        /// The staff member proved who they are with their PIN.
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
    /// A window's business system asked for a rating of the visit under its case number.
    RatingRequested {
        ticket: u64,
        window: u16,
        /// 办件编号.
        case_number: String,
        evaluator: Evaluator,
    },
    /// A rating in the national form (好差评), or why there is none. The fields beside `rating` are
    /// absent for ratings the hall recorded before it kept them.
    TicketRated {
        ticket: u64,
        rating: Rating,
        /// The window that served the visit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window: Option<u16>,
        /// 工号 of the staff member who served it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        staff: Option<String>,
        /// The hall's service code (SB).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
        /// 事项编码, from `[[services]] item_code`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        item_code: Option<String>,
        /// 办件编号, when the window's business system asked for the rating.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case_number: Option<String>,
        /// When the citizen rated, in the hall's time (ms since the Unix epoch).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rated_at_ms: Option<i64>,
    },
    AppointmentBooked {
        appointment: Appointment,
    },
    AppointmentCancelled {
        appointment: String,
    },
    /// The hall took the platform's change of a booking (its version) and moved it.
    AppointmentRescheduled {
        appointment: String,
        service: String,
        business_day: NaiveDate,
        start_ms: i64,
        end_ms: i64,
        version: u32,
    },
    /// The hall has not pulled bookings for longer than its configuration allows.
    BookingsWentStale {
        last_pull_ms: Option<i64>,
    },
    BookingsCurrent,
    DeviceFaulted {
        device: String,
        code: String,
        message: String,
    },
    DeviceRecovered {
        device: String,
    },
    TicketPrinted {
        ticket: u64,
    },
    TicketPrintFailed {
        ticket: u64,
        detail: Option<String>,
    },
}

/// A ticket's citizen as the platform knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Citizen {
    /// The keyed hash of the ID number (the hall key's HMAC), never the number.
    pub id_hash: String,
    /// E.g. 张*三.
    pub masked_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Kiosk,
    Staff,
    Appointment,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotRef {
    pub appointment_id: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// A citizen's verdict (好差评), or why there is none. Unrated stays unrated: it has no level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rating {
    Rated {
        /// 5 非常满意 … 1 非常不满意 (the same number as `level.code`).
        score: u8,
        /// The national level (评价等级); absent from halls that sent only `score`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        level: Option<Level>,
        reasons: Vec<String>,
        comment: Option<String>,
        channel: RatingChannel,
        /// The national channel code (评价渠道) of `channel`: 3 二维码, 4 政务大厅平板电脑 (the window's
        /// evaluator), 5 政务大厅其他终端 (a self-service terminal).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel_code: Option<u8>,
        /// The offline indicators the citizen rated, in the standard's order; one not rated is not
        /// listed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        indicators: Vec<IndicatorRating>,
    },
    Unrated {
        why: UnratedWhy,
    },
}

/// A level of the national rating: `code` 5 with `name` 非常满意 down to 1 with 非常不满意.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub code: u8,
    pub name: String,
}

impl From<queue::SatisfactionLevel> for Level {
    fn from(level: queue::SatisfactionLevel) -> Level {
        Level {
            code: level.score(),
            name: level.name_zh().to_string(),
        }
    }
}

/// One offline indicator (线下评价指标) and the level the citizen gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicatorRating {
    /// `overall` 整体满意度, `efficiency` 服务效率, `competence` 服务水平, `attitude` 服务态度.
    pub indicator: String,
    pub name: String,
    pub level: Level,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RatingChannel {
    /// The window's evaluator.
    WindowTablet,
    /// A self-service terminal in the hall.
    HallTerminal,
    QrCode,
}

impl RatingChannel {
    /// The channel's code in the national rating interface (评价渠道).
    pub fn national_code(self) -> u8 {
        match self {
            RatingChannel::QrCode => 3,
            RatingChannel::WindowTablet => 4,
            RatingChannel::HallTerminal => 5,
        }
    }
}

/// Where a rating request opened the rating screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum Evaluator {
    Window,
    Kiosk { name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnratedWhy {
    TimedOut,
    Declined,
    DayClosed,
}

/// A booked slot. Who booked it is there while the booking waits for its citizen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Appointment {
    pub id: String,
    pub service: String,
    pub business_day: NaiveDate,
    pub start_ms: i64,
    pub end_ms: i64,
    pub id_hash: Option<String>,
    pub masked_name: Option<String>,
    pub state: AppointmentState,
    pub ticket: Option<u64>,
    /// The booking's version as the hall took it.
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

/// What the hall posts: events of one hall, in sequence order without gaps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformBatch {
    pub hall_id: String,
    pub events: Vec<PlatformEvent>,
}

/// The platform's answer to a batch: it holds every event of the hall up to `acked_through`, with no
/// gap. The hall moves its cursor there and sends on from the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Ack {
    pub acked_through: u64,
    /// The platform's clock, ms since the Unix epoch: lets the hall see how far its own clock is off.
    pub platform_time_ms: i64,
}

/// The body of every refused request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlatformError {
    /// E.g. `bad_signature`; the list is in docs/platform.md.
    pub code: String,
    pub message: String,
    /// For `gap`: what the platform holds, so the hall knows where it stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked_through: Option<u64>,
    /// For a refused signature: the platform's clock, so a hall whose clock is off can sign the
    /// next request with the platform's time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_time_ms: Option<i64>,
}

/// Platform times outside these bounds (2024-01-01 to 2100-01-01 UTC) are a broken reply, not a
/// clock: they are never used.
pub const PLAUSIBLE_PLATFORM_TIME_MS: std::ops::Range<i64> =
    crate::queue::day::EARLIEST_PLAUSIBLE_MS..4_102_444_800_000;

/// A board's wall time within this of the platform's is left as it was read: the difference is the
/// round trip's uncertainty, not a wrong clock.
pub const CLOCK_CORRECTION_TOLERANCE_MS: i64 = 2_000;

impl PlatformEvent {
    /// The stored event as the platform may receive it.
    pub fn for_platform(stored: &StoredEvent) -> PlatformEvent {
        let StoredEvent {
            seq,
            event_id,
            hall_id,
            // Chosen by terminals for their retries: no meaning outside the hall.
            command_id: _,
            recorded:
                queue::Recorded {
                    wall_ms,
                    hall_ms,
                    // The board's boot and monotonic clock explain the hall's time inside the hall;
                    // the platform gets the result.
                    boot_id: _,
                    mono_ms: _,
                    clock_trusted,
                    business_day,
                },
            event,
        } = stored;
        PlatformEvent {
            v: PLATFORM_EVENT_VERSION,
            hall_id: hall_id.clone(),
            seq: *seq,
            event_id: *event_id,
            wall_ms: *wall_ms,
            hall_ms: *hall_ms,
            clock_trusted: *clock_trusted,
            wall_corrected_by_ms: None,
            business_day: *business_day,
            body: PlatformBody::of(event.clone()),
        }
    }

    /// [`PlatformEvent::for_platform`], its wall time corrected from `platform_clock`, the
    /// platform's clock as seen in the boot the event was recorded in. Only an event whose clock was
    /// not vouched for is corrected, and only when it is off by more than the tolerance; the hall's
    /// time (`hall_ms`) stays what the queue's rules used.
    pub fn for_platform_corrected(
        stored: &StoredEvent,
        platform_clock: Option<&PlatformClock>,
    ) -> PlatformEvent {
        let mut event = PlatformEvent::for_platform(stored);
        let Some(clock) = platform_clock else {
            return event;
        };
        if stored.recorded.clock_trusted || !PLAUSIBLE_PLATFORM_TIME_MS.contains(&clock.platform_ms)
        {
            return event;
        }
        let corrected = clock.platform_time_at(stored.recorded.mono_ms);
        let by = corrected - stored.recorded.wall_ms;
        if by.abs() > CLOCK_CORRECTION_TOLERANCE_MS {
            event.wall_ms = corrected;
            event.wall_corrected_by_ms = Some(by);
        }
        event
    }

    /// The name of the event's kind, as the hall's log names it.
    pub fn kind(&self) -> &'static str {
        self.body.kind()
    }
}

impl PlatformBody {
    fn of(event: Event) -> PlatformBody {
        match event {
            Event::BusinessDayOpened {
                day,
                expired,
                unrated,
            } => PlatformBody::BusinessDayOpened {
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
                // The citizen's own key to the ticket's status page: it stays in the hall.
                status_token: _,
            } => PlatformBody::TicketIssued {
                ticket,
                number,
                sequence,
                prefix,
                service,
                channel: channel.into(),
                appointment: appointment.map(
                    |queue::SlotRef {
                         appointment_id,
                         start_ms,
                         end_ms,
                     }| SlotRef {
                        appointment_id,
                        start_ms,
                        end_ms,
                    },
                ),
                at_ms,
                citizen: citizen.map(
                    |queue::Citizen {
                         id_hash,
                         masked_name,
                         // Derived from the birth date: more than the platform needs.
                         senior: _,
                     }| Citizen {
                        id_hash,
                        masked_name,
                    },
                ),
            },
            Event::AppointmentCheckedIn {
                appointment,
                ticket,
            } => PlatformBody::AppointmentCheckedIn {
                appointment,
                ticket,
            },
            Event::StaffSignedIn {
                window,
                staff,
                with_pin,
            } => PlatformBody::StaffSignedIn {
                window,
                staff,
                with_pin,
            },
            Event::StaffSignedOut { window } => PlatformBody::StaffSignedOut { window },
            Event::ClockConfirmed {
                window,
                staff,
                at_ms,
            } => PlatformBody::ClockConfirmed {
                window,
                staff,
                at_ms,
            },
            Event::TicketCalled {
                ticket,
                window,
                staff,
                at_ms,
            } => PlatformBody::TicketCalled {
                ticket,
                window,
                staff,
                at_ms,
            },
            Event::TicketRecalled {
                ticket,
                window,
                calls,
            } => PlatformBody::TicketRecalled {
                ticket,
                window,
                calls,
            },
            Event::ServiceStarted {
                ticket,
                window,
                at_ms,
            } => PlatformBody::ServiceStarted {
                ticket,
                window,
                at_ms,
            },
            Event::TicketFinished {
                ticket,
                window,
                at_ms,
            } => PlatformBody::TicketFinished {
                ticket,
                window,
                at_ms,
            },
            Event::TicketNoShow { ticket, window } => PlatformBody::TicketNoShow { ticket, window },
            Event::TicketRequeued { ticket, queue_ms } => {
                PlatformBody::TicketRequeued { ticket, queue_ms }
            }
            Event::TicketTransferred {
                ticket,
                from_window,
                service,
                only_window,
                queue_ms,
            } => PlatformBody::TicketTransferred {
                ticket,
                from_window,
                service,
                only_window,
                queue_ms,
            },
            Event::GreenChannelFlagged { ticket } => PlatformBody::GreenChannelFlagged { ticket },
            Event::WindowPaused { window } => PlatformBody::WindowPaused { window },
            Event::WindowResumed { window } => PlatformBody::WindowResumed { window },
            Event::RatingRequested {
                ticket,
                window,
                case_number,
                evaluator,
            } => PlatformBody::RatingRequested {
                ticket,
                window,
                case_number: case_number.to_string(),
                evaluator: match evaluator {
                    queue::Evaluator::Window => Evaluator::Window,
                    queue::Evaluator::Kiosk { name } => Evaluator::Kiosk { name },
                },
            },
            Event::TicketRated {
                ticket,
                rating,
                visit,
            } => {
                let queue::RatedVisit {
                    window,
                    staff,
                    service,
                    item_code,
                    case_number,
                    at_ms,
                } = match visit {
                    Some(visit) => visit,
                    None => {
                        return PlatformBody::TicketRated {
                            ticket,
                            rating: rating.into(),
                            window: None,
                            staff: None,
                            service: None,
                            item_code: None,
                            case_number: None,
                            rated_at_ms: None,
                        };
                    }
                };
                PlatformBody::TicketRated {
                    ticket,
                    rating: rating.into(),
                    window,
                    staff,
                    service: Some(service),
                    item_code,
                    case_number: case_number.map(|c| c.to_string()),
                    rated_at_ms: Some(at_ms),
                }
            }
            Event::AppointmentBooked {
                appointment:
                    queue::Appointment {
                        id,
                        service,
                        business_day,
                        start_ms,
                        end_ms,
                        id_hash,
                        masked_name,
                        state,
                        ticket,
                        version,
                    },
            } => PlatformBody::AppointmentBooked {
                appointment: Appointment {
                    id,
                    service,
                    business_day,
                    start_ms,
                    end_ms,
                    id_hash,
                    masked_name,
                    state: state.into(),
                    ticket,
                    version,
                },
            },
            Event::AppointmentCancelled { appointment } => {
                PlatformBody::AppointmentCancelled { appointment }
            }
            Event::AppointmentRescheduled {
                appointment,
                service,
                business_day,
                start_ms,
                end_ms,
                version,
            } => PlatformBody::AppointmentRescheduled {
                appointment,
                service,
                business_day,
                start_ms,
                end_ms,
                version,
            },
            Event::BookingsWentStale { last_pull_ms } => {
                PlatformBody::BookingsWentStale { last_pull_ms }
            }
            Event::BookingsCurrent => PlatformBody::BookingsCurrent,
            Event::DeviceFaulted {
                device,
                fault: queue::DeviceFault { code, message },
            } => PlatformBody::DeviceFaulted {
                device,
                code,
                message,
            },
            Event::DeviceRecovered { device } => PlatformBody::DeviceRecovered { device },
            Event::TicketPrinted { ticket } => PlatformBody::TicketPrinted { ticket },
            Event::TicketPrintFailed { ticket, detail } => {
                PlatformBody::TicketPrintFailed { ticket, detail }
            }
        }
    }

    /// The `kind` this body is sent under: the same names as the hall's log.
    pub fn kind(&self) -> &'static str {
        match self {
            PlatformBody::BusinessDayOpened { .. } => "business_day_opened",
            PlatformBody::TicketIssued { .. } => "ticket_issued",
            PlatformBody::AppointmentCheckedIn { .. } => "appointment_checked_in",
            PlatformBody::StaffSignedIn { .. } => "staff_signed_in",
            PlatformBody::StaffSignedOut { .. } => "staff_signed_out",
            PlatformBody::ClockConfirmed { .. } => "clock_confirmed",
            PlatformBody::TicketCalled { .. } => "ticket_called",
            PlatformBody::TicketRecalled { .. } => "ticket_recalled",
            PlatformBody::ServiceStarted { .. } => "service_started",
            PlatformBody::TicketFinished { .. } => "ticket_finished",
            PlatformBody::TicketNoShow { .. } => "ticket_no_show",
            PlatformBody::TicketRequeued { .. } => "ticket_requeued",
            PlatformBody::TicketTransferred { .. } => "ticket_transferred",
            PlatformBody::GreenChannelFlagged { .. } => "green_channel_flagged",
            PlatformBody::WindowPaused { .. } => "window_paused",
            PlatformBody::WindowResumed { .. } => "window_resumed",
            PlatformBody::RatingRequested { .. } => "rating_requested",
            PlatformBody::TicketRated { .. } => "ticket_rated",
            PlatformBody::AppointmentBooked { .. } => "appointment_booked",
            PlatformBody::AppointmentCancelled { .. } => "appointment_cancelled",
            PlatformBody::AppointmentRescheduled { .. } => "appointment_rescheduled",
            PlatformBody::BookingsWentStale { .. } => "bookings_went_stale",
            PlatformBody::BookingsCurrent => "bookings_current",
            PlatformBody::DeviceFaulted { .. } => "device_faulted",
            PlatformBody::DeviceRecovered { .. } => "device_recovered",
            PlatformBody::TicketPrinted { .. } => "ticket_printed",
            PlatformBody::TicketPrintFailed { .. } => "ticket_print_failed",
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

impl From<queue::Rating> for Rating {
    fn from(rating: queue::Rating) -> Rating {
        match rating {
            queue::Rating::Rated {
                level,
                reasons,
                comment,
                channel,
                indicators,
            } => {
                let channel = match channel {
                    queue::RatingChannel::WindowTablet => RatingChannel::WindowTablet,
                    queue::RatingChannel::HallTerminal => RatingChannel::HallTerminal,
                    queue::RatingChannel::QrCode => RatingChannel::QrCode,
                };
                Rating::Rated {
                    score: level.score(),
                    level: Some(level.into()),
                    reasons,
                    comment,
                    channel,
                    channel_code: Some(channel.national_code()),
                    indicators: indicators
                        .given()
                        .map(|(indicator, level)| IndicatorRating {
                            indicator: indicator.code().to_string(),
                            name: indicator.name_zh().to_string(),
                            level: level.into(),
                        })
                        .collect(),
                }
            }
            queue::Rating::Unrated { why } => Rating::Unrated {
                why: match why {
                    queue::UnratedWhy::TimedOut => UnratedWhy::TimedOut,
                    queue::UnratedWhy::Declined => UnratedWhy::Declined,
                    queue::UnratedWhy::DayClosed => UnratedWhy::DayClosed,
                },
            },
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

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(event: Event) -> StoredEvent {
        StoredEvent {
            seq: 7,
            event_id: uuid::Uuid::now_v7(),
            hall_id: "hall-1".into(),
            command_id: Some("terminal-cmd-1".into()),
            recorded: queue::Recorded {
                wall_ms: 1_000,
                hall_ms: 1_001,
                boot_id: "boot-secret".into(),
                mono_ms: 55,
                clock_trusted: true,
                business_day: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            },
            event,
        }
    }

    #[test]
    fn every_kind_is_sent_under_the_name_the_hall_log_gives_it() {
        for event in queue::event::tests::one_of_each() {
            let kind = event.kind();
            let platform = PlatformEvent::for_platform(&stored(event));
            assert_eq!(platform.kind(), kind);
            let json = serde_json::to_value(&platform).unwrap();
            assert_eq!(json["kind"], kind);
            assert_eq!(json["v"], 1);
            let back: PlatformEvent = serde_json::from_value(json).unwrap();
            assert_eq!(back, platform, "{kind} reads back as sent");
        }
    }

    #[test]
    fn a_ticket_carries_the_id_hash_and_masked_name_and_nothing_else_personal() {
        let issued = Event::TicketIssued {
            ticket: 3,
            number: "A001".into(),
            sequence: 1,
            prefix: "A".into(),
            service: "social".into(),
            channel: queue::Channel::Kiosk,
            citizen: Some(queue::Citizen {
                id_hash: "hash-of-id".into(),
                masked_name: "张*三".into(),
                senior: true,
            }),
            appointment: None,
            at_ms: 10,
            status_token: Some("status-secret".into()),
        };
        let json = serde_json::to_string(&PlatformEvent::for_platform(&stored(issued))).unwrap();
        assert!(json.contains(r#""citizen":{"id_hash":"hash-of-id","masked_name":"张*三"}"#));
        for left_out in ["senior", "status", "boot", "terminal-cmd", "mono"] {
            assert!(!json.contains(left_out), "{left_out} in {json}");
        }
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let fields: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            fields,
            [
                "business_day",
                "clock_trusted",
                "data",
                "event_id",
                "hall_id",
                "hall_ms",
                "kind",
                "seq",
                "v",
                "wall_ms"
            ],
            "no other field at the top"
        );
    }

    #[test]
    fn an_unknown_field_or_kind_is_refused() {
        let good =
            serde_json::to_value(PlatformEvent::for_platform(&stored(Event::TicketPrinted {
                ticket: 1,
            })))
            .unwrap();
        let mut extra = good.clone();
        extra["id_number"] = "110101199001011234".into();
        assert!(serde_json::from_value::<PlatformEvent>(extra).is_err());
        let mut unknown = good;
        unknown["kind"] = "ticket_teleported".into();
        assert!(serde_json::from_value::<PlatformEvent>(unknown).is_err());
    }
}
