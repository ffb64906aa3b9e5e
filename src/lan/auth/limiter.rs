//! Pausing pairing for an address that keeps sending wrong codes. Each address is counted on its own,
//! so a stranger guessing codes on the LAN locks out only themselves, never the hall's staff pairing a
//! new terminal with a valid code.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Wrong pairing codes allowed per minute from one address before pairing pauses for it: codes are
/// long enough that guessing is hopeless, and this keeps it so even for a script on the LAN.
const PAIRING_FAILURES_PER_MINUTE: usize = 10;

/// Counts recent wrong pairing codes, per source address.
#[derive(Default)]
pub struct PairingGuard {
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl PairingGuard {
    /// Whether pairing is paused for `from` at `now` after too many wrong codes from it.
    pub fn paused(&self, from: IpAddr, now: Instant) -> bool {
        let mut failures = self.failures.lock().expect("no panic holds the lock");
        // Forget what is a minute old, everywhere: the map holds only addresses that failed lately.
        failures.retain(|_, times| {
            while times
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t).as_secs() >= 60)
            {
                times.pop_front();
            }
            !times.is_empty()
        });
        failures
            .get(&from)
            .is_some_and(|times| times.len() >= PAIRING_FAILURES_PER_MINUTE)
    }

    pub fn failed(&self, from: IpAddr, at: Instant) {
        self.failures
            .lock()
            .expect("no panic holds the lock")
            .entry(from)
            .or_default()
            .push_back(at);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn pairing_pauses_after_ten_wrong_codes_in_a_minute_from_that_address_only() {
        let guesser: IpAddr = [192, 168, 1, 66].into();
        let staff: IpAddr = [192, 168, 1, 20].into();
        let guard = PairingGuard::default();
        let start = Instant::now();
        for i in 0..10 {
            assert!(!guard.paused(guesser, start));
            guard.failed(guesser, start + Duration::from_secs(i));
        }
        assert!(guard.paused(guesser, start + Duration::from_secs(30)));
        assert!(
            !guard.paused(staff, start + Duration::from_secs(30)),
            "another address pairs as before"
        );
        assert!(
            !guard.paused(guesser, start + Duration::from_secs(61)),
            "the oldest expired"
        );
        assert!(
            !guard.paused(guesser, start + Duration::from_secs(120)),
            "all expired"
        );
        assert!(guard.failures.lock().unwrap().is_empty(), "nothing kept");
    }
}
