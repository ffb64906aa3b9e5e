//! Business-day rules with a controllable clock: numbering restarts each day, clock jumps never reuse a
//! number nor split a day, an untrusted clock still issues tickets and marks its events.

use crate::common;
use crate::lan_support;

use std::collections::HashSet;

use common::*;
use hallq::queue::*;

const DAY: i64 = 24 * HOUR;

#[tokio::test]
async fn numbering_restarts_on_the_first_ticket_of_a_new_day_and_old_tickets_close() {
    let hall = Hall::new();
    hall.sign_in(3).await;
    hall.issue("SB").await;
    hall.issue("SB").await;
    hall.call(3).await;
    hall.ok(Command::StartService { window: 3 }).await;
    hall.ok(Command::Finish { window: 3 }).await; // A001 finished, never rated
    // Evening, after midnight but before 04:00: still the same business day.
    hall.clock.advance(15 * HOUR);
    hall.ticket(Command::IssueTicket {
        service: "SB".into(),
        citizen: None,
        by_staff: true,
    })
    .await;
    assert_eq!(
        hall.state()
            .await
            .ticket_by_number("A003")
            .unwrap()
            .business_day
            .to_string(),
        "2026-11-27"
    );
    // Saturday 10:00.
    hall.clock.advance(9 * HOUR);
    let first = hall.issue("SB").await;
    assert_eq!(
        (
            first.number.as_str(),
            first.business_day.to_string().as_str()
        ),
        ("A001", "2026-11-28")
    );
    let state = hall.state().await;
    assert_eq!(
        state.tickets.len(),
        1,
        "yesterday's tickets left the live state"
    );
    assert_eq!(state.window(3).unwrap().current, None);
    let reader = hallq::store::Store::open_reader(&hall.db_path()).unwrap();
    let friday = reader
        .tickets_of_day(chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap())
        .unwrap();
    let by_number = |n: &str| friday.iter().find(|t| t.number == n).unwrap().clone();
    assert_eq!(
        by_number("A001").rating,
        Some(Rating::Unrated {
            why: UnratedWhy::DayClosed
        })
    );
    assert_eq!(by_number("A002").state, TicketState::Expired);
    assert_eq!(by_number("A003").state, TicketState::Expired);
    let opened: Vec<_> = hall
        .events()
        .into_iter()
        .filter(|e| e.event.kind() == "business_day_opened")
        .collect();
    assert_eq!(opened.len(), 2);
}

#[tokio::test]
async fn clock_jumping_forward_within_a_boot_does_not_split_the_day() {
    let hall = Hall::new();
    hall.issue("SB").await;
    hall.clock.advance(MINUTE);
    hall.clock.step_wall(3 * DAY); // a bad NTP answer
    let t = hall.issue("SB").await;
    assert_eq!(
        (t.number.as_str(), t.business_day.to_string().as_str()),
        ("A002", "2026-11-27")
    );
    let last = hall.events().pop().unwrap();
    assert_eq!(
        last.recorded.hall_ms,
        FRIDAY_10AM + MINUTE,
        "the hall's time follows the monotonic clock"
    );
    assert_eq!(
        last.recorded.wall_ms,
        FRIDAY_10AM + MINUTE + 3 * DAY,
        "the wall clock is still recorded as read"
    );
}

#[tokio::test]
async fn clock_jumping_back_never_reuses_a_number() {
    let mut hall = Hall::new();
    for _ in 0..3 {
        hall.issue("SB").await;
    }
    // The board restarts with its clock two days behind but claiming to be synchronised.
    hall.clock.reboot(FRIDAY_10AM - 2 * DAY, true);
    hall.restart();
    let t = hall
        .ticket(Command::IssueTicket {
            service: "SB".into(),
            citizen: None,
            by_staff: true,
        })
        .await;
    assert_eq!(
        (t.number.as_str(), t.business_day.to_string().as_str()),
        ("A004", "2026-11-27")
    );
}

