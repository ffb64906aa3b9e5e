//! What the screens show, computed from the hall state: pure functions, tested without a window.

use crate::config::{HallSetup, Lang, localized};
use crate::queue::{HallState, Ticket, TicketState, stats};

/// Whether the window panels mark the hall as cut off from the platform: no acknowledgement for at
/// least `mark_after_minutes` while events wait, by the monotonic clock at `now_mono_ms`.
pub fn platform_cut_off(
    sync: &crate::ports::PlatformSync,
    now_mono_ms: i64,
    mark_after_minutes: u32,
) -> bool {
    sync.cut_off_beyond(now_mono_ms, mark_after_minutes)
}

/// Assumed minutes per citizen until the day has finished visits to measure.
const DEFAULT_SERVICE_MINUTES: f64 = 5.0;

pub fn waiting_count(state: &HallState, service: &str) -> u32 {
    state
        .tickets
        .values()
        .filter(|t| t.service == service && t.state == TicketState::Waiting)
        .count() as u32
}

/// Tickets issued today for `service`, as the daily cap counts them.
pub fn issued_count(state: &HallState, service: &str) -> u32 {
    state
        .tickets
        .values()
        .filter(|t| t.service == service)
        .count() as u32
}

/// A rough wait for a newcomer: the citizens ahead times the day's average service time, shared by
/// the staffed windows serving the service. Shown as a hint only; the queue order is the engine's.
pub fn estimated_wait_minutes(setup: &HallSetup, state: &HallState, service: &str) -> u32 {
    let waiting = waiting_count(state, service);
    if waiting == 0 {
        return 0;
    }
    let figures = stats::per_service(setup, state.tickets.values());
    let per_citizen = figures
        .iter()
        .find(|f| f.service == service)
        .and_then(|f| f.avg_service_s)
        .map(|s| s / 60.0)
        .unwrap_or(DEFAULT_SERVICE_MINUTES);
    let staffed = setup
        .windows_serving(service)
        .into_iter()
        .filter(|w| state.window(*w).is_some_and(|w| w.staff.is_some()))
        .count()
        .max(1);
    (f64::from(waiting) * per_citizen / staffed as f64).ceil() as u32
}

/// The windows a service is served at, e.g. "1, 2, 3".
pub fn windows_text(setup: &HallSetup, ticket: &Ticket) -> String {
    let windows = match ticket.only_window {
        Some(w) => vec![w],
        None => setup.windows_serving(&ticket.service),
    };
    windows
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn service_name(setup: &HallSetup, service: &str, lang: Lang) -> String {
    setup
        .service(service)
        .map(|s| localized(&s.name, lang).to_string())
        .unwrap_or_else(|| service.to_string())
}

/// A call as the wall lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub number: String,
    pub window: u16,
}

/// The latest calls of the day, newest first, from the state (used when a wall starts).
pub fn recent_calls(state: &HallState, limit: usize) -> Vec<Call> {
    let mut called: Vec<&Ticket> = state
        .tickets
        .values()
        .filter(|t| t.window.is_some() && t.first_called_ms.is_some())
        .collect();
    called.sort_by_key(|t| std::cmp::Reverse((t.first_called_ms, t.id)));
    called
        .into_iter()
        .take(limit)
        .map(|t| Call {
            number: t.number.clone(),
            window: t.window.unwrap_or_default(),
        })
        .collect()
}

