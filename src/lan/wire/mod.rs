//! Everything that crosses the LAN, as terminals and the hall node write and read it: pairing, the
//! command envelope and its answers, errors, the display view and the push stream's events.
//!
//! These are not the domain's types. Each is built from the domain by a function that names every
//! field, so the domain can change without the LAN changing by accident, and the limits the hall
//! node enforces live here beside the fields, where `docs/openapi.yaml` is generated from.

pub mod card;
pub mod command;
pub mod event;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use command::Command;
pub use event::{Audience, EVENT_VERSION, TerminalEvent};

use super::auth::Role;
use crate::lang::Localized;
use crate::queue;
use crate::store;

/// Who may read personal data: everyone but a display wall, whose screen the whole lobby reads.
pub fn audience_of(role: Role) -> Audience {
    match role {
        Role::Display => Audience::Lobby,
        Role::Kiosk | Role::Counter { .. } | Role::Admin => Audience::Staff,
    }
}

/// The hall's state (`GET /api/v1/state`) as `audience` may read it: ID hashes stay on the hall
/// node, so staff terminals see citizens by masked name (a ticket or booking is its own reference);
/// the lobby sees tickets and bookings without their citizens.
pub fn state_for(mut state: queue::HallState, audience: Audience) -> queue::HallState {
    // Only tickets with a citizen change, so the rest stay shared with the engine's copy.
    let with_citizen: Vec<queue::TicketId> = state
        .tickets
        .values()
        .filter(|t| t.citizen.is_some())
        .map(|t| t.id)
        .collect();
    for id in with_citizen {
        if let Some(ticket) = state.tickets.get_mut(&id) {
            match audience {
                Audience::Staff => strip_id_hash(ticket),
                Audience::Lobby => ticket.citizen = None,
            }
        }
    }
    let bookings: Vec<String> = state.appointments.keys().cloned().collect();
    for id in bookings {
        if let Some(booking) = state.appointments.get_mut(&id) {
            booking.id_hash = None;
            if audience == Audience::Lobby {
                booking.masked_name = None;
            }
        }
    }
    state
}

/// A ticket as a terminal receives it: its holder's masked name and age group, not the ID hash.
pub fn ticket_for_terminals(mut ticket: queue::Ticket) -> queue::Ticket {
    strip_id_hash(&mut ticket);
    ticket
}

fn strip_id_hash(ticket: &mut queue::Ticket) {
    if let Some(citizen) = &mut ticket.citizen {
        citizen.id_hash.clear();
    }
}

/// The push stream sends a comment line this often, so terminals tell a quiet hall from a dead link.
pub const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(5);

/// The longest device name, in characters.
pub const MAX_DEVICE_NAME_CHARS: usize = 64;

/// Pairs a terminal with a one-time code, tagged by the role it is paired for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "role", rename_all = "snake_case", deny_unknown_fields)]
pub enum PairRequest {
    /// Issues tickets and checks in booked citizens.
    Kiosk {
        #[schema(inline)]
        code: PairingCode,
        #[schema(inline)]
        name: DeviceName,
    },
    /// A window terminal, acting for its own window only.
    Counter {
        #[schema(inline)]
        code: PairingCode,
        #[schema(inline)]
        name: DeviceName,
        /// One of the hall's windows.
        #[schema(minimum = 1, maximum = 65535)]
        window: u16,
    },
    /// Reads events and state; sends nothing; sees no personal data.
    Display {
        #[schema(inline)]
        code: PairingCode,
        #[schema(inline)]
        name: DeviceName,
    },
    /// The hall's IT staff: every command.
    Admin {
        #[schema(inline)]
        code: PairingCode,
        #[schema(inline)]
        name: DeviceName,
    },
}

/// The one-time code shown on the hall node; dashes and case do not matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(example = "KX4M-9QTR-B2")]
pub struct PairingCode(pub String);

/// How staff will recognise the terminal: 1 to 64 characters, without leading or trailing spaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(
    min_length = 1,
    max_length = 64,
    pattern = r"^\S(.*\S)?$",
    example = "window-3"
)]
pub struct DeviceName(pub String);

