//! The call-next policy, appointments, idempotent retries and windows racing each other.

use crate::common;

use std::collections::HashSet;

use common::*;
use hallq::queue::*;
use hallq::store::CommandResult;

fn booking(id: &str, service: &str, start: &str, end: &str, who: u32) -> Command {
    Command::Book {
        booking: Booking {
            id: id.into(),
            service: service.into(),
            day: chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            start: start.into(),
            end: end.into(),
            id_hash: card(who).id_hash,
            masked_name: "李*四".into(),
            version: 1,
        },
    }
}

#[tokio::test]
async fn order_is_appointment_then_priority_then_first_come_across_services() {
    let hall = Hall::new();
    hall.sign_in(1).await; // serves SB, YB, GJJ
    hall.issue("YB").await; // B001 first in
    hall.clock.advance(MINUTE);
    hall.issue("SB").await; // A001
    hall.clock.advance(MINUTE);
    hall.issue_for("SB", senior_card(1)).await; // A002 senior
    hall.clock.advance(MINUTE);
    hall.issue("GJJ").await; // F001
    hall.ok(Command::FlagGreenChannel {
        number: "F001".into(),
    })
    .await;
    hall.ok(booking("BK1", "YB", "10:00", "10:30", 9)).await;
    hall.ticket(Command::CheckIn { citizen: card(9) }).await; // B002 with appointment
    let mut order = Vec::new();
    for _ in 0..5 {
        order.push(hall.call(1).await.number);
        hall.ok(Command::NoShow { window: 1 }).await;
    }
    assert_eq!(order, ["B002", "A002", "F001", "B001", "A001"]);
}

#[tokio::test]
async fn service_order_policy_empties_the_first_service_first() {
    let hall = Hall::with_policy(|p| p.call_order = hallq::config::CallOrder::ServiceOrder);
    hall.sign_in(1).await; // SB, YB, GJJ in that order
    hall.issue("GJJ").await;
    hall.issue("YB").await;
    hall.issue("SB").await;
    let mut order = Vec::new();
    for _ in 0..3 {
        order.push(hall.call(1).await.number);
        hall.ok(Command::NoShow { window: 1 }).await;
    }
    assert_eq!(order, ["A001", "B001", "F001"]);
}

#[tokio::test]
async fn nobody_waits_past_the_maximum_while_priority_tickets_pass() {
    let hall = Hall::with_policy(|p| p.max_wait_minutes = 30);
    hall.sign_in(3).await;
    hall.issue("SB").await; // A001, ordinary
    hall.clock.advance(31 * MINUTE);
    hall.issue_for("SB", senior_card(1)).await; // A002, priority but newer
    assert_eq!(
        hall.call(3).await.number,
        "A001",
        "the overdue ticket goes before the priority one"
    );
}

#[tokio::test]
async fn senior_age_counts_birthdays() {
    let hall = Hall::with_policy(|p| p.senior_age = 65);
    let born = |y, m, d| CitizenCard {
        birth_date: chrono::NaiveDate::from_ymd_opt(y, m, d),
        ..card(y as u32 * 1000 + m * 50 + d)
    };
    assert!(
        hall.issue_for("SB", born(1961, 11, 27))
            .await
            .citizen
            .unwrap()
            .senior,
        "65 today"
    );
    assert!(
        !hall
            .issue_for("SB", born(1961, 11, 28))
            .await
            .citizen
            .unwrap()
            .senior,
        "65 tomorrow"
    );
}

