//! The hall's sense of time: which business day it is, even when the wall clock lies.
//!
//! The wall clock of a board without a battery may start at a stale date, and NTP may step it at any
//! moment. Ticket numbers restart each business day, so a wrong day would reuse numbers or split a day in
//! two. The rules:
//! - within one boot, the monotonic clock is the reference: a wall clock that strays from it by more than
//!   the allowed step is a jump, and the hall's time follows the monotonic count instead;
//! - the first trusted reading after untrusted ones is believed (that is NTP arriving);
//! - after a reboot an untrusted clock cannot move the hall's time forward; it resumes from the last
//!   recorded time;
//! - the business day never goes backwards.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::config::HallSetup;

/// One look at the clocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockReading {
    pub wall_ms: i64,
    pub mono_ms: i64,
    pub boot_id: String,
    /// The system says its wall clock is synchronised (or the hall says to trust it).
    pub trusted: bool,
}

/// The clock facts of the last recorded event, from which the next reading is judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockAnchor {
    pub hall_ms: i64,
    pub mono_ms: i64,
    pub boot_id: String,
    pub trusted: bool,
    pub business_day: NaiveDate,
}

/// The verdict on a reading: the time domain rules use, and the business day it falls in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HallTime {
    pub hall_ms: i64,
    pub trusted: bool,
    pub business_day: NaiveDate,
    /// The wall clock disagreed with the monotonic clock and was overruled.
    pub wall_clock_overruled: bool,
}

/// Wall-clock readings before this instant (2024-01-01 UTC) are certainly wrong: never trusted.
pub const EARLIEST_PLAUSIBLE_MS: i64 = 1_704_067_200_000;

/// Judges `reading` against the last recorded anchor.
pub fn judge(setup: &HallSetup, anchor: Option<&ClockAnchor>, reading: &ClockReading) -> HallTime {
    let max_step_ms = i64::from(setup.config.clock.max_step_seconds) * 1000;
    let trusted = reading.trusted && reading.wall_ms >= EARLIEST_PLAUSIBLE_MS;
    let (hall_ms, overruled) = match anchor {
        None => (reading.wall_ms, false),
        Some(a) if a.boot_id == reading.boot_id => {
            let expected = a.hall_ms + (reading.mono_ms - a.mono_ms).max(0);
            let consistent = (reading.wall_ms - expected).abs() <= max_step_ms;
            if consistent || (trusted && !a.trusted) {
                (reading.wall_ms, false)
            } else {
                (expected, true)
            }
        }
        Some(a) => {
            if trusted {
                (reading.wall_ms, false)
            } else {
                // A new boot with an unsynchronised clock: nothing tells how long the hall was off, so
                // time resumes where it stopped rather than jumping to whatever the clock says.
                (a.hall_ms, reading.wall_ms != a.hall_ms)
            }
        }
    };
    let day = business_day_of(setup, hall_ms);
    let business_day = match anchor {
        Some(a) if a.business_day > day => a.business_day,
        _ => day,
    };
    HallTime {
        hall_ms,
        trusted,
        business_day,
        wall_clock_overruled: overruled,
    }
}

/// The local date and time of `hall_ms` in the hall's time zone.
pub fn local_time(setup: &HallSetup, hall_ms: i64) -> NaiveDateTime {
    let utc = DateTime::from_timestamp_millis(hall_ms).unwrap_or_default();
    utc.with_timezone(&setup.utc_offset).naive_local()
}

/// The business day of an instant: its local date, counted from `day_starts_at`.
pub fn business_day_of(setup: &HallSetup, hall_ms: i64) -> NaiveDate {
    let shift = i64::from(setup.day_starts_at.minutes_since_midnight()) * 60_000;
    local_time(setup, hall_ms - shift).date()
}

/// The instant (ms since epoch) of a local date and time.
pub fn instant_of(setup: &HallSetup, local: NaiveDateTime) -> i64 {
    (local - chrono::TimeDelta::seconds(i64::from(setup.utc_offset.local_minus_utc())))
        .and_utc()
        .timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn setup() -> HallSetup {
        crate::config::example()
    }

    /// 2026-11-27 10:00 in the hall (+08:00).
    fn morning() -> i64 {
        let local = NaiveDate::from_ymd_opt(2026, 11, 27)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        instant_of(&setup(), local)
    }

    fn reading(wall_ms: i64, mono_ms: i64, boot: &str, trusted: bool) -> ClockReading {
        ClockReading {
            wall_ms,
            mono_ms,
            boot_id: boot.into(),
            trusted,
        }
    }

    fn anchor_of(t: &HallTime, r: &ClockReading) -> ClockAnchor {
        ClockAnchor {
            hall_ms: t.hall_ms,
            mono_ms: r.mono_ms,
            boot_id: r.boot_id.clone(),
            trusted: t.trusted,
            business_day: t.business_day,
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn business_day_turns_at_day_starts_at_not_midnight() {
        let s = setup();
        assert_eq!(business_day_of(&s, morning()), day(27));
        assert_eq!(business_day_of(&s, morning() + 15 * HOUR), day(27)); // 01:00 next night
        assert_eq!(business_day_of(&s, morning() + 18 * HOUR + 1), day(28)); // just after 04:00
    }

    #[test]
    fn a_forward_jump_within_a_boot_follows_the_monotonic_clock() {
        let s = setup();
        let r1 = reading(morning(), 1_000, "b1", true);
        let t1 = judge(&s, None, &r1);
        // One minute later by the monotonic clock the wall clock claims two days have passed.
        let r2 = reading(morning() + 48 * HOUR, 61_000, "b1", true);
        let t2 = judge(&s, Some(&anchor_of(&t1, &r1)), &r2);
        assert!(t2.wall_clock_overruled);
        assert_eq!(t2.hall_ms, morning() + 60_000);
        assert_eq!(t2.business_day, day(27));
    }

    #[test]
    fn a_backward_jump_never_moves_the_day_back() {
        let s = setup();
        let r1 = reading(morning() + 20 * HOUR, 1_000, "b1", true); // 06:00 on the 28th
        let t1 = judge(&s, None, &r1);
        assert_eq!(t1.business_day, day(28));
        let r2 = reading(morning(), 2_000, "b2", true); // rebooted, clock says the 27th
        let t2 = judge(&s, Some(&anchor_of(&t1, &r1)), &r2);
        assert_eq!(t2.business_day, day(28));
    }

    #[test]
    fn first_ntp_sync_is_believed_and_untrusted_reboots_do_not_advance_time() {
        let s = setup();
        let stale = reading(morning() - 30 * 24 * HOUR, 500, "b1", false);
        let t0 = judge(&s, None, &stale);
        assert!(!t0.trusted);
        let synced = reading(morning(), 5_000, "b1", true);
        let t1 = judge(&s, Some(&anchor_of(&t0, &stale)), &synced);
        assert_eq!(
            (t1.hall_ms, t1.trusted, t1.business_day),
            (morning(), true, day(27))
        );
        let reboot = reading(morning() + 72 * HOUR, 100, "b2", false);
        let t2 = judge(&s, Some(&anchor_of(&t1, &synced)), &reboot);
        assert_eq!(t2.hall_ms, morning());
        assert_eq!(t2.business_day, day(27));
        assert!(!t2.trusted);
    }

    #[test]
    fn an_implausible_clock_is_never_trusted() {
        let t = judge(&setup(), None, &reading(0, 0, "b1", true));
        assert!(!t.trusted);
    }
}
