//! Business-day rules with a controllable clock: numbering restarts each day, clock jumps never reuse a
//! number nor split a day, an untrusted clock still issues tickets and marks its events.

mod common;

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
