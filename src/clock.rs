//! Reading the clocks: the wall clock, the monotonic clock, the boot they belong to, and whether the
//! system vouches for the wall clock. The judgement of those readings is pure and lives in
//! [`crate::queue::day`].

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::queue::day::ClockReading;

pub trait Clock: Send + Sync {
    fn read(&self) -> ClockReading;
}

/// The board's own clocks.
pub struct SystemClock {
    boot_id: String,
    assume_trusted: bool,
}

impl SystemClock {
    pub fn new(assume_trusted: bool) -> SystemClock {
        let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| format!("boot-{}", uuid::Uuid::now_v7()));
        SystemClock {
            boot_id,
            assume_trusted,
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
            trusted: self.assume_trusted || kernel_clock_synchronised(),
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

/// Whether the kernel reports its clock as synchronised (by NTP or systemd-timesyncd).
fn kernel_clock_synchronised() -> bool {
    // SAFETY: a zeroed timex with modes = 0 is a read-only query, and `tx` outlives the call.
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    let state = unsafe { libc::adjtimex(&mut tx) };
    state >= 0 && state != libc::TIME_ERROR && tx.status & libc::STA_UNSYNC == 0
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
