//! Commands as a terminal sends them. The shapes match the domain's commands one for one; what this
//! copy adds is the limits the hall node enforces on every field, stated where `docs/openapi.yaml` is
//! generated from, so the description cannot promise a value the engine refuses for its form.
//! Refusals that depend on the hall (an unknown service, a window the hall lacks, a past day) stay
//! the engine's, answered with 409.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::identity::StaffPin;
use crate::queue;
use crate::queue::StaffProof;

/// Tagged by `command`; unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// A walk-in citizen takes a number for a service without an ID card. A card's ticket or a
    /// booking's check-in is a card tap (`POST /api/v1/card-taps`): no terminal sends an ID hash.
    IssueTicket {
        service: String,
        #[serde(default)]
        by_staff: bool,
    },
    SignIn {
        #[schema(minimum = 1, maximum = 65535)]
        window: u16,
        /// 工号: letters and digits.
        #[schema(pattern = "^[A-Za-z0-9]{1,32}$", min_length = 1, max_length = 32)]
        staff: String,
        /// The staff member's PIN, where the hall asks for one (`[staff] sign_in = "pin"`). The hall
        /// node checks it and keeps only the verdict; it is never stored or logged.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<String>, pattern = "^[0-9]{4,8}$")]
        pin: Option<StaffPin>,
    },
    SignOut {
        #[schema(minimum = 1, maximum = 65535)]
        window: u16,
    },
    /// Staff confirm the hall's local date and time (docs/time.md).
    ConfirmClock {
        #[schema(minimum = 1, maximum = 65535)]
        window: u16,
        /// Local time in the hall's time zone, without an offset.
        #[schema(
            value_type = String,
            pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?$",
            example = "2026-11-28T08:30:00"
        )]
        local: NaiveDateTime,
    },
    CallNext {
        #[schema(minimum = 1, maximum = 65535)]
        window: u16,
    },
    Recall {
        #[schema(minimum = 1, maximum = 65535)]
        window: u16,
    },
    StartService {
        #[schema(minimum = 1, maximum = 65535)]
        window: u16,
    },
    Finish {
        #[schema(minimum = 1, maximum = 65535)]
        window: u16,
    },
    NoShow {
        #[schema(minimum = 1, maximum = 65535)]
        window: u16,
    },
    Transfer {
        #[schema(minimum = 1, maximum = 65535)]
        window: u16,
        to: TransferTarget,
    },
    Pause {
        #[schema(minimum = 1, maximum = 65535)]
        window: u16,
    },
    Resume {
        #[schema(minimum = 1, maximum = 65535)]
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
    /// A window's business system asks for a rating of a finished visit under its case number
    /// (also `POST /api/v1/windows/{window}/rating-requests`).
    RequestRating {
        #[schema(minimum = 1, maximum = 65535)]
        window: u16,
        /// 办件编号: printable, no spaces around it.
        #[schema(min_length = 1, max_length = 64, pattern = r"^\S(.*\S)?$")]
        case_number: String,
        /// The visit's ticket number; by default the window's latest finished visit not yet rated.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ticket: Option<String>,
        /// The paired kiosk that takes the rating instead of the window's evaluator.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(min_length = 1, max_length = 64)]
        kiosk: Option<String>,
    },
    /// A booking arrives from the platform.
    Book {
        booking: Booking,
    },
    CancelBooking {
        id: String,
    },
    /// The platform moved a booking to another slot, day or service.
    RescheduleBooking {
        booking: Booking,
    },
    /// Whether the hall's list of bookings is current; the hall node's platform link sends it.
    MarkBookings {
        stale: bool,
        #[serde(default)]
        last_pull_ms: Option<i64>,
    },
    /// A device reports its condition; `null` (or no `fault`) means it works again.
    ReportDevice {
        /// 1 to 64 characters, not all blank.
        #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
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

/// Where a transferred ticket goes: exactly one of `service` or `window`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TransferTarget {
    /// Into another service's queue; any window serving it may call it.
    Service(String),
    /// To one window only, not the ticket's own.
    Window(WindowNumber),
}

/// One of the hall's windows, numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(minimum = 1, maximum = 65535)]
pub struct WindowNumber(pub u16);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RatingInput {
    Rated {
        #[schema(minimum = 1, maximum = 5)]
        score: u8,
        /// Codes from the hall's `rating_reasons`.
        #[serde(default)]
        reasons: Vec<String>,
        #[serde(default)]
        #[schema(max_length = 200)]
        comment: Option<String>,
        channel: RatingChannel,
        /// The offline indicators the citizen rated; one left out is not rated.
        #[serde(default, skip_serializing_if = "Indicators::is_empty")]
        indicators: Indicators,
        /// The case the rating screen showed, when a business system asked for this rating; it must
        /// be the case still asked for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(min_length = 1, max_length = 64)]
        case_number: Option<String>,
    },
    Unrated {
        why: UnratedWhy,
    },
}

/// The offline indicators of the national rating (线下评价指标), each on the five levels: 5 非常满意,
/// 4 满意, 3 基本满意, 2 不满意, 1 非常不满意.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Indicators {
    /// 整体满意度
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 5)]
    pub overall: Option<queue::SatisfactionLevel>,
    /// 服务效率
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 5)]
    pub efficiency: Option<queue::SatisfactionLevel>,
    /// 服务水平
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 5)]
    pub competence: Option<queue::SatisfactionLevel>,
    /// 服务态度
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 5)]
    pub attitude: Option<queue::SatisfactionLevel>,
}

