//! Commands: everything that may change the hall, as asked by a kiosk, a window, a device or the platform.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::rating::Indicators;
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
        /// The offline indicators the citizen rated, each on its own; left out means not rated.
        #[serde(default, skip_serializing_if = "Indicators::is_empty")]
        indicators: Indicators,
        /// The case the screen showed, when a business system asked for this rating: it must be the
        /// case still asked for, so a screen left open from an earlier request rates nothing else.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case_number: Option<String>,
    },
    Unrated {
        why: UnratedWhy,
    },
}

/// How a sign-in was vouched for before it reached the engine. The PIN itself never comes this far:
/// the hall node checks it against the staff book and hands the engine only the verdict, which the
/// decider turns into a sign-in or a refusal. A terminal cannot send a verdict: the LAN's commands
/// have no place for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffProof {
    /// The staff number alone.
    #[default]
    NumberOnly,
    /// The staff member's PIN matched.
    Pin,
    /// A PIN was given and did not match (or the number has no PIN).
    WrongPin,
    /// Too many wrong PINs in a row: the number is locked for the configured time.
    Locked,
}

impl RatingInput {
    /// A rating of `score` (1-5) and nothing more: no reasons, comment, indicators or case.
    pub fn score(score: u8, channel: RatingChannel) -> RatingInput {
        RatingInput::Rated {
            score,
            reasons: Vec::new(),
            comment: None,
            channel,
            indicators: Indicators::default(),
            case_number: None,
        }
    }
}

impl StaffProof {
    fn is_number_only(&self) -> bool {
        *self == StaffProof::NumberOnly
    }
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
    /// The platform's change count of this booking: a change is taken once, and never an older one
    /// after a newer.
    #[serde(default = "first_version")]
    pub version: u32,
}

fn first_version() -> u32 {
    1
}

/// `name()` comes from strum with the same case rule as serde's tag: the name in logs and refusals
/// is the `command` a terminal sends.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantNames,
)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
#[strum(serialize_all = "snake_case")]
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
        /// What vouched for the staff member, as checked on the hall node before the engine.
        #[serde(default, skip_serializing_if = "StaffProof::is_number_only")]
        proof: StaffProof,
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
    /// A window's business system finished a case and asks the citizen to rate it: the evaluator
    /// opens for the visit `ticket` (by default the window's latest finished visit not yet rated).
    RequestRating {
        window: u16,
        case_number: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ticket: Option<String>,
        /// The paired kiosk whose screen takes the rating instead of the window's evaluator.
        #[serde(default, skip_serializing_if = "Option::is_none")]
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
    /// The platform link reports whether the hall's list of bookings is current: stale once no pull
    /// has succeeded for the configured time, current again at the next successful pull. The domain
    /// learns of it only so, as a recorded fact, never by reading a clock.
    MarkBookings {
        stale: bool,
        /// The last successful pull, ms since the Unix epoch; none since the hall started.
        #[serde(default)]
        last_pull_ms: Option<i64>,
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
    /// A sign-in by staff number alone: where the hall asks for no PIN, and for the demo and the
    /// benches, which sign their staff in themselves.
    pub fn sign_in_by_number(window: u16, staff: impl Into<String>) -> Command {
        Command::SignIn {
            window,
            staff: staff.into(),
            proof: StaffProof::NumberOnly,
        }
    }

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
            | Command::RequestRating { window, .. }
            | Command::Pause { window }
            | Command::Resume { window } => Some(*window),
            _ => None,
        }
    }

    /// The command's name as terminals send it (its serde tag).
    pub fn name(&self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use strum::VariantNames;

    use super::*;

    fn one_of_each() -> Vec<Command> {
        let card = CitizenCard {
            id_hash: "h".into(),
            masked_name: "张*三".into(),
            birth_date: None,
        };
        vec![
            Command::IssueTicket {
                service: "social".into(),
                citizen: None,
                by_staff: false,
            },
            Command::CheckIn { citizen: card },
            Command::sign_in_by_number(1, "0001"),
            Command::SignOut { window: 1 },
            Command::ConfirmClock {
                window: 1,
                local: NaiveDate::from_ymd_opt(2026, 3, 2)
                    .unwrap()
                    .and_hms_opt(9, 0, 0)
                    .unwrap(),
            },
            Command::CallNext { window: 1 },
            Command::Recall { window: 1 },
            Command::StartService { window: 1 },
            Command::Finish { window: 1 },
            Command::NoShow { window: 1 },
            Command::Transfer {
                window: 1,
                to: TransferTarget::Window(2),
            },
            Command::Pause { window: 1 },
            Command::Resume { window: 1 },
            Command::Requeue {
                number: "A001".into(),
            },
            Command::FlagGreenChannel {
                number: "A001".into(),
            },
            Command::Rate {
                number: "A001".into(),
                rating: RatingInput::Unrated {
                    why: UnratedWhy::Declined,
                },
            },
            Command::RequestRating {
                window: 1,
                case_number: "330102-2026-000123".into(),
                ticket: Some("A001".into()),
                kiosk: None,
            },
            Command::Book {
                booking: Booking {
                    id: "b1".into(),
                    service: "social".into(),
                    day: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
                    start: "09:00".into(),
                    end: "09:30".into(),
                    id_hash: "h".into(),
                    masked_name: "张*三".into(),
                    version: 1,
                },
            },
            Command::CancelBooking { id: "b1".into() },
            Command::RescheduleBooking {
                booking: Booking {
                    id: "b1".into(),
                    service: "social".into(),
                    day: NaiveDate::from_ymd_opt(2026, 3, 3).unwrap(),
                    start: "10:00".into(),
                    end: "10:30".into(),
                    id_hash: "h".into(),
                    masked_name: "张*三".into(),
                    version: 2,
                },
            },
            Command::MarkBookings {
                stale: true,
                last_pull_ms: Some(1),
            },
            Command::ReportDevice {
                device: "ticket_printer".into(),
                fault: None,
            },
            Command::RecordPrint {
                number: "A001".into(),
                printed: true,
                detail: None,
            },
        ]
    }

    #[test]
    fn every_name_is_the_command_tag_serde_reads() {
        let commands = one_of_each();
        for command in &commands {
            let json = serde_json::to_value(command).unwrap();
            assert_eq!(json["command"], command.name(), "{json}");
            let back: Command = serde_json::from_value(json).unwrap();
            assert_eq!(&back, command);
        }
        let sampled: BTreeSet<&str> = commands.iter().map(Command::name).collect();
        let all: BTreeSet<&str> = Command::VARIANTS.iter().copied().collect();
        assert_eq!(sampled, all, "the sample holds one command of every kind");
    }
}
