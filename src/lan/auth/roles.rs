//! The role table: what each kind of paired terminal may send.

use serde::{Deserialize, Serialize};

use crate::queue::{Command, Evaluator, RatingRequest, Ticket};

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

    /// Why the terminal `device` in this role may not rate `ticket`, or `None` when it may: a window
    /// terminal rates only the visits its own window served; a kiosk only a visit whose rating a
    /// window's business system opened on that kiosk.
    pub fn refuses_rating(self, device: &str, ticket: &Ticket) -> Option<String> {
        let number = &ticket.number;
        match self {
            Role::Counter { window } if ticket.window != Some(window) => Some(format!(
                "the terminal of window {window} may rate only visits its window served, not {number}"
            )),
            Role::Kiosk => match &ticket.rating_request {
                Some(RatingRequest {
                    evaluator: Evaluator::Kiosk { name },
                    ..
                }) if name == device => None,
                _ => Some(format!(
                    "a kiosk rates a visit only when the window's business system opened the rating on it; {number} has no rating open at this kiosk"
                )),
            },
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
                // A kiosk serves no one: it takes a rating only where a business system opened one
                // on it, which the hall node checks against the visit (`refuses_rating`).
                Command::IssueTicket { .. }
                | Command::Rate { .. }
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
                // Staff at a window also take ratings on the window's rating pad (only of visits it
                // served: `refuses_rating`), re-queue a citizen who comes back after a no-show, and
                // flag the green channel. A rating request names its window, checked above.
                (
                    None,
                    Command::Rate { .. }
                    | Command::Requeue { .. }
                    | Command::FlagGreenChannel { .. }
                    | Command::ReportDevice { .. },
                ) => None,
                // Staff issue a ticket by hand: the check-in the hall falls back to while its list of
                // bookings is stale (`stale_bookings = "staff_check_in"`), or a citizen the kiosk
                // cannot serve. As staff only: a window is not a self-service kiosk.
                (None, Command::IssueTicket { by_staff: true, .. }) => None,
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
        assert!(
            Role::Counter { window: 3 }.refuses(&as_staff).is_none(),
            "staff at a window issue a ticket by hand"
        );
        assert!(Role::Admin.refuses(&call(4)).is_none());
        let rate = Command::Rate {
            number: "A001".into(),
            rating: crate::queue::RatingInput::Unrated {
                why: crate::queue::UnratedWhy::Declined,
            },
        };
        assert!(
            Role::Kiosk.refuses(&rate).is_none(),
            "checked against the visit"
        );
        assert!(Role::Counter { window: 3 }.refuses(&rate).is_none());
        let request = |window| Command::RequestRating {
            window,
            case_number: "330102-2026-000123".into(),
            ticket: None,
            kiosk: None,
        };
        assert!(Role::Counter { window: 3 }.refuses(&request(3)).is_none());
        assert_eq!(
            Role::Counter { window: 3 }.refuses(&request(4)).as_deref(),
            Some("the terminal of window 3 may not act for window 4")
        );
        assert!(Role::Kiosk.refuses(&request(3)).is_some());
        assert!(Role::Display.refuses(&request(3)).is_some());
    }

    fn finished_at(window: u16, request: Option<Evaluator>) -> Ticket {
        let mut ticket: Ticket = serde_json::from_value(serde_json::json!({
            "id": 1, "number": "A001", "business_day": "2026-11-28", "service": "SB",
            "channel": "kiosk", "issued_ms": 0, "queue_ms": 0, "state": "finished",
            "window": window, "calls": 1, "green": false, "requeued": false, "print": "printed"
        }))
        .unwrap();
        ticket.rating_request = request.map(|evaluator| RatingRequest {
            window,
            case_number: crate::queue::CaseNumber::parse("330102-2026-000123").unwrap(),
            evaluator,
        });
        ticket
    }

    #[test]
    fn a_window_rates_only_the_visits_it_served() {
        let window = Role::Counter { window: 2 };
        assert_eq!(
            window
                .refuses_rating("窗口2", &finished_at(1, None))
                .as_deref(),
            Some("the terminal of window 2 may rate only visits its window served, not A001")
        );
        let mut never_called = finished_at(2, None);
        never_called.window = None;
        assert!(window.refuses_rating("窗口2", &never_called).is_some());
        assert!(
            window
                .refuses_rating("窗口2", &finished_at(2, None))
                .is_none()
        );
        assert!(
            Role::Admin
                .refuses_rating("admin", &finished_at(1, None))
                .is_none()
        );
    }

    #[test]
    fn a_kiosk_rates_only_a_visit_whose_rating_was_opened_on_it() {
        let on = |name: &str| Evaluator::Kiosk { name: name.into() };
        assert!(
            Role::Kiosk
                .refuses_rating("自助机1", &finished_at(1, Some(on("自助机1"))))
                .is_none()
        );
        for (ticket, why) in [
            (finished_at(1, None), "no request"),
            (
                finished_at(1, Some(Evaluator::Window)),
                "opened at the window",
            ),
            (
                finished_at(1, Some(on("自助机2"))),
                "opened at another kiosk",
            ),
        ] {
            assert_eq!(
                Role::Kiosk.refuses_rating("自助机1", &ticket).as_deref(),
                Some(
                    "a kiosk rates a visit only when the window's business system opened the rating on it; A001 has no rating open at this kiosk"
                ),
                "{why}"
            );
        }
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