/// Minutes from issue to the first call, or to `now_ms` while still not called.
pub fn waited_minutes(ticket: &Ticket, now_ms: i64) -> i32 {
    let until = ticket.first_called_ms.unwrap_or(now_ms);
    ((until - ticket.issued_ms).max(0) / 60_000) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_mark_shows_from_the_limit_until_the_next_acknowledgement() {
        let sync = crate::ports::PlatformSync::default();
        assert!(!platform_cut_off(&sync, 1_000_000, 10), "in touch");
        sync.mark_failing(1_000_000);
        sync.mark_failing(1_200_000);
        assert!(!platform_cut_off(&sync, 1_000_000 + 10 * 60_000 - 1, 10));
        assert!(
            platform_cut_off(&sync, 1_000_000 + 10 * 60_000, 10),
            "counted from the first failed try"
        );
        sync.mark_in_touch();
        assert!(!platform_cut_off(&sync, 1_000_000 + 60 * 60_000, 10));
    }
    use crate::queue::{Channel, PrintState, WindowState};

    fn ticket(id: u64, service: &str, state: TicketState) -> Ticket {
        Ticket {
            id,
            number: format!("A{id:03}"),
            business_day: chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            service: service.into(),
            channel: Channel::Kiosk,
            issued_ms: 0,
            queue_ms: 0,
            state,
            window: None,
            only_window: None,
            calls: 0,
            first_called_ms: None,
            started_ms: None,
            finished_ms: None,
            staff: None,
            citizen: None,
            appointment: None,
            green: false,
            requeued: false,
            rating: None,
            rating_request: None,
            status_token: None,
            print: PrintState::Unknown,
        }
    }

    fn state_with(tickets: Vec<Ticket>) -> HallState {
        let mut state = HallState::default();
        for t in tickets {
            state.tickets.insert(t.id, t);
        }
        state
    }

    #[test]
    fn wait_estimate_shares_the_queue_among_staffed_windows() {
        let setup = crate::config::example();
        // Six waiting for SB at the default five minutes each.
        let mut state = state_with(
            (1..=6)
                .map(|i| ticket(i, "SB", TicketState::Waiting))
                .collect(),
        );
        assert_eq!(estimated_wait_minutes(&setup, &state, "SB"), 30);
        // Windows 1, 2 and 3 serve SB; two staffed halve the wait.
        for w in [1, 3] {
            state.windows.insert(
                w,
                WindowState {
                    number: w,
                    staff: Some("1001".into()),
                    ..WindowState::default()
                },
            );
        }
        assert_eq!(estimated_wait_minutes(&setup, &state, "SB"), 15);
        assert_eq!(estimated_wait_minutes(&setup, &state, "YB"), 0);
    }

    #[test]
    fn wait_estimate_uses_the_days_measured_service_time() {
        let setup = crate::config::example();
        let mut done = ticket(1, "SB", TicketState::Finished);
        done.started_ms = Some(0);
        done.finished_ms = Some(2 * 60_000);
        let state = state_with(vec![
            done,
            ticket(2, "SB", TicketState::Waiting),
            ticket(3, "SB", TicketState::Waiting),
        ]);
        assert_eq!(estimated_wait_minutes(&setup, &state, "SB"), 4);
    }

    #[test]
    fn counts_separate_waiting_from_issued() {
        let state = state_with(vec![
            ticket(1, "SB", TicketState::Waiting),
            ticket(2, "SB", TicketState::Finished),
            ticket(3, "YB", TicketState::Waiting),
        ]);
        assert_eq!(waiting_count(&state, "SB"), 1);
        assert_eq!(issued_count(&state, "SB"), 2);
    }

    #[test]
    fn windows_of_a_ticket_follow_the_config_or_its_transfer() {
        let setup = crate::config::example();
        let mut t = ticket(1, "SB", TicketState::Waiting);
        assert_eq!(windows_text(&setup, &t), "1, 2, 3");
        t.only_window = Some(7);
        assert_eq!(windows_text(&setup, &t), "7");
    }

    #[test]
    fn recent_calls_are_newest_first() {
        let mut a = ticket(1, "SB", TicketState::Finished);
        a.window = Some(1);
        a.first_called_ms = Some(1_000);
        let mut b = ticket(2, "SB", TicketState::Called);
        b.window = Some(3);
        b.first_called_ms = Some(2_000);
        let state = state_with(vec![a, b, ticket(3, "SB", TicketState::Waiting)]);
        let calls = recent_calls(&state, 5);
        assert_eq!(
            calls,
            vec![
                Call {
                    number: "A002".into(),
                    window: 3
                },
                Call {
                    number: "A001".into(),
                    window: 1
                },
            ]
        );
        assert_eq!(recent_calls(&state, 1).len(), 1);
    }

    #[test]
    fn waited_minutes_stop_at_the_first_call() {
        let mut t = ticket(1, "SB", TicketState::Called);
        t.issued_ms = 0;
        t.first_called_ms = Some(7 * 60_000 + 59_000);
        assert_eq!(waited_minutes(&t, 60 * 60_000), 7);
        t.first_called_ms = None;
        assert_eq!(waited_minutes(&t, 3 * 60_000), 3);
    }
}
