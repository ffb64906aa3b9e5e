//! Pausing pairing after a run of wrong codes.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

/// Wrong pairing codes allowed per minute before pairing pauses: codes are long enough that guessing
/// is hopeless, and this keeps it so even for a script on the LAN.
const PAIRING_FAILURES_PER_MINUTE: usize = 10;

/// Counts recent wrong pairing codes.
#[derive(Default)]
pub struct PairingGuard {
    failures: Mutex<VecDeque<Instant>>,
}

impl PairingGuard {
    /// Whether pairing is paused at `now` after too many wrong codes.
    pub fn paused(&self, now: Instant) -> bool {
        let mut failures = self.failures.lock().expect("no panic holds the lock");
        while failures
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t).as_secs() >= 60)
        {
            failures.pop_front();
        }
        failures.len() >= PAIRING_FAILURES_PER_MINUTE
    }

    pub fn failed(&self, at: Instant) {
        self.failures
            .lock()
            .expect("no panic holds the lock")
            .push_back(at);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn pairing_pauses_after_ten_wrong_codes_in_a_minute() {
        let guard = PairingGuard::default();
        let start = Instant::now();
        for i in 0..10 {
            assert!(!guard.paused(start));
            guard.failed(start + Duration::from_secs(i));
        }
        assert!(guard.paused(start + Duration::from_secs(30)));
        assert!(
            !guard.paused(start + Duration::from_secs(61)),
            "the oldest expired"
        );
    }
}
