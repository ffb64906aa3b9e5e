//! Call buttons of a window terminal without a touchscreen: call next, recall, finish, no-show.
//!
//! Presses come from a source — GPIO pins on the board (feature `gpio`), or lines on standard input in
//! the demo and tests — and go through one path: debounced per button, then sent one at a time as the
//! window's command. A press that arrives while the previous one is still being sent is dropped, so a
//! nervous double press never calls two citizens.

#[cfg(feature = "gpio")]
pub mod gpio;
pub mod stdin;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::ports::Hall;
use crate::queue::Command;
use crate::store::{CommandResult, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Button {
    CallNext,
    Recall,
    Finish,
    NoShow,
}

impl Button {
    pub const ALL: [Button; 4] = [
        Button::CallNext,
        Button::Recall,
        Button::Finish,
        Button::NoShow,
    ];

    pub fn command(self, window: u16) -> Command {
        match self {
            Button::CallNext => Command::CallNext { window },
            Button::Recall => Command::Recall { window },
            Button::Finish => Command::Finish { window },
            Button::NoShow => Command::NoShow { window },
        }
    }
}

/// One press, with when it happened (the source's time, not when it was read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Press {
    pub button: Button,
    pub at: Instant,
}

/// Counts presses of one button closer together than `interval` once: contacts bounce, and staff
/// press twice when a terminal seems slow.
pub struct Debouncer {
    interval: Duration,
    last: HashMap<Button, Instant>,
}

impl Debouncer {
    pub fn new(interval: Duration) -> Debouncer {
        Debouncer {
            interval,
            last: HashMap::new(),
        }
    }

    pub fn accept(&mut self, press: Press) -> bool {
        let bounced = self
            .last
            .get(&press.button)
            .is_some_and(|last| press.at.saturating_duration_since(*last) < self.interval);
        if !bounced {
            self.last.insert(press.button, press.at);
        }
        !bounced
    }
}

/// Turns presses into the window's commands until the press source ends. Returns what each sent
/// command came to, for logs and tests.
pub async fn run(
    mut presses: mpsc::Receiver<Press>,
    window: u16,
    debounce: Duration,
    hall: Hall,
) -> Vec<Outcome> {
    let mut debouncer = Debouncer::new(debounce);
    let mut outcomes = Vec::new();
    while let Some(press) = presses.recv().await {
        if !debouncer.accept(press) {
            continue;
        }
        match hall.send(press.button.command(window)).await {
            Ok(outcome) => {
                if let CommandResult::Refused(refusal) = &outcome.result {
                    tracing::info!(window, "{:?} refused: {}", press.button, refusal.message);
                }
                outcomes.push(outcome);
            }
            Err(e) => tracing::warn!(window, "{:?} not sent: {e}", press.button),
        }
        // Presses made while that command was on its way were made without seeing its result.
        while let Ok(dropped) = presses.try_recv() {
            tracing::info!(window, "{:?} pressed while busy: ignored", dropped.button);
        }
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presses_within_the_interval_count_once_per_button() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut debouncer = Debouncer::new(Duration::from_millis(300));
        let press = |button, ms| Press { button, at: at(ms) };
        assert!(debouncer.accept(press(Button::CallNext, 0)));
        assert!(!debouncer.accept(press(Button::CallNext, 120)));
        assert!(
            debouncer.accept(press(Button::Recall, 150)),
            "another button"
        );
        assert!(!debouncer.accept(press(Button::CallNext, 299)));
        assert!(debouncer.accept(press(Button::CallNext, 301)));
    }

    #[test]
    fn each_button_sends_its_command_for_the_window() {
        assert_eq!(Button::CallNext.command(4), Command::CallNext { window: 4 });
        assert_eq!(Button::Recall.command(4), Command::Recall { window: 4 });
        assert_eq!(Button::Finish.command(4), Command::Finish { window: 4 });
        assert_eq!(Button::NoShow.command(4), Command::NoShow { window: 4 });
    }
}
