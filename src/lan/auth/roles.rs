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
    pub fn from_parts(name: &str, window: Option<u16>) -> Result<Role, String> {
        match (name, window) {
            ("kiosk", None) => Ok(Role::Kiosk),
            ("display", None) => Ok(Role::Display),
            ("admin", None) => Ok(Role::Admin),
            ("counter", Some(window)) => Ok(Role::Counter { window }),
            ("counter", None) => Err("a counter is paired for one window: give \"window\"".into()),
            ("kiosk" | "display" | "admin", Some(_)) => Err(format!(
                "a {name} is not tied to a window: leave out \"window\""
            )),
            _ => Err(format!(
                "unknown role \"{name}\" (kiosk, counter, display or admin)"
            )),
        }
    }

    pub(super) fn window(self) -> Option<u16> {
        match self {
            Role::Counter { window } => Some(window),
            _ => None,
        }
    }

    /// Why this role may not send `command`, or `None` when it may.
    pub fn refuses(self, command: &Command) -> Option<String> {
        match self {
            Role::Admin => None,
            Role::Display => Some("a display may only read".into()),
            Role::Kiosk => match command {
                Command::IssueTicket { .. }
                | Command::CheckIn { .. }
                | Command::Rate { .. }
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
        assert!(Role::Kiosk.refuses(&call(3)).is_some());
        assert!(Role::Counter { window: 3 }.refuses(&call(3)).is_none());
        assert!(Role::Counter { window: 3 }.refuses(&call(4)).is_some());
        assert!(Role::Counter { window: 3 }.refuses(&issue).is_some());
        assert!(Role::Admin.refuses(&call(4)).is_none());
    }

    #[test]
    fn role_parts_must_agree() {
        assert!(Role::from_parts("counter", None).is_err());
        assert!(Role::from_parts("kiosk", Some(2)).is_err());
        assert!(Role::from_parts("janitor", None).is_err());
        assert_eq!(
            Role::from_parts("counter", Some(2)),
            Ok(Role::Counter { window: 2 })
        );
    }
}
