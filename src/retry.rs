//! How long a board waits before it tries the hall node again.
//!
//! Each step is twice the one before, up to a cap, and each wait is drawn at random between half and
//! all of its step ("equal jitter"). The randomness matters when the hall node restarts: every
//! terminal in the hall lost it in the same instant, and without it they would all knock again in
//! the same instants too. The lower half keeps a terminal from trying again at once, which a wait
//! drawn from zero ("full jitter") would do now and then against a node that is still down.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

/// Each step is this many times the one before, until the cap.
pub const FACTOR: f32 = 2.0;

/// A schedule of waits: the first step and the longest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait lies between half of this and this.
    pub first: Duration,
    /// No wait is longer than this.
    pub cap: Duration,
}

impl Backoff {
    /// Reconnecting a board's links to the hall node: its push stream, its first look at the state.
    /// The cap keeps a terminal back within seconds of the hall node's return.
    pub const RECONNECT: Backoff = Backoff {
        first: Duration::from_millis(250),
        cap: Duration::from_secs(5),
    };

    /// The waits of one outage, from the first on; the schedule never runs out.
    pub fn delays(self) -> Delays {
        let first = self.first.min(self.cap);
        // The crate draws each wait between its step and twice its step; halving the steps it is
        // given puts each wait between half and all of ours, so the cap holds.
        Delays(
            ExponentialBuilder::new()
                .with_factor(FACTOR)
                .with_min_delay(first / 2)
                .with_max_delay(self.cap / 2)
                .with_jitter()
                .without_max_times()
                .build(),
        )
    }

    /// The step of the `n`th wait (from 0): each wait lies between half of it and it.
    pub fn step(self, n: u32) -> Duration {
        let first = self.first.min(self.cap);
        let factor = FACTOR.powi(n.min(64) as i32);
        Duration::try_from_secs_f32(first.as_secs_f32() * factor)
            .unwrap_or(self.cap)
            .min(self.cap)
    }
}

/// The waits of one outage, in order.
#[derive(Debug)]
pub struct Delays(ExponentialBackoff);

impl Delays {
    /// The next wait.
    pub fn next_delay(&mut self) -> Duration {
        self.0
            .next()
            .expect("a schedule without a limit of tries never ends")
    }
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        Some(self.next_delay())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The crate computes in `f32` seconds: a few microseconds either way are rounding.
    const ROUNDING: Duration = Duration::from_micros(5);

    #[test]
    fn each_wait_lies_between_half_its_step_and_its_step_and_never_passes_the_cap() {
        let backoff = Backoff {
            first: Duration::from_millis(100),
            cap: Duration::from_secs(2),
        };
        for _ in 0..200 {
            for (n, wait) in backoff.delays().take(12).enumerate() {
                let step = backoff.step(n as u32);
                assert!(
                    wait + ROUNDING >= step / 2 && wait <= step + ROUNDING,
                    "wait {n} is {wait:?}, its step {step:?}"
                );
                assert!(wait <= backoff.cap + ROUNDING, "wait {n} is {wait:?}");
            }
        }
        let steps: Vec<_> = (0..7).map(|n| backoff.step(n).as_millis()).collect();
        assert_eq!(steps, [100, 200, 400, 800, 1600, 2000, 2000]);
    }

    #[test]
    fn waits_are_drawn_at_random_so_terminals_spread_out() {
        let first_waits: Vec<Duration> = (0..50)
            .map(|_| Backoff::RECONNECT.delays().next_delay())
            .collect();
        assert!(
            first_waits.iter().any(|w| *w != first_waits[0]),
            "fifty terminals would all knock at once: {first_waits:?}"
        );
        let capped: Vec<Duration> = Backoff::RECONNECT.delays().skip(10).take(50).collect();
        assert!(
            capped.iter().any(|w| *w != capped[0]),
            "at the cap too: {capped:?}"
        );
    }

    #[test]
    fn a_first_step_above_the_cap_is_held_to_the_cap() {
        let backoff = Backoff {
            first: Duration::from_secs(10),
            cap: Duration::from_secs(1),
        };
        for wait in backoff.delays().take(5) {
            assert!(wait <= backoff.cap + ROUNDING, "{wait:?}");
            assert!(wait + ROUNDING >= backoff.cap / 2, "{wait:?}");
        }
    }
}
