//! What a display wall shows, derived from the hall's state: the calls standing at the windows, newest
//! first, and how many wait per service. No citizen data: a wall is read by everyone in the lobby.

pub use super::wire::{CallShown, DisplayView, WaitingShown};
use crate::config::HallSetup;
use crate::queue::{HallState, TicketState};

/// Calls shown at most; older ones have long been served.
const MAX_CALLS: usize = 10;

impl DisplayView {
    pub fn of(setup: &HallSetup, state: &HallState) -> DisplayView {
        let mut calls: Vec<CallShown> = state
            .windows
            .values()
            .filter_map(|w| w.current.and_then(|id| state.tickets.get(&id)))
            .filter_map(|t| {
                let window = t.window?;
                Some(CallShown {
                    ticket: t.id,
                    number: t.number.clone(),
                    window,
                    window_name: setup
                        .window(window)
                        .map(|w| w.name.clone())
                        .unwrap_or_default(),
                    waiting_for_citizen: t.state == TicketState::Called,
                    called_ms: t.first_called_ms.unwrap_or_default(),
                })
            })
            .collect();
        calls.sort_by_key(|c| std::cmp::Reverse((c.called_ms, c.ticket)));
        calls.truncate(MAX_CALLS);
        let waiting = setup
            .config
            .services
            .iter()
            .map(|s| WaitingShown {
                service: s.code.clone(),
                prefix: s.prefix.clone(),
                name: s.name.clone(),
                // From the index: a wall asks after every call, and the day may hold 100,000.
                count: state.index().waiting_count(&s.code),
            })
            .collect();
        DisplayView {
            seq: state.last_seq,
            hall_name: setup.config.hall.name.clone(),
            languages: setup
                .config
                .hall
                .languages
                .iter()
                .map(|l| l.code().to_string())
                .collect(),
            calls,
            waiting,
        }
    }
}