impl Indicators {
    pub fn is_empty(&self) -> bool {
        queue::Indicators::from(*self).is_empty()
    }
}

impl From<Indicators> for queue::Indicators {
    fn from(
        Indicators {
            overall,
            efficiency,
            competence,
            attitude,
        }: Indicators,
    ) -> queue::Indicators {
        queue::Indicators {
            overall,
            efficiency,
            competence,
            attitude,
        }
    }
}

impl From<queue::Indicators> for Indicators {
    fn from(
        queue::Indicators {
            overall,
            efficiency,
            competence,
            attitude,
        }: queue::Indicators,
    ) -> Indicators {
        Indicators {
            overall,
            efficiency,
            competence,
            attitude,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RatingChannel {
    WindowTablet,
    HallTerminal,
    QrCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnratedWhy {
    TimedOut,
    Declined,
    DayClosed,
}

/// A booking as the platform sends it down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Booking {
    /// 1 to 64 characters, not all blank.
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    pub id: String,
    pub service: String,
    /// Today or later.
    pub day: NaiveDate,
    /// Slot start in the hall's local time, 24-hour `HH:MM`; the end is later than the start.
    #[schema(pattern = "^([01]?[0-9]|2[0-3]):[0-5][0-9]$", example = "09:30")]
    pub start: String,
    #[schema(pattern = "^([01]?[0-9]|2[0-3]):[0-5][0-9]$", example = "10:00")]
    pub end: String,
    /// The hall key's HMAC-SHA256 of the citizen's ID number, 64 lower-case hex digits, as a kiosk
    /// makes it.
    #[schema(pattern = "^[0-9a-f]{64}$", min_length = 64, max_length = 64)]
    #[serde(deserialize_with = "id_hash")]
    pub id_hash: String,
    /// The name as the kiosk masks it: masking it again changes nothing.
    #[schema(example = "张*三", max_length = 128)]
    #[serde(deserialize_with = "masked_name")]
    pub masked_name: String,
    /// The platform's change count of the booking, from 1.
    #[serde(default = "first_version")]
    #[schema(minimum = 1)]
    pub version: u32,
}

fn first_version() -> u32 {
    1
}

impl From<Booking> for queue::Booking {
    fn from(b: Booking) -> queue::Booking {
        queue::Booking {
            id: b.id,
            service: b.service,
            day: b.day,
            start: b.start,
            end: b.end,
            id_hash: b.id_hash,
            masked_name: b.masked_name,
            version: b.version,
        }
    }
}

impl From<queue::Booking> for Booking {
    fn from(b: queue::Booking) -> Booking {
        Booking {
            id: b.id,
            service: b.service,
            day: b.day,
            start: b.start,
            end: b.end,
            id_hash: b.id_hash,
            masked_name: b.masked_name,
            version: b.version,
        }
    }
}

/// Reads an ID hash, refusing anything else before the engine sees it; the value is not echoed.
fn id_hash<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    if !crate::identity::is_id_hash(&text) {
        return Err(serde::de::Error::custom(format!(
            "id_hash must be the hall key's digest, {} lower-case hex digits",
            crate::identity::ID_HASH_HEX_DIGITS
        )));
    }
    Ok(text)
}

/// Reads a masked name, refusing a name that is not masked; the value is not echoed.
fn masked_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    if !crate::identity::is_masked_name(&text) {
        return Err(serde::de::Error::custom(
            "masked_name must be masked as the kiosk masks it (张*三, Z**** S**)",
        ));
    }
    Ok(text)
}

/// A device's fault as staff see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceFault {
    /// Short machine-readable code, e.g. `paper_out`.
    pub code: String,
    /// What staff should read.
    pub message: String,
}