#[tokio::test]
async fn untrusted_clock_still_issues_and_marks_its_events() {
    let mut hall = Hall::new();
    hall.issue("SB").await;
    // Restart without RTC: the clock reads 1970 and is not synchronised.
    hall.clock.reboot(0, false);
    hall.restart();
    let t = hall
        .ticket(Command::IssueTicket {
            service: "SB".into(),
            citizen: None,
            by_staff: false,
        })
        .await;
    assert_eq!(
        (t.number.as_str(), t.business_day.to_string().as_str()),
        ("A002", "2026-11-27")
    );
    let last = hall.events().pop().unwrap();
    assert!(!last.recorded.clock_trusted);
    assert_eq!(last.recorded.wall_ms, 0);
    // NTP arrives: the next morning is believed and numbering restarts.
    hall.clock.advance(1_000);
    hall.clock.reboot(FRIDAY_10AM + DAY, true);
    hall.restart();
    let t = hall.issue("SB").await;
    assert_eq!(
        (t.number.as_str(), t.business_day.to_string().as_str()),
        ("A001", "2026-11-28")
    );
    assert!(hall.events().pop().unwrap().recorded.clock_trusted);
}

#[tokio::test]
async fn numbers_stay_unique_per_day_under_random_clock_abuse() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut hall = Hall::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for step in 0..400 {
        match rng.random_range(0..10) {
            0 => hall.clock.step_wall(rng.random_range(-3 * DAY..3 * DAY)),
            1 => hall.clock.set_trusted(rng.random_bool(0.5)),
            2 if step % 7 == 0 => {
                let wall = hall.clock.wall_ms() + rng.random_range(-DAY..2 * DAY);
                hall.clock.reboot(wall, rng.random_bool(0.5));
                hall.restart();
            }
            _ => hall.clock.advance(rng.random_range(0..2 * HOUR)),
        }
        let command = Command::IssueTicket {
            service: "SB".into(),
            citizen: None,
            by_staff: true,
        };
        if let Reply::Ticket { ticket, .. } = hall.ok(command).await {
            assert!(
                seen.insert((ticket.business_day.to_string(), ticket.number.clone())),
                "{} issued twice on {}",
                ticket.number,
                ticket.business_day
            );
        }
    }
    let days: Vec<_> = hall
        .events()
        .iter()
        .map(|e| e.recorded.business_day)
        .collect();
    assert!(
        days.windows(2).all(|w| w[0] <= w[1]),
        "the business day never goes back"
    );
}

/// A walk-in at the kiosk, subject to opening hours.
fn walk_in() -> Command {
    Command::IssueTicket {
        service: "SB".into(),
        citizen: None,
        by_staff: false,
    }
}

fn dated(t: &Ticket) -> (String, String) {
    (t.number.clone(), t.business_day.to_string())
}

#[tokio::test]
async fn an_unvouched_clock_moving_forward_across_nightly_reboots_turns_the_day() {
    let mut hall = Hall::new();
    hall.clock.set_trusted(false);
    assert_eq!(
        dated(&hall.issue("SB").await),
        ("A001".into(), "2026-11-27".into())
    );
    hall.issue("SB").await;
    // Rebooted overnight, no time server: the board's clock reads Saturday 06:00, then Sunday 06:00.
    hall.clock.reboot(FRIDAY_10AM + 20 * HOUR, false);
    hall.restart();
    hall.clock.advance(5 * HOUR); // Saturday 11:00, open
    let saturday = hall.issue("SB").await;
    assert_eq!(dated(&saturday), ("A001".into(), "2026-11-28".into()));
    assert!(!hall.events().pop().unwrap().recorded.clock_trusted);
    hall.clock.reboot(FRIDAY_10AM + 44 * HOUR, false);
    hall.restart();
    let sunday = hall
        .ticket(Command::IssueTicket {
            service: "SB".into(),
            citizen: None,
            by_staff: true,
        })
        .await;
    assert_eq!(dated(&sunday), ("A001".into(), "2026-11-29".into()));
}

#[tokio::test]
async fn opening_hours_apply_with_an_unvouched_clock_that_moves_plausibly() {
    let mut hall = Hall::new();
    hall.clock.set_trusted(false);
    hall.issue("SB").await;
    hall.clock.advance(12 * HOUR); // Friday 22:00
    let refusal = hall.refused(walk_in()).await;
    assert_eq!(refusal.code, "hall_closed");
    // After a reboot into a stale clock the time of day is unknown: serving citizens wins.
    hall.clock.reboot(0, false);
    hall.restart();
    hall.issue("SB").await;
}