impl DeviceName {
    /// The name, or why the hall node refuses it.
    pub fn checked(&self) -> Result<&str, String> {
        let name = self.0.as_str();
        if name.is_empty()
            || name.chars().count() > MAX_DEVICE_NAME_CHARS
            || name.trim() != name
            || name.contains(['\n', '\r', '\u{2028}', '\u{2029}'])
        {
            return Err(format!(
                "a device name is 1 to {MAX_DEVICE_NAME_CHARS} characters on one line, \
                 without leading or trailing spaces"
            ));
        }
        Ok(name)
    }
}

impl PairRequest {
    pub fn new(code: &str, name: &str, role: Role) -> PairRequest {
        let code = PairingCode(code.to_string());
        let name = DeviceName(name.to_string());
        match role {
            Role::Kiosk => PairRequest::Kiosk { code, name },
            Role::Counter { window } => PairRequest::Counter { code, name, window },
            Role::Display => PairRequest::Display { code, name },
            Role::Admin => PairRequest::Admin { code, name },
        }
    }

    /// The code, the name and the role asked for.
    pub fn parts(&self) -> (&str, &DeviceName, Role) {
        match self {
            PairRequest::Kiosk { code, name } => (&code.0, name, Role::Kiosk),
            PairRequest::Counter { code, name, window } => {
                (&code.0, name, Role::Counter { window: *window })
            }
            PairRequest::Display { code, name } => (&code.0, name, Role::Display),
            PairRequest::Admin { code, name } => (&code.0, name, Role::Admin),
        }
    }
}

/// A paired terminal's token, with the device as the hall node recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PairResponse {
    /// Shown only this once: the hall node keeps only its hash. Nothing else secret comes with it:
    /// a kiosk sends cards to the hall node to hash, so it never receives the hall key.
    pub token: String,
    pub name: String,
    pub role: RoleName,
    /// A counter's window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    Kiosk,
    Counter,
    Display,
    Admin,
}

impl PairResponse {
    pub fn new(token: String, name: String, role: Role) -> Self {
        let (role, window) = match role {
            Role::Kiosk => (RoleName::Kiosk, None),
            Role::Counter { window } => (RoleName::Counter, Some(window)),
            Role::Display => (RoleName::Display, None),
            Role::Admin => (RoleName::Admin, None),
        };
        PairResponse {
            token,
            name,
            role,
            window,
        }
    }
}

/// One command, sent once however often it is retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandRequest {
    /// Chosen by the terminal and kept across retries: the same id never acts twice. 1 to 51
    /// printable ASCII characters, e.g. a UUIDv7.
    #[schema(min_length = 1, max_length = 51, pattern = "^[!-~]+$")]
    pub command_id: String,
    pub command: Command,
}

/// A window's business system finished a case and asks the hall to open the rating screen for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingRequestBody {
    /// Chosen by the caller and kept across retries, as a command id is; without one, a request
    /// repeated alike still opens the rating once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 51, pattern = "^[!-~]+$")]
    pub request_id: Option<String>,
    /// 办件编号: 1 to 64 printable characters, no spaces around it.
    #[schema(min_length = 1, max_length = 64, pattern = r"^\S(.*\S)?$")]
    pub case_number: String,
    /// The visit's ticket number (A012); by default the window's latest finished visit that is not
    /// yet rated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// The name of the paired kiosk that takes the rating instead of the window's evaluator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 64)]
    pub kiosk: Option<String>,
}

/// A command the engine carried out. `seq` is the log sequence after it: a terminal that has seen
/// this far has seen its effects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CommandDone {
    pub command_id: String,
    pub result: DoneResult,
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DoneResult {
    pub done: Reply,
}

/// What the terminal learns, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reply {
    /// A ticket issued, called or changed.
    Ticket {
        /// The ticket as `/api/v1/state` lists it.
        #[schema(value_type = Object)]
        ticket: Box<queue::Ticket>,
        /// For a new ticket: waiting tickets of its service ahead of it.
        people_ahead: Option<u32>,
    },
    /// A window signed in, out, paused or resumed.
    Window {
        #[schema(inline)]
        window: WindowState,
    },
    /// Recorded, or nothing needed recording.
    Accepted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WindowState {
    pub number: u16,
    /// 工号 of the staff member signed in.
    pub staff: Option<String>,
    pub paused: bool,
    /// The ticket called to or served at this window.
    pub current: Option<u64>,
}

