//! What a display wall shows, derived from the hall's state: the calls standing at the windows, newest
//! first, and how many wait per service. No citizen data: a wall is read by everyone in the lobby.

use serde::{Deserialize, Serialize};

use crate::config::{HallSetup, Localized};
use crate::queue::{HallState, TicketId, TicketState};

/// Calls shown at most; older ones have long been served.
const MAX_CALLS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayView {
    /// The log sequence this view is as of.
    pub seq: u64,
    pub hall_name: Localized,
    pub languages: Vec<String>,
    pub calls: Vec<CallShown>,
    pub waiting: Vec<WaitingShown>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallShown {
    pub ticket: TicketId,
    pub number: String,
    pub window: u16,
    pub window_name: Localized,
    /// Still called, not yet being served: the wall blinks it.
    pub waiting_for_citizen: bool,
    pub called_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingShown {
    pub service: String,
    pub prefix: String,
    pub name: Localized,
    pub count: u32,
}

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
                count: state
                    .tickets
                    .values()
                    .filter(|t| t.service == s.code && t.state == TicketState::Waiting)
                    .count() as u32,
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