#[tokio::test]
async fn a_vouched_clock_back_a_day_after_a_reboot_keeps_the_call_order() {
    let mut hall = Hall::new();
    hall.sign_in(3).await;
    let first = hall.issue("SB").await;
    hall.clock.advance(5 * MINUTE);
    let second = hall.issue("SB").await;
    hall.clock.reboot(FRIDAY_10AM + 10 * MINUTE - DAY, true);
    hall.restart();
    let third = hall.issue("SB").await;
    assert_eq!(dated(&third), ("A003".into(), "2026-11-27".into()));
    assert!(third.queue_ms >= second.queue_ms, "hall time went back");
    let called: Vec<_> = [
        hall.call(3).await.number,
        {
            hall.ok(Command::NoShow { window: 3 }).await;
            hall.call(3).await.number
        },
        {
            hall.ok(Command::NoShow { window: 3 }).await;
            hall.call(3).await.number
        },
    ]
    .into();
    assert_eq!(called, [first.number, second.number, third.number]);
    let state = hall.state().await;
    assert!(
        state.clock.unwrap().disagreement_ms(&hall.setup).unwrap() < -23 * HOUR,
        "staff are shown that the clock reads behind the hall's time"
    );
}

#[tokio::test]
async fn a_vouched_clock_a_day_ahead_then_set_right_does_not_keep_the_day_ahead() {
    let hall = Hall::new();
    hall.issue("SB").await;
    // A bad time source: the clock steps a day ahead and the kernel still calls it synchronised. Within
    // a boot the step is overruled.
    hall.clock.advance(MINUTE);
    hall.clock.step_wall(DAY);
    assert_eq!(
        dated(&hall.issue("SB").await),
        ("A002".into(), "2026-11-27".into())
    );
    // The clock is set right again; the hall's time meets it and follows it from then on.
    hall.clock.step_wall(-DAY);
    hall.clock.advance(MINUTE);
    hall.issue("SB").await;
    hall.clock.advance(DAY);
    let saturday = hall.issue("SB").await;
    assert_eq!(dated(&saturday), ("A001".into(), "2026-11-28".into()));
    let last = hall.events().pop().unwrap().recorded;
    assert_eq!(
        last.hall_ms, last.wall_ms,
        "hall time follows the corrected clock"
    );
}

#[tokio::test]
async fn a_vouched_clock_a_day_ahead_after_a_reboot_then_set_right_meets_the_real_day() {
    let mut hall = Hall::new();
    hall.issue("SB").await;
    // Rebooted with a clock that reads a day ahead and says it is synchronised.
    hall.clock.reboot(FRIDAY_10AM + DAY + 5 * MINUTE, true);
    hall.restart();
    let ahead = hall.issue("SB").await;
    assert_eq!(dated(&ahead), ("A001".into(), "2026-11-28".into()));
    // NTP sets it right within the boot: the hall waits rather than go back, and numbers go on.
    hall.clock.step_wall(-DAY);
    hall.clock.advance(MINUTE);
    let held = hall.issue("SB").await;
    assert_eq!(dated(&held), ("A002".into(), "2026-11-28".into()));
    assert!(held.queue_ms >= ahead.queue_ms);
    // Once the real time passes the held time the hall follows the clock again, and the next real
    // day turns on time.
    hall.clock.advance(DAY);
    let on_time = hall.issue("SB").await;
    let last = hall.events().pop().unwrap().recorded;
    assert_eq!(last.hall_ms, last.wall_ms);
    assert_eq!(on_time.business_day.to_string(), "2026-11-28");
    hall.clock.advance(DAY); // Sunday: closed to walk-ins, staff issue
    let next_day = hall
        .ticket(Command::IssueTicket {
            service: "SB".into(),
            citizen: None,
            by_staff: true,
        })
        .await;
    assert_eq!(dated(&next_day), ("A001".into(), "2026-11-29".into()));
}

fn confirm(window: u16, local: &str) -> Command {
    Command::ConfirmClock {
        window,
        local: local.parse().unwrap(),
    }
}

