//! The hall's sense of time: which business day it is, even when the wall clock lies.
//!
//! The wall clock of a board without a battery may start at a stale date, and NTP may step it at any
//! moment. Ticket numbers restart each business day and tickets are called in the order they queued, so
//! a wrong day would reuse numbers or split a day in two, and time going back would call a later ticket
//! first. The rules (docs/time.md tells them for the hall's staff and integrators):
//! - hall time never goes back: a reading behind the last recorded time holds the hall's time there until
//!   the clock catches up, and the business day never goes back;
//! - within one boot the monotonic clock is the reference: a wall clock that strays from it by more than
//!   the allowed step is a jump, and the hall's time follows the monotonic count instead. A clock that
//!   someone vouches for (NTP, staff) may correct the hall's time: forward when it arrives after
//!   unvouched time, backward by holding the hall's time until it catches up;
//! - after a reboot a vouched clock is believed forward (the board may have been off for a night); an
//!   unvouched one is believed when it moves forward plausibly (at most [`UNVOUCHED_MAX_FORWARD_MS`]),
//!   so a hall without a time server still turns its day after a nightly reboot;
//! - staff confirming the date and time vouch for the clock for the rest of that boot;
//! - opening hours apply whenever the hall's time follows a plausible wall clock (vouched or not); while
//!   the hall's time is held or counted from the monotonic clock, serving citizens wins.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

pub use crate::clock::ClockReading;
use crate::config::HallSetup;

/// The clock facts of the last recorded event, from which the next reading is judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockAnchor {
    pub hall_ms: i64,
    pub mono_ms: i64,
    pub boot_id: String,
    pub trusted: bool,
    pub business_day: NaiveDate,
    /// The date and time staff confirmed in this boot, the reference while the system vouches for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_reference: Option<StaffReference>,
    /// The wall clock as read at the last event, so staff can be shown how far it is from hall time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_ms: Option<i64>,
}

impl ClockAnchor {
    /// The wall clock minus the hall's time at the last event, when they parted by more than
    /// `max_step_seconds`: the board's clock needs a look.
    pub fn disagreement_ms(&self, setup: &HallSetup) -> Option<i64> {
        let max_step_ms = i64::from(setup.config.clock.max_step_seconds) * 1000;
        self.wall_ms
            .map(|wall| wall - self.hall_ms)
            .filter(|d| d.abs() > max_step_ms)
    }
}

/// A staff member's confirmation of the date and time, tied to the boot whose monotonic clock counts
/// from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffReference {
    pub boot_id: String,
    pub at_ms: i64,
    pub mono_ms: i64,
}

/// The wall clock and the hall's time parted: shown to staff until they agree again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockDisagreement {
    /// The wall clock minus the hall's time: negative when the clock is behind.
    pub wall_minus_hall_ms: i64,
    pub kind: DisagreementKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisagreementKind {
    /// The wall clock stepped within a boot and nobody vouches for the step: the hall counts on with
    /// the monotonic clock.
    Jumped,
    /// The clock reads behind the hall's last recorded time: the hall's time waits for it.
    Behind,
    /// After a reboot the clock said nothing believable (stale or implausible): the hall resumed from
    /// its last recorded time.
    Resumed,
}

/// The verdict on a reading: the time domain rules use, and the business day it falls in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HallTime {
    pub hall_ms: i64,
    /// The system or staff vouch for the hall's time.
    pub trusted: bool,
    pub business_day: NaiveDate,
    /// The wall clock disagreed with the hall's time and was overruled.
    pub wall_clock_overruled: bool,
    /// How and by how much, when overruled.
    pub disagreement: Option<ClockDisagreement>,
    /// The hall's time follows a plausible wall clock (or a staff confirmation), so the time of day is
    /// known well enough to enforce opening hours.
    pub time_of_day_known: bool,
}

/// Wall-clock readings before this instant (2024-01-01 UTC) are certainly wrong: never trusted.
pub const EARLIEST_PLAUSIBLE_MS: i64 = 1_704_067_200_000;

/// After a reboot an unvouched wall clock is believed when it reads at most this far ahead of the
/// hall's last recorded time: a hall closed for the Spring Festival holiday is off about a week.
pub const UNVOUCHED_MAX_FORWARD_MS: i64 = 14 * 24 * 3_600_000;

