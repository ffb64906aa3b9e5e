//! The role table: what each kind of paired terminal may send.

use serde::{Deserialize, Serialize};

use crate::queue::Command;

/// What a paired terminal is allowed to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    /// Issues tickets and checks in booked citizens.
    Kiosk,
    /// A window terminal: acts only for its own window.
    Counter { window: u16 },
    /// Reads events and state; sends nothing.
    Display,
    /// The hall's IT staff: every command.
    Admin,
}

/// Why a role name and window make no role: a pairing request, `hallq pair` or a database row
/// gave a bad pair.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error("a counter is paired for one window: give \"window\"")]
    CounterWithoutWindow,
    #[error("a {} is not tied to a window: leave out \"window\"", .0.name())]
    WindowNotTaken(Role),
    #[error("unknown role \"{0}\" (kiosk, counter, display or admin)")]
    Unknown(String),
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Kiosk => "kiosk",
            Role::Counter { .. } => "counter",
            Role::Display => "display",
            Role::Admin => "admin",
        }
    }

    /// Builds a role from its name and window, as a pairing request or the database gives them.
    pub fn from_parts(name: &str, window: Option<u16>) -> Result<Role, RoleError> {
        match (name, window) {
            ("kiosk", None) => Ok(Role::Kiosk),
            ("display", None) => Ok(Role::Display),
            ("admin", None) => Ok(Role::Admin),
            ("counter", Some(window)) => Ok(Role::Counter { window }),
            ("counter", None) => Err(RoleError::CounterWithoutWindow),
            ("kiosk", Some(_)) => Err(RoleError::WindowNotTaken(Role::Kiosk)),
            ("display", Some(_)) => Err(RoleError::WindowNotTaken(Role::Display)),
            ("admin", Some(_)) => Err(RoleError::WindowNotTaken(Role::Admin)),
            _ => Err(RoleError::Unknown(name.to_string())),
        }
    }

    pub(super) fn window(self) -> Option<u16> {
        match self {
            Role::Counter { window } => Some(window),
            _ => None,
        }
    }

    /// Why this role may not rate a visit served at `served_at` (the ticket's window), or `None` when
    /// it may: a window terminal rates only the visits its own window served.
    pub fn refuses_rating(self, number: &str, served_at: Option<u16>) -> Option<String> {
        match self {
            Role::Counter { window } if served_at != Some(window) => Some(format!(
                "the terminal of window {window} may rate only visits its window served, not {number}"
            )),
            _ => None,
        }
    }

    /// Why this role may not send `command`, or `None` when it may.
    pub fn refuses(self, command: &Command) -> Option<String> {
        match self {
            Role::Admin => None,
            Role::Display => Some("a display may only read".into()),
            Role::Kiosk => match command {
                // Staff may issue outside opening hours; a kiosk is citizens' self-service only.
                Command::IssueTicket { by_staff: true, .. } => {
                    Some("a kiosk may not issue a ticket as staff".into())
                }
                // A kiosk serves no one: a rating belongs to the window that served the visit.
                Command::Rate { .. } => {
                    Some("a kiosk may not rate a visit; the window that served it does".into())
                }
                Command::IssueTicket { .. }
                | Command::CheckIn { .. }
                | Command::RecordPrint { .. }
                | Command::ReportDevice { .. } => None,
                other => Some(format!("a kiosk may not send {}", other.name())),
            },
            Role::Counter { window } => match (command.window(), command) {
                (Some(w), _) if w == window => None,
                (Some(w), _) => Some(format!(
                    "the terminal of window {window} may not act for window {w}"
                )),
                // Staff at a window also take ratings on the window's rating pad, re-queue a citizen
                // who comes back after a no-show, and flag the green channel.
                (
                    None,
                    Command::Rate { .. }
                    | Command::Requeue { .. }
                    | Command::FlagGreenChannel { .. }
                    | Command::ReportDevice { .. },
                ) => None,
                (None, other) => Some(format!("a window terminal may not send {}", other.name())),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_send_only_their_own_commands() {
        let call = |window| Command::CallNext { window };
        let issue = Command::IssueTicket {
            service: "SB".into(),
            citizen: None,
            by_staff: false,
        };
        assert!(Role::Display.refuses(&issue).is_some());
        assert!(Role::Kiosk.refuses(&issue).is_none());
        let as_staff = Command::IssueTicket {
            service: "SB".into(),
            citizen: None,
            by_staff: true,
        };
        assert_eq!(
            Role::Kiosk.refuses(&as_staff).as_deref(),
            Some("a kiosk may not issue a ticket as staff")
        );
        assert!(Role::Admin.refuses(&as_staff).is_none());
        assert!(Role::Kiosk.refuses(&call(3)).is_some());
        assert!(Role::Counter { window: 3 }.refuses(&call(3)).is_none());
        assert!(Role::Counter { window: 3 }.refuses(&call(4)).is_some());
        assert!(Role::Counter { window: 3 }.refuses(&issue).is_some());
        assert!(Role::Admin.refuses(&call(4)).is_none());
        let rate = Command::Rate {
            number: "A001".into(),
            rating: crate::queue::RatingInput::Unrated {
                why: crate::queue::UnratedWhy::Declined,
            },
        };
        assert!(Role::Kiosk.refuses(&rate).is_some());
        assert!(Role::Counter { window: 3 }.refuses(&rate).is_none());
    }

    #[test]
    fn a_window_rates_only_the_visits_it_served() {
        let window = Role::Counter { window: 2 };
        assert_eq!(
            window.refuses_rating("A001", Some(1)).as_deref(),
            Some("the terminal of window 2 may rate only visits its window served, not A001")
        );
        assert!(window.refuses_rating("A001", None).is_some());
        assert!(window.refuses_rating("A001", Some(2)).is_none());
        assert!(Role::Admin.refuses_rating("A001", Some(1)).is_none());
    }

    #[test]
    fn role_parts_must_agree_and_say_what_is_wrong() {
        let refused = |name, window| Role::from_parts(name, window).unwrap_err().to_string();
        assert_eq!(
            refused("counter", None),
            "a counter is paired for one window: give \"window\""
        );
        assert_eq!(
            refused("kiosk", Some(2)),
            "a kiosk is not tied to a window: leave out \"window\""
        );
        assert_eq!(
            refused("display", Some(2)),
            "a display is not tied to a window: leave out \"window\""
        );
        assert_eq!(
            refused("janitor", None),
            "unknown role \"janitor\" (kiosk, counter, display or admin)"
        );
        assert_eq!(
            Role::from_parts("counter", Some(2)),
            Ok(Role::Counter { window: 2 })
        );
    }
}