#[tokio::test]
async fn people_ahead_counts_the_same_service_only() {
    let hall = Hall::new();
    hall.issue("SB").await;
    hall.issue("SB").await;
    hall.issue("YB").await;
    match hall
        .ok(Command::IssueTicket {
            service: "SB".into(),
            citizen: None,
            by_staff: false,
        })
        .await
    {
        Reply::Ticket { people_ahead, .. } => assert_eq!(people_ahead, Some(2)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn check_in_inside_the_slot_early_late_and_unknown() {
    let hall = Hall::new(); // 30 min before, 15 min after the slot start
    hall.ok(booking("BK1", "CRJ", "11:00", "11:30", 1)).await;
    let early = hall.refused(Command::CheckIn { citizen: card(1) }).await; // 10:00
    assert_eq!(early.code, "too_early");
    assert!(
        early.message.contains("11:00-11:30") && early.message.contains("10:30"),
        "{}",
        early.message
    );
    hall.clock.advance(35 * MINUTE); // 10:35
    let t = hall.ticket(Command::CheckIn { citizen: card(1) }).await;
    assert_eq!(
        (t.number.as_str(), t.channel),
        ("G001", Channel::Appointment)
    );
    assert_eq!(t.appointment.as_ref().unwrap().appointment_id, "BK1");
    let a = &hall.state().await.appointments["BK1"];
    assert_eq!(a.state, AppointmentState::CheckedIn);
    assert_eq!(a.id_hash, None, "personal data dropped after check-in");
    assert_eq!(
        hall.refused(Command::CheckIn { citizen: card(1) })
            .await
            .code,
        "no_booking"
    );
    hall.ok(booking("BK2", "CRJ", "10:00", "10:30", 2)).await;
    let late = hall.refused(Command::CheckIn { citizen: card(2) }).await; // 10:35 > 10:15
    assert_eq!(late.code, "too_late");
    assert!(late.message.contains("10:15"), "{}", late.message);
    assert_eq!(
        hall.refused(Command::CheckIn { citizen: card(3) })
            .await
            .code,
        "no_booking"
    );
}

#[tokio::test]
async fn late_arrivals_become_walk_ins_when_configured() {
    let hall = Hall::with_policy(|p| p.late_arrival = hallq::config::LateArrival::WalkIn);
    hall.ok(booking("BK1", "SB", "09:00", "09:30", 1)).await;
    let t = hall.ticket(Command::CheckIn { citizen: card(1) }).await;
    assert_eq!((t.channel, t.appointment.is_none()), (Channel::Kiosk, true));
    assert_eq!(
        hall.state().await.appointments["BK1"].state,
        AppointmentState::Cancelled
    );
}

#[tokio::test]
async fn bad_bookings_are_refused() {
    let hall = Hall::new();
    assert_eq!(
        hall.refused(booking("BK1", "NOPE", "10:00", "10:30", 1))
            .await
            .code,
        "unknown_service"
    );
    assert_eq!(
        hall.refused(booking("BK1", "SB", "10:30", "10:00", 1))
            .await
            .code,
        "invalid"
    );
    assert_eq!(
        hall.refused(booking("BK1", "SB", "25:00", "26:00", 1))
            .await
            .code,
        "invalid"
    );
    assert_eq!(
        hall.refused(booking("", "SB", "10:00", "10:30", 1))
            .await
            .code,
        "invalid"
    );
    hall.ok(booking("BK1", "SB", "10:00", "10:30", 1)).await;
    assert_eq!(
        hall.refused(booking("BK1", "SB", "10:00", "10:30", 1))
            .await
            .code,
        "duplicate_booking"
    );
    hall.ok(Command::CancelBooking { id: "BK1".into() }).await;
    assert_eq!(
        hall.refused(Command::CancelBooking { id: "BK1".into() })
            .await
            .code,
        "booking_closed"
    );
    assert_eq!(
        hall.refused(Command::CancelBooking { id: "BK9".into() })
            .await
            .code,
        "unknown_booking"
    );
}

#[tokio::test]
async fn a_retried_command_id_returns_the_first_result_and_changes_nothing() {
    let hall = Hall::new();
    let issue = Command::IssueTicket {
        service: "SB".into(),
        citizen: None,
        by_staff: false,
    };
    let first = hall
        .engine
        .execute("kiosk-1-0001", issue.clone())
        .await
        .unwrap();
    let second = hall
        .engine
        .execute("kiosk-1-0001", issue.clone())
        .await
        .unwrap();
    assert_eq!(first, second);
    assert_eq!(hall.state().await.tickets.len(), 1);
    // Also after a restart, and also for refusals.
    let mut hall = hall;
    hall.restart();
    assert_eq!(
        hall.engine
            .execute("kiosk-1-0001", issue.clone())
            .await
            .unwrap(),
        first
    );
    let refused = hall
        .engine
        .execute("w3-1", Command::CallNext { window: 3 })
        .await
        .unwrap();
    hall.sign_in(3).await;
    assert_eq!(
        hall.engine
            .execute("w3-1", Command::CallNext { window: 3 })
            .await
            .unwrap(),
        refused
    );
    assert!(matches!(refused.result, CommandResult::Refused(_)));
    assert_eq!(hall.state().await.tickets.len(), 1);
    assert_eq!(
        hall.state().await.window(3).unwrap().current,
        None,
        "the retried call did not call"
    );
}

#[tokio::test]
async fn retries_inside_one_batch_act_once() {
    let hall = Hall::new();
    let issue = Command::IssueTicket {
        service: "SB".into(),
        citizen: None,
        by_staff: false,
    };
    let results = futures_join(64, |_| hall.engine.execute("same-id", issue.clone())).await;
    let first = results[0].as_ref().unwrap().clone();
    assert!(results.iter().all(|r| r.as_ref().unwrap() == &first));
    assert_eq!(hall.state().await.tickets.len(), 1);
}

#[tokio::test]
async fn bad_or_reused_command_ids_are_refused_and_change_nothing() {
    let hall = Hall::new();
    let issue = Command::IssueTicket {
        service: "SB".into(),
        citizen: None,
        by_staff: false,
    };
    for bad in ["", "has space", &"x".repeat(65), "tab\t"] {
        let e = hall.engine.execute(bad, issue.clone()).await.unwrap_err();
        assert_eq!(e, hallq::engine::EngineError::BadCommandId);
    }
    hall.engine.execute("id-1", issue.clone()).await.unwrap();
    let reused = hall
        .engine
        .execute(
            "id-1",
            Command::IssueTicket {
                service: "YB".into(),
                citizen: None,
                by_staff: false,
            },
        )
        .await;
    assert!(matches!(
        reused,
        Err(hallq::engine::EngineError::CommandIdReused(_))
    ));
    assert_eq!(hall.state().await.tickets.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn windows_racing_never_get_the_same_ticket() {
    let hall = Hall::new();
    let windows: Vec<u16> = vec![1, 2, 3];
    for w in &windows {
        hall.sign_in(*w).await;
    }
    for _ in 0..60 {
        hall.issue("SB").await;
    }
    let mut called = Vec::new();
    for _round in 0..20 {
        let outcomes = futures_join(windows.len(), |i| {
            hall.engine
                .execute(hall.fresh_id(), Command::CallNext { window: windows[i] })
        })
        .await;
        for o in outcomes {
            if let CommandResult::Done(Reply::Ticket { ticket, .. }) = o.unwrap().result {
                called.push(ticket.number);
            }
        }
        futures_join(windows.len(), |i| {
            hall.engine
                .execute(hall.fresh_id(), Command::NoShow { window: windows[i] })
        })
        .await;
    }
    let unique: HashSet<_> = called.iter().collect();
    assert_eq!(called.len(), 60);
    assert_eq!(
        unique.len(),
        called.len(),
        "a ticket was called by two windows"
    );
}

/// Runs `n` futures at once, so their commands reach the engine together, and collects their results.
async fn futures_join<F: std::future::Future>(
    n: usize,
    make: impl Fn(usize) -> F,
) -> Vec<F::Output> {
    futures::future::join_all((0..n).map(make)).await
}

#[tokio::test]
async fn command_results_are_kept_across_one_day_boundary_then_forgotten() {
    let hall = Hall::new();
    let issue = Command::IssueTicket {
        service: "SB".into(),
        citizen: None,
        by_staff: true,
    };
    let first = hall
        .engine
        .execute("kiosk-retry", issue.clone())
        .await
        .unwrap();
    hall.clock.advance(24 * HOUR);
    hall.issue("YB").await; // opens Saturday
    assert_eq!(
        hall.engine
            .execute("kiosk-retry", issue.clone())
            .await
            .unwrap(),
        first,
        "yesterday's result still answers"
    );
    hall.clock.advance(48 * HOUR);
    hall.issue("YB").await; // opens Monday: Friday's results are gone
    let again = hall.engine.execute("kiosk-retry", issue).await.unwrap();
    assert_ne!(again, first);
    assert!(matches!(again.result, CommandResult::Done(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_arriving_together_commit_together() {
    use std::sync::atomic::Ordering;
    let hall = Hall::with_setup({
        let mut s = hallq::config::example();
        s.config.services[0].daily_cap = None;
        s
    });
    hall.issue("SB").await;
    let batches_before = hall.engine.counters().batches.load(Ordering::Relaxed);
    let results = futures_join(256, |n| {
        hall.engine.execute(
            format!("burst-{n}"),
            Command::IssueTicket {
                service: "SB".into(),
                citizen: None,
                by_staff: true,
            },
        )
    })
    .await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r.as_ref().unwrap().result, CommandResult::Done(_)))
    );
    let batches = hall.engine.counters().batches.load(Ordering::Relaxed) - batches_before;
    assert!(
        batches < 64,
        "256 simultaneous commands took {batches} transactions"
    );
    assert_eq!(hall.state().await.tickets.len(), 257);
}

#[tokio::test]
async fn the_writer_s_cpu_time_for_a_command_is_counted_by_the_time_it_is_answered() {
    use std::sync::atomic::Ordering;
    let hall = Hall::new();
    let cpu = || hall.engine.counters().writer_cpu_ns.load(Ordering::Relaxed);
    let before = cpu();
    hall.engine
        .execute(
            "cpu-issue",
            Command::IssueTicket {
                service: "SB".into(),
                citizen: None,
                by_staff: true,
            },
        )
        .await
        .unwrap();
    assert!(cpu() > before, "an issue cost the writer no CPU time");
}

#[tokio::test]
async fn counters_count_decided_commands_once_and_not_their_retries() {
    use std::sync::atomic::Ordering;
    let hall = Hall::new();
    let counters = || {
        let c = hall.engine.counters();
        (
            c.commands.load(Ordering::Relaxed),
            c.refused.load(Ordering::Relaxed),
        )
    };
    let issue = Command::IssueTicket {
        service: "SB".into(),
        citizen: None,
        by_staff: false,
    };
    hall.engine
        .execute("count-ok", issue.clone())
        .await
        .unwrap();
    hall.engine
        .execute("count-no", Command::CallNext { window: 3 })
        .await
        .unwrap();
    assert_eq!(counters(), (2, 1));
    hall.engine.execute("count-ok", issue).await.unwrap();
    hall.engine
        .execute("count-no", Command::CallNext { window: 3 })
        .await
        .unwrap();
    assert_eq!(
        counters(),
        (2, 1),
        "retries answered from the store are not decided again"
    );
}