impl From<Command> for queue::Command {
    fn from(command: Command) -> queue::Command {
        use queue::Command as Q;
        match command {
            Command::IssueTicket { service, by_staff } => Q::IssueTicket {
                service,
                citizen: None,
                by_staff,
            },
            // The PIN is taken out before the command is made (see `lan::api`); a terminal never
            // vouches for itself.
            Command::SignIn { window, staff, .. } => Q::SignIn {
                window,
                staff,
                proof: StaffProof::NumberOnly,
            },
            Command::SignOut { window } => Q::SignOut { window },
            Command::ConfirmClock { window, local } => Q::ConfirmClock { window, local },
            Command::CallNext { window } => Q::CallNext { window },
            Command::Recall { window } => Q::Recall { window },
            Command::StartService { window } => Q::StartService { window },
            Command::Finish { window } => Q::Finish { window },
            Command::NoShow { window } => Q::NoShow { window },
            Command::Transfer { window, to } => Q::Transfer {
                window,
                to: match to {
                    TransferTarget::Service(service) => queue::TransferTarget::Service(service),
                    TransferTarget::Window(WindowNumber(target)) => {
                        queue::TransferTarget::Window(target)
                    }
                },
            },
            Command::Pause { window } => Q::Pause { window },
            Command::Resume { window } => Q::Resume { window },
            Command::Requeue { number } => Q::Requeue { number },
            Command::FlagGreenChannel { number } => Q::FlagGreenChannel { number },
            Command::Rate { number, rating } => Q::Rate {
                number,
                rating: match rating {
                    RatingInput::Rated {
                        score,
                        reasons,
                        comment,
                        channel,
                        indicators,
                        case_number,
                    } => queue::RatingInput::Rated {
                        score,
                        reasons,
                        comment,
                        channel: channel.into(),
                        indicators: indicators.into(),
                        case_number,
                    },
                    RatingInput::Unrated { why } => queue::RatingInput::Unrated { why: why.into() },
                },
            },
            Command::RequestRating {
                window,
                case_number,
                ticket,
                kiosk,
            } => Q::RequestRating {
                window,
                case_number,
                ticket,
                kiosk,
            },
            Command::Book {
                booking:
                    Booking {
                        id,
                        service,
                        day,
                        start,
                        end,
                        id_hash,
                        masked_name,
                        version,
                    },
            } => Q::Book {
                booking: queue::Booking {
                    id,
                    service,
                    day,
                    start,
                    end,
                    id_hash,
                    masked_name,
                    version,
                },
            },
            Command::CancelBooking { id } => Q::CancelBooking { id },
            Command::RescheduleBooking { booking } => Q::RescheduleBooking {
                booking: booking.into(),
            },
            Command::MarkBookings {
                stale,
                last_pull_ms,
            } => Q::MarkBookings {
                stale,
                last_pull_ms,
            },
            Command::ReportDevice { device, fault } => Q::ReportDevice {
                device,
                fault: fault.map(Into::into),
            },
            Command::RecordPrint {
                number,
                printed,
                detail,
            } => Q::RecordPrint {
                number,
                printed,
                detail,
            },
        }
    }
}