/// Judges `reading` against the last recorded anchor.
pub fn judge(setup: &HallSetup, anchor: Option<&ClockAnchor>, reading: &ClockReading) -> HallTime {
    let max_step_ms = i64::from(setup.config.clock.max_step_seconds) * 1000;
    let plausible = reading.wall_ms >= EARLIEST_PLAUSIBLE_MS;
    let system_vouches = reading.trusted && plausible;
    // Staff's confirmation stands in for the wall clock while the system vouches for nothing.
    let staff_time = anchor
        .and_then(|a| a.staff_reference.as_ref())
        .filter(|r| r.boot_id == reading.boot_id && !system_vouches)
        .map(|r| r.at_ms + (reading.mono_ms - r.mono_ms).max(0));
    let (wall_ms, vouched, plausible) = match staff_time {
        Some(at) => (at, true, true),
        None => (reading.wall_ms, system_vouches, plausible),
    };
    let Some(a) = anchor else {
        return HallTime {
            hall_ms: wall_ms,
            trusted: vouched,
            business_day: business_day_of(setup, wall_ms),
            wall_clock_overruled: false,
            disagreement: None,
            time_of_day_known: plausible,
        };
    };
    let (candidate, overruled_as) = if a.boot_id == reading.boot_id {
        let expected = a.hall_ms + (reading.mono_ms - a.mono_ms).max(0);
        let step = wall_ms - expected;
        if step.abs() <= max_step_ms || (vouched && (!a.trusted || step < 0)) {
            (wall_ms, None)
        } else {
            (expected, Some(DisagreementKind::Jumped))
        }
    } else if vouched
        || (plausible && (0..=UNVOUCHED_MAX_FORWARD_MS).contains(&(wall_ms - a.hall_ms)))
    {
        (wall_ms, None)
    } else {
        // A stale or impossible clock after a reboot (a board without a battery): nothing tells how
        // long the hall was off, so time resumes where it stopped.
        (a.hall_ms, Some(DisagreementKind::Resumed))
    };
    let hall_ms = candidate.max(a.hall_ms);
    let overruled_as = match overruled_as {
        None if hall_ms - wall_ms > max_step_ms => Some(DisagreementKind::Behind),
        kind => kind,
    };
    let disagreement = overruled_as
        .filter(|_| hall_ms != reading.wall_ms)
        .map(|kind| ClockDisagreement {
            wall_minus_hall_ms: reading.wall_ms - hall_ms,
            kind,
        });
    let day = business_day_of(setup, hall_ms);
    HallTime {
        hall_ms,
        trusted: vouched,
        business_day: day.max(a.business_day),
        wall_clock_overruled: disagreement.is_some(),
        disagreement,
        time_of_day_known: plausible && disagreement.is_none(),
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
            staff_reference: None,
            wall_ms: Some(r.wall_ms),
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
    fn first_ntp_sync_is_believed_and_an_unvouched_reboot_moves_on_only_plausibly() {
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
        let a1 = anchor_of(&t1, &synced);
        // A nightly reboot without a time server: the clock moved forward by a plausible amount.
        let next_morning = reading(morning() + 22 * HOUR, 100, "b2", false);
        let t2 = judge(&s, Some(&a1), &next_morning);
        assert_eq!(
            (t2.hall_ms, t2.business_day),
            (morning() + 22 * HOUR, day(28))
        );
        assert!(!t2.trusted && t2.time_of_day_known);
        // A clock that starts in 1970, or months ahead, says nothing: time resumes where it stopped.
        for wall in [0, morning() + 90 * 24 * HOUR] {
            let t = judge(&s, Some(&a1), &reading(wall, 100, "b2", false));
            assert_eq!((t.hall_ms, t.business_day), (morning(), day(27)));
            assert!(!t.time_of_day_known);
            assert_eq!(t.disagreement.unwrap().kind, DisagreementKind::Resumed);
        }
    }

    #[test]
    fn a_vouched_clock_behind_holds_the_hall_time_until_it_catches_up() {
        let s = setup();
        let r1 = reading(morning(), 1_000, "b1", true);
        let t1 = judge(&s, None, &r1);
        let back = reading(morning() - 24 * HOUR, 2_000, "b2", true);
        let t2 = judge(&s, Some(&anchor_of(&t1, &r1)), &back);
        assert_eq!(t2.hall_ms, morning());
        assert_eq!(t2.disagreement.unwrap().kind, DisagreementKind::Behind);
        assert!(!t2.time_of_day_known);
        // Later in the same boot, still behind: held; once past, followed.
        let still = reading(morning() - 1_000, 2_000 + 24 * HOUR - 1_000, "b2", true);
        let t3 = judge(&s, Some(&anchor_of(&t2, &back)), &still);
        assert_eq!(t3.hall_ms, morning());
        let past = reading(morning() + 60_000, 2_000 + 24 * HOUR + 60_000, "b2", true);
        let t4 = judge(&s, Some(&anchor_of(&t3, &still)), &past);
        assert_eq!((t4.hall_ms, t4.disagreement), (morning() + 60_000, None));
    }

    #[test]
    fn a_staff_confirmation_stands_in_for_an_unvouched_clock_in_its_boot() {
        let s = setup();
        let r1 = reading(0, 1_000, "b1", false);
        let t1 = judge(&s, None, &r1);
        let mut a = anchor_of(&t1, &r1);
        a.staff_reference = Some(StaffReference {
            boot_id: "b1".into(),
            at_ms: morning(),
            mono_ms: 2_000,
        });
        let t2 = judge(&s, Some(&a), &reading(1_000, 62_000, "b1", false));
        assert_eq!(t2.hall_ms, morning() + 60_000);
        assert!(t2.trusted && t2.time_of_day_known);
        // Another boot: the confirmation no longer counts.
        let t3 = judge(&s, Some(&a), &reading(0, 500, "b2", false));
        assert!(!t3.trusted);
    }

    #[test]
    fn an_implausible_clock_is_never_trusted() {
        let t = judge(&setup(), None, &reading(0, 0, "b1", true));
        assert!(!t.trusted);
    }
}