impl CommandDone {
    /// The answer for a command the engine carried out with `reply`.
    pub fn new(command_id: String, reply: queue::Reply, seq: u64) -> CommandDone {
        let done = match reply {
            queue::Reply::Ticket {
                ticket,
                people_ahead,
            } => Reply::Ticket {
                ticket: Box::new(ticket_for_terminals(*ticket)),
                people_ahead,
            },
            queue::Reply::Window {
                window:
                    queue::WindowState {
                        number,
                        staff,
                        paused,
                        current,
                    },
            } => Reply::Window {
                window: WindowState {
                    number,
                    staff,
                    paused,
                    current,
                },
            },
            queue::Reply::Accepted => Reply::Accepted,
        };
        CommandDone {
            command_id,
            result: DoneResult { done },
            seq,
        }
    }

    /// The outcome as the terminal's screens read it.
    pub fn into_outcome(self) -> store::Outcome {
        let reply = match self.result.done {
            Reply::Ticket {
                ticket,
                people_ahead,
            } => queue::Reply::Ticket {
                ticket,
                people_ahead,
            },
            Reply::Window {
                window:
                    WindowState {
                        number,
                        staff,
                        paused,
                        current,
                    },
            } => queue::Reply::Window {
                window: queue::WindowState {
                    number,
                    staff,
                    paused,
                    current,
                },
            },
            Reply::Accepted => queue::Reply::Accepted,
        };
        store::Outcome {
            command_id: self.command_id,
            result: store::CommandResult::Done(reply),
            seq: self.seq,
        }
    }
}

/// The answer to a command the engine refused: its refusal, and where the log stood.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefusedResponse {
    #[schema(example = "queue_empty")]
    pub code: String,
    #[schema(example = "no ticket is waiting for window 3")]
    pub message: String,
    pub command_id: String,
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub seq: u64,
}

impl RefusedResponse {
    pub fn into_outcome(self) -> store::Outcome {
        store::Outcome {
            command_id: self.command_id,
            result: store::CommandResult::Refused(queue::RefusalWire {
                code: self.code,
                message: self.message,
            }),
            seq: self.seq,
        }
    }
}

/// A 409: the engine refused the command, or the command id was used before for another command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Conflict {
    Refused(RefusedResponse),
    /// `command_id_reused`.
    Reused(ApiError),
}

/// The one shape every refused request is answered with. `code` is one of `unauthorized`,
/// `forbidden`, `body_too_large`, `bad_body`, `malformed_json`, `invalid_request`, `bad_command_id`,
/// `command_id_reused`, `bad_query`, `bad_after`, `bad_last_event_id`, `not_found`, `unavailable`,
/// `pairing_paused`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    /// The HTTP status it came with; not part of the body.
    #[serde(skip)]
    pub status: u16,
    #[schema(example = "invalid_request")]
    pub code: String,
    pub message: String,
}

/// What a display wall shows: the calls standing at the windows, newest first, and how many wait
/// per service. No citizen data: a wall is read by everyone in the lobby.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DisplayView {
    /// The log sequence this view is as of.
    pub seq: u64,
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub hall_name: Localized,
    /// Language codes, in the hall's order.
    pub languages: Vec<String>,
    pub calls: Vec<CallShown>,
    pub waiting: Vec<WaitingShown>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CallShown {
    pub ticket: u64,
    #[schema(example = "A012")]
    pub number: String,
    pub window: u16,
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub window_name: Localized,
    /// Still called, not yet being served: the wall blinks it.
    pub waiting_for_citizen: bool,
    pub called_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WaitingShown {
    pub service: String,
    pub prefix: String,
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub name: Localized,
    pub count: u32,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, or why not.
    #[schema(example = "ok")]
    pub status: String,
    /// The log's last sequence, when the engine answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The hall's link to the government-service platform, when this node runs one. Added without
    /// a new version: a reader that does not know it skips it, and one that does reads its absence
    /// as "no link to show".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformLinkStatus>,
}

/// How the hall node's link to the platform stands, for the window panels of every board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlatformLinkStatus {
    /// No acknowledgement from the platform for longer than the hall's
    /// `[platform] offline_mark_after_minutes`: the panels show "Platform offline".
    pub cut_off: bool,
    /// Seconds since the first failed try with no acknowledgement after it; absent while in touch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unacknowledged_for_s: Option<u64>,
}