/// Why a domain command has no wire form: it carries a citizen's ID hash, which no terminal sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0} with an ID card is a card tap: the hall node hashes the card (POST /api/v1/card-taps)"
)]
pub struct CardCommand(pub &'static str);

impl TryFrom<queue::Command> for Command {
    type Error = CardCommand;

    fn try_from(command: queue::Command) -> Result<Command, CardCommand> {
        use queue::Command as Q;
        Ok(match command {
            Q::IssueTicket {
                service,
                citizen: None,
                by_staff,
            } => Command::IssueTicket { service, by_staff },
            command @ (Q::IssueTicket { .. } | Q::CheckIn { .. }) => {
                return Err(CardCommand(command.name()));
            }
            Q::SignIn { window, staff, .. } => Command::SignIn {
                window,
                staff,
                pin: None,
            },
            Q::SignOut { window } => Command::SignOut { window },
            Q::ConfirmClock { window, local } => Command::ConfirmClock { window, local },
            Q::CallNext { window } => Command::CallNext { window },
            Q::Recall { window } => Command::Recall { window },
            Q::StartService { window } => Command::StartService { window },
            Q::Finish { window } => Command::Finish { window },
            Q::NoShow { window } => Command::NoShow { window },
            Q::Transfer { window, to } => Command::Transfer {
                window,
                to: match to {
                    queue::TransferTarget::Service(service) => TransferTarget::Service(service),
                    queue::TransferTarget::Window(target) => {
                        TransferTarget::Window(WindowNumber(target))
                    }
                },
            },
            Q::Pause { window } => Command::Pause { window },
            Q::Resume { window } => Command::Resume { window },
            Q::Requeue { number } => Command::Requeue { number },
            Q::FlagGreenChannel { number } => Command::FlagGreenChannel { number },
            Q::Rate { number, rating } => Command::Rate {
                number,
                rating: match rating {
                    queue::RatingInput::Rated {
                        score,
                        reasons,
                        comment,
                        channel,
                        indicators,
                        case_number,
                    } => RatingInput::Rated {
                        score,
                        reasons,
                        comment,
                        channel: channel.into(),
                        indicators: indicators.into(),
                        case_number,
                    },
                    queue::RatingInput::Unrated { why } => RatingInput::Unrated { why: why.into() },
                },
            },
            Q::RequestRating {
                window,
                case_number,
                ticket,
                kiosk,
            } => Command::RequestRating {
                window,
                case_number,
                ticket,
                kiosk,
            },
            Q::Book {
                booking:
                    queue::Booking {
                        id,
                        service,
                        day,
                        start,
                        end,
                        id_hash,
                        masked_name,
                        version,
                    },
            } => Command::Book {
                booking: Booking {
                    id,
                    service,
                    day,
                    start,
                    end,
                    id_hash,
                    masked_name,
                    version,
                },
            },
            Q::CancelBooking { id } => Command::CancelBooking { id },
            Q::RescheduleBooking { booking } => Command::RescheduleBooking {
                booking: booking.into(),
            },
            Q::MarkBookings {
                stale,
                last_pull_ms,
            } => Command::MarkBookings {
                stale,
                last_pull_ms,
            },
            Q::ReportDevice { device, fault } => Command::ReportDevice {
                device,
                fault: fault.map(Into::into),
            },
            Q::RecordPrint {
                number,
                printed,
                detail,
            } => Command::RecordPrint {
                number,
                printed,
                detail,
            },
        })
    }
}

impl From<DeviceFault> for queue::DeviceFault {
    fn from(DeviceFault { code, message }: DeviceFault) -> queue::DeviceFault {
        queue::DeviceFault { code, message }
    }
}

impl From<queue::DeviceFault> for DeviceFault {
    fn from(queue::DeviceFault { code, message }: queue::DeviceFault) -> DeviceFault {
        DeviceFault { code, message }
    }
}

impl From<RatingChannel> for queue::RatingChannel {
    fn from(channel: RatingChannel) -> queue::RatingChannel {
        match channel {
            RatingChannel::WindowTablet => queue::RatingChannel::WindowTablet,
            RatingChannel::HallTerminal => queue::RatingChannel::HallTerminal,
            RatingChannel::QrCode => queue::RatingChannel::QrCode,
        }
    }
}

impl From<queue::RatingChannel> for RatingChannel {
    fn from(channel: queue::RatingChannel) -> RatingChannel {
        match channel {
            queue::RatingChannel::WindowTablet => RatingChannel::WindowTablet,
            queue::RatingChannel::HallTerminal => RatingChannel::HallTerminal,
            queue::RatingChannel::QrCode => RatingChannel::QrCode,
        }
    }
}

impl From<UnratedWhy> for queue::UnratedWhy {
    fn from(why: UnratedWhy) -> queue::UnratedWhy {
        match why {
            UnratedWhy::TimedOut => queue::UnratedWhy::TimedOut,
            UnratedWhy::Declined => queue::UnratedWhy::Declined,
            UnratedWhy::DayClosed => queue::UnratedWhy::DayClosed,
        }
    }
}

impl From<queue::UnratedWhy> for UnratedWhy {
    fn from(why: queue::UnratedWhy) -> UnratedWhy {
        match why {
            queue::UnratedWhy::TimedOut => UnratedWhy::TimedOut,
            queue::UnratedWhy::Declined => UnratedWhy::Declined,
            queue::UnratedWhy::DayClosed => UnratedWhy::DayClosed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One command of every kind, as the domain knows them.
    fn every_command() -> Vec<queue::Command> {
        use queue::Command as Q;
        vec![
            Q::IssueTicket {
                service: "HJ".into(),
                citizen: None,
                by_staff: true,
            },
            Q::SignIn {
                window: 3,
                staff: "1003".into(),
                proof: StaffProof::NumberOnly,
            },
            Q::SignOut { window: 3 },
            Q::ConfirmClock {
                window: 3,
                local: NaiveDate::from_ymd_opt(2026, 11, 28)
                    .unwrap()
                    .and_hms_opt(8, 30, 0)
                    .unwrap(),
            },
            Q::CallNext { window: 3 },
            Q::Recall { window: 3 },
            Q::StartService { window: 3 },
            Q::Finish { window: 3 },
            Q::NoShow { window: 3 },
            Q::Transfer {
                window: 3,
                to: queue::TransferTarget::Service("SB".into()),
            },
            Q::Transfer {
                window: 3,
                to: queue::TransferTarget::Window(4),
            },
            Q::Pause { window: 3 },
            Q::Resume { window: 3 },
            Q::Requeue {
                number: "A001".into(),
            },
            Q::FlagGreenChannel {
                number: "A001".into(),
            },
            Q::Rate {
                number: "A001".into(),
                rating: queue::RatingInput::Rated {
                    score: 4,
                    reasons: vec!["fast".into()],
                    comment: Some("好".into()),
                    channel: queue::RatingChannel::QrCode,
                    indicators: queue::Indicators {
                        efficiency: Some(queue::SatisfactionLevel::Dissatisfied),
                        ..queue::Indicators::default()
                    },
                    case_number: Some("330102-2026-000123".into()),
                },
            },
            Q::RequestRating {
                window: 3,
                case_number: "330102-2026-000123".into(),
                ticket: Some("A001".into()),
                kiosk: Some("大厅自助机1".into()),
            },
            Q::Rate {
                number: "A001".into(),
                rating: queue::RatingInput::Unrated {
                    why: queue::UnratedWhy::DayClosed,
                },
            },
            Q::Book {
                booking: queue::Booking {
                    id: "BK1".into(),
                    service: "HJ".into(),
                    day: NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
                    start: "09:30".into(),
                    end: "10:00".into(),
                    id_hash: "ab".repeat(32),
                    masked_name: "王*".into(),
                    version: 1,
                },
            },
            Q::CancelBooking { id: "BK1".into() },
            Q::RescheduleBooking {
                booking: queue::Booking {
                    id: "BK1".into(),
                    service: "HJ".into(),
                    day: NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
                    start: "10:30".into(),
                    end: "11:00".into(),
                    id_hash: "ab".repeat(32),
                    masked_name: "王*".into(),
                    version: 2,
                },
            },
            Q::MarkBookings {
                stale: true,
                last_pull_ms: Some(1_795_744_800_000),
            },
            Q::ReportDevice {
                device: "printer".into(),
                fault: Some(queue::DeviceFault {
                    code: "paper_out".into(),
                    message: "out of paper".into(),
                }),
            },
            Q::RecordPrint {
                number: "A001".into(),
                printed: false,
                detail: Some("jam".into()),
            },
        ]
    }

    #[test]
    fn every_command_crosses_the_wire_unchanged_and_reads_as_the_domain_reads_it() {
        let kinds: std::collections::BTreeSet<&str> =
            every_command().iter().map(queue::Command::name).collect();
        assert_eq!(
            kinds.len(),
            22,
            "one of each kind of command but the check-in, a card tap's"
        );
        for command in every_command() {
            let sent = Command::try_from(command.clone()).unwrap();
            let json = serde_json::to_value(&sent).unwrap();
            let mut domain = serde_json::to_value(&command).unwrap();
            // A walk-in ticket on the wire has no place for a citizen at all.
            if let Some(fields) = domain.as_object_mut() {
                fields.remove("citizen");
            }
            assert_eq!(json, domain, "the wire shape is the domain's");
            let received: Command = serde_json::from_value(json).unwrap();
            assert_eq!(queue::Command::from(received), command);
        }
    }

    #[test]
    fn a_command_with_a_citizen_has_no_wire_form_and_the_wire_takes_no_citizen() {
        let card = queue::CitizenCard {
            id_hash: "ab".repeat(32),
            masked_name: "李*四".into(),
            birth_date: None,
        };
        for command in [
            queue::Command::IssueTicket {
                service: "HJ".into(),
                citizen: Some(card.clone()),
                by_staff: false,
            },
            queue::Command::CheckIn { citizen: card },
        ] {
            let refused = Command::try_from(command).unwrap_err();
            assert!(
                refused.to_string().contains("/api/v1/card-taps"),
                "{refused}"
            );
        }
        for sent in [
            r#"{"command": "issue_ticket", "service": "HJ", "citizen": {"id_hash": "x", "masked_name": "李*"}}"#,
            r#"{"command": "check_in", "citizen": {"id_hash": "x", "masked_name": "李*"}}"#,
        ] {
            assert!(serde_json::from_str::<Command>(sent).is_err(), "{sent}");
        }
    }

    #[test]
    fn a_sign_in_carries_a_pin_in_its_form_to_the_hall_node_and_no_verdict() {
        let json = r#"{"command": "sign_in", "window": 3, "staff": "1003", "pin": "482913"}"#;
        let sent: Command = serde_json::from_str(json).unwrap();
        assert!(
            !format!("{sent:?}").contains("482913"),
            "Debug shows no PIN"
        );
        assert!(matches!(&sent, Command::SignIn { pin: Some(_), .. }));
        assert_eq!(
            queue::Command::from(sent),
            queue::Command::SignIn {
                window: 3,
                staff: "1003".into(),
                proof: StaffProof::NumberOnly,
            },
            "the domain command has no PIN and vouches for nothing"
        );
        for bad in [
            r#"{"command": "sign_in", "window": 3, "staff": "1003", "pin": "12ab"}"#,
            r#"{"command": "sign_in", "window": 3, "staff": "1003", "pin": 1234}"#,
            r#"{"command": "sign_in", "window": 3, "staff": "1003", "proof": "pin"}"#,
        ] {
            assert!(serde_json::from_str::<Command>(bad).is_err(), "{bad}");
        }
    }
}