#[tokio::test]
async fn staff_confirming_the_date_and_time_turns_the_day_when_nothing_else_vouches() {
    let mut hall = Hall::new();
    hall.clock.set_trusted(false);
    hall.issue("SB").await;
    // Next morning the board starts at 1970: the hall resumes from Friday and cannot turn the day.
    hall.clock.reboot(0, false);
    hall.restart();
    hall.sign_in(3).await;
    let stale = hall.issue("SB").await;
    assert_eq!(dated(&stale), ("A002".into(), "2026-11-27".into()));
    hall.ok(confirm(3, "2026-11-28T10:30:00")).await;
    let confirmed = hall.issue("SB").await;
    assert_eq!(dated(&confirmed), ("A001".into(), "2026-11-28".into()));
    let last = hall.events().pop().unwrap().recorded;
    assert!(last.clock_trusted, "staff vouch for the clock");
    assert_eq!(
        last.wall_ms, 0,
        "the board's own clock is still recorded as read"
    );
    assert_eq!(last.hall_ms, FRIDAY_10AM + DAY + 30 * MINUTE);
    // The confirmation counts with the monotonic clock for the rest of the boot.
    hall.clock.advance(HOUR);
    hall.issue("SB").await;
    let later = hall.events().pop().unwrap().recorded;
    assert_eq!(later.hall_ms, FRIDAY_10AM + DAY + 90 * MINUTE);
    assert!(later.clock_trusted);
    // After the next reboot into a stale clock, nothing vouches again.
    hall.clock.reboot(0, false);
    hall.restart();
    hall.issue("SB").await;
    assert!(!hall.events().pop().unwrap().recorded.clock_trusted);
}

#[tokio::test]
async fn a_confirmation_without_staff_or_with_an_impossible_date_changes_nothing() {
    let hall = Hall::new();
    hall.issue("SB").await;
    let before = hall.state().await;
    assert_eq!(
        hall.refused(confirm(3, "2026-11-28T10:30:00")).await.code,
        "not_signed_in"
    );
    hall.sign_in(3).await;
    let signed_in = hall.state().await;
    let refusal = hall.refused(confirm(3, "1999-01-01T08:00:00")).await;
    assert_eq!(refusal.code, "invalid");
    assert!(
        refusal.message.contains("1999-01-01 08:00"),
        "{}",
        refusal.message
    );
    assert_eq!(hall.state().await, signed_in);
    assert_ne!(before.last_seq, signed_in.last_seq);
    let command: Result<Command, _> = serde_json::from_str(
        r#"{"command":"confirm_clock","window":3,"local":"2026-13-40T10:30:00"}"#,
    );
    assert!(
        command.is_err(),
        "a date that does not exist is not a command"
    );
}

#[tokio::test]
async fn a_clock_jump_is_shown_to_staff_until_the_clocks_agree_again() {
    let hall = Hall::new();
    hall.issue("SB").await;
    assert_eq!(hall.clock_gap_ms().await, None);
    hall.clock.advance(MINUTE);
    hall.clock.step_wall(3 * DAY);
    hall.issue("SB").await;
    assert_eq!(hall.clock_gap_ms().await, Some(3 * DAY));
    hall.clock.step_wall(-3 * DAY);
    hall.clock.advance(MINUTE);
    hall.issue("SB").await;
    assert_eq!(hall.clock_gap_ms().await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_terminal_confirms_the_clock_over_the_lan_for_its_own_window_only() {
    use hallq::lan::Role;
    use hallq::lan::client::ClientError;
    let hall = lan_support::TestHall::start().await;
    hall.clock.set_trusted(false);
    let window3 = hall.pair(Role::Counter { window: 3 }).await;
    lan_support::sign_in(&window3, 3).await;
    let done = window3
        .execute(confirm(3, "2026-11-25T10:05:00"))
        .await
        .unwrap();
    assert!(
        matches!(done.result, hallq::store::CommandResult::Done(_)),
        "{done:?}"
    );
    let other = window3.execute(confirm(4, "2026-11-25T10:05:00")).await;
    assert!(matches!(other, Err(ClientError::Rejected(_))), "{other:?}");
    let event = hall.engine.state().await.unwrap();
    assert_eq!(
        event.clock.unwrap().staff_reference.unwrap().at_ms,
        lan_support::OPEN_HOUR_MS + 5 * MINUTE
    );
}
