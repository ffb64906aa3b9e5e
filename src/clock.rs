//! Reading the clocks: the wall clock, the monotonic clock, the boot they belong to, and whether the
//! system vouches for the wall clock. The judgement of those readings is pure and lives in
//! [`crate::queue::day`].

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// One look at the clocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockReading {
    pub wall_ms: i64,
    pub mono_ms: i64,
    pub boot_id: String,
    /// The system says its wall clock is synchronised (or the hall says to trust it).
    pub trusted: bool,
}

pub trait Clock: Send + Sync {
    fn read(&self) -> ClockReading;
}

/// The file systemd-timesyncd creates once it has synchronised the clock in this boot (it lives on
/// /run, so a reboot clears it). Reading it needs no system call outside the service's seccomp filter,
/// unlike `adjtimex`, which `ProtectClock=yes` and `@system-service` both forbid.
pub const TIMESYNCD_SYNCHRONISED: &str = "/run/systemd/timesync/synchronized";

/// How long one look at the time-sync state holds: commands come much faster than sync changes.
pub const SYNC_STATE_HOLDS_FOR: Duration = Duration::from_secs(1);

/// The board's own clocks.
pub struct SystemClock {
    boot_id: String,
    assume_trusted: bool,
    synchronised_flag: PathBuf,
    last_sync_look: Mutex<Option<(Instant, bool)>>,
}

impl SystemClock {
    pub fn new(assume_trusted: bool) -> SystemClock {
        SystemClock::with_sync_flag(assume_trusted, TIMESYNCD_SYNCHRONISED)
    }

    /// A clock whose time-sync state is the existence of `synchronised_flag`.
    pub fn with_sync_flag(
        assume_trusted: bool,
        synchronised_flag: impl Into<PathBuf>,
    ) -> SystemClock {
        let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| format!("boot-{}", uuid::Uuid::now_v7()));
        SystemClock {
            boot_id,
            assume_trusted,
            synchronised_flag: synchronised_flag.into(),
            last_sync_look: Mutex::new(None),
        }
    }

    /// Whether a time server has set the clock in this boot, looked up at most once a second.
    fn synchronised(&self) -> bool {
        let mut last = self
            .last_sync_look
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match *last {
            Some((at, synced)) if at.elapsed() < SYNC_STATE_HOLDS_FOR => synced,
            _ => {
                let synced = self.synchronised_flag.exists();
                *last = Some((Instant::now(), synced));
                synced
            }
        }
    }
}

impl Clock for SystemClock {
    fn read(&self) -> ClockReading {
        let wall_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        ClockReading {
            wall_ms,
            mono_ms: boottime_ms(),
            boot_id: self.boot_id.clone(),
            trusted: self.assume_trusted || self.synchronised(),
        }
    }
}

/// Milliseconds since boot, counting time spent suspended.
fn boottime_ms() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}

/// CPU time the calling thread has used so far; zero where the system cannot say. What the writer's
/// work costs, apart from the time it waits for the disk or for a core another process holds.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// A clock the tests and the benchmark set by hand.
pub struct ManualClock {
    reading: Mutex<ClockReading>,
}

impl ManualClock {
    pub fn new(wall_ms: i64) -> ManualClock {
        ManualClock {
            reading: Mutex::new(ClockReading {
                wall_ms,
                mono_ms: 1_000,
                boot_id: "boot-1".into(),
                trusted: true,
            }),
        }
    }

    /// Lets `ms` pass on both clocks.
    pub fn advance(&self, ms: i64) {
        let mut r = self.reading.lock().unwrap();
        r.wall_ms += ms;
        r.mono_ms += ms;
    }

    /// Steps the wall clock alone, as a wrong NTP answer or a hand edit would.
    pub fn step_wall(&self, ms: i64) {
        self.reading.lock().unwrap().wall_ms += ms;
    }

    pub fn set_trusted(&self, trusted: bool) {
        self.reading.lock().unwrap().trusted = trusted;
    }

    /// A restart: a new boot id, the monotonic clock starts again, the wall clock reads `wall_ms`.
    pub fn reboot(&self, wall_ms: i64, trusted: bool) {
        let mut r = self.reading.lock().unwrap();
        let next = r
            .boot_id
            .trim_start_matches("boot-")
            .parse::<u64>()
            .unwrap_or(0)
            + 1;
        *r = ClockReading {
            wall_ms,
            mono_ms: 1_000,
            boot_id: format!("boot-{next}"),
            trusted,
        };
    }

    pub fn wall_ms(&self) -> i64 {
        self.reading.lock().unwrap().wall_ms
    }
}

impl Clock for ManualClock {
    fn read(&self) -> ClockReading {
        self.reading.lock().unwrap().clone()
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn read(&self) -> ClockReading {
        (**self).read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_s_cpu_time_counts_its_work_and_not_its_sleep() {
        let before = thread_cpu_time();
        std::thread::sleep(Duration::from_millis(100));
        let slept = thread_cpu_time() - before;
        assert!(slept < Duration::from_millis(50), "sleeping cost {slept:?}");
        let before = thread_cpu_time();
        let started = Instant::now();
        let mut spin = 0u64;
        while started.elapsed() < Duration::from_millis(50) {
            spin = std::hint::black_box(spin.wrapping_add(1));
        }
        assert!(thread_cpu_time() > before, "50 ms of work cost no CPU time");
    }

    #[test]
    fn the_sync_flag_is_looked_at_once_a_second_at_most() {
        let dir = tempfile::tempdir().unwrap();
        let flag = dir.path().join("synchronized");
        std::fs::write(&flag, "").unwrap();
        let clock = SystemClock::with_sync_flag(false, &flag);
        assert!(clock.read().trusted);
        std::fs::remove_file(&flag).unwrap();
        assert!(
            clock.read().trusted,
            "a reading within the second reuses the last look"
        );
        std::thread::sleep(SYNC_STATE_HOLDS_FOR + Duration::from_millis(100));
        assert!(!clock.read().trusted, "the next second looks again");
    }

    #[test]
    fn without_the_sync_flag_only_the_hall_config_vouches() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("synchronized");
        assert!(!SystemClock::with_sync_flag(false, &missing).read().trusted);
        assert!(SystemClock::with_sync_flag(true, &missing).read().trusted);
    }
}
