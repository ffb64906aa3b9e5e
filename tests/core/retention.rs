//! Retention on a real SQLite file: acknowledged events of old days leave the log, personal data
//! leaves sooner, nothing waiting for the platform is touched, and the state still rebuilds.

use crate::common;

use common::*;
use hallq::queue::{Event, HallState, StoredEvent};
use hallq::store::{PlatformCursor, Store};

const DAY: i64 = 24 * HOUR;

/// A hall open around the clock that keeps acknowledged events `keep` days and personal data
/// `personal` days.
fn hall_keeping(keep: u32, personal: u32) -> Hall {
    let mut setup = hallq::config::example();
    setup.open_around_the_clock();
    setup.config.store.keep_acknowledged_days = keep;
    setup.config.store.personal_data_days = personal;
    Hall::with_setup(setup)
}

/// `days` business days, each with three tickets taken with ID cards.
async fn fill(hall: &Hall, days: u32) {
    for day in 0..days {
        if day > 0 {
            hall.clock.advance(DAY);
        }
        for i in 0..3 {
            hall.issue_for("SB", card(day * 10 + i)).await;
        }
    }
}

fn acknowledge_through(hall: &Hall, seq: u64) {
    PlatformCursor::open(&hall.db_path())
        .unwrap()
        .acknowledge(seq)
        .unwrap();
}

fn names_a_citizen(event: &StoredEvent) -> bool {
    match &event.event {
        Event::TicketIssued { citizen, .. } => citizen.is_some(),
        _ => false,
    }
}

/// Each row of the log as stored: (seq, payload in hex).
fn raw_rows(hall: &Hall) -> Vec<(i64, String)> {
    let conn = rusqlite::Connection::open(hall.db_path()).unwrap();
    conn.prepare("SELECT seq, hex(payload) FROM events ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Days of tickets still in the tickets table, and of those naming a citizen.
fn ticket_days(hall: &Hall) -> (Vec<String>, Vec<String>) {
    let conn = rusqlite::Connection::open(hall.db_path()).unwrap();
    let days = |sql: &str| -> Vec<String> {
        conn.prepare(sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    (
        days("SELECT DISTINCT date(business_day + 1721424.5) FROM tickets ORDER BY 1"),
        days(
            "SELECT DISTINCT date(business_day + 1721424.5) FROM tickets
             WHERE data LIKE '%\"id_hash\":\"%' ORDER BY 1",
        ),
    )
}

/// The day `n` days after the first business day of the test.
fn day(n: u64) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap() + chrono::Days::new(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_acknowledged_old_events_leave_and_only_acknowledged_ones_lose_personal_data() {
    let mut hall = hall_keeping(10, 3);
    fill(&hall, 15).await;
    let before = hall.events();
    assert_eq!(before[0].recorded.business_day, day(0));
    let acked = before
        .iter()
        .filter(|e| e.recorded.business_day <= day(7))
        .map(|e| e.seq)
        .max()
        .unwrap();
    acknowledge_through(&hall, acked);
    let waiting_rows: Vec<_> = raw_rows(&hall)
        .into_iter()
        .filter(|(seq, _)| *seq as u64 > acked)
        .collect();
    let live_before = hall.state().await;

    let pruned = hall.engine.prune().await.unwrap();

    let after = hall.events();
    let dropped = before.len() - after.len();
    assert_eq!(pruned.events_dropped as usize, dropped);
    assert_eq!(
        after[0].recorded.business_day,
        day(4),
        "days 0-3 are more than 10 days old and acknowledged"
    );
    assert!(
        before
            .iter()
            .filter(|e| e.recorded.business_day >= day(4))
            .map(|e| e.event_id)
            .eq(after.iter().map(|e| e.event_id)),
        "the rest of the log is all there, in order"
    );
    let raw_after = raw_rows(&hall);
    assert_eq!(
        raw_after
            .iter()
            .filter(|(seq, _)| *seq as u64 > acked)
            .cloned()
            .collect::<Vec<_>>(),
        waiting_rows,
        "not one byte of an event waiting for the platform changed"
    );
    for event in &after {
        let acknowledged_and_old = event.seq <= acked && event.recorded.business_day < day(11);
        if let Event::TicketIssued { .. } = event.event {
            assert_eq!(
                names_a_citizen(event),
                !acknowledged_and_old,
                "event {} of {}",
                event.seq,
                event.recorded.business_day
            );
        }
    }
    let (ticket_days, naming) = ticket_days(&hall);
    assert_eq!(ticket_days.first().unwrap(), &day(4).to_string());
    assert_eq!(
        naming.first().unwrap(),
        &day(8).to_string(),
        "tickets of acknowledged days lose their citizens; days 8 on wait for the platform"
    );

    // The state rebuilds from the base and what remains, and the hall restarts to the same state.
    let base = Store::open_reader(&hall.db_path())
        .unwrap()
        .pruned_base()
        .unwrap()
        .expect("a base state is kept");
    assert_eq!(HallState::replay_onto(base, &after), live_before);
    assert_eq!(hall.state().await, live_before);
    hall.restart();
    assert_eq!(hall.state().await, live_before);
    hall.issue("SB").await;
    assert_eq!(
        hall.events().last().unwrap().seq,
        before.last().unwrap().seq + 1,
        "numbering of the log goes on"
    );

    let again = hall.engine.prune().await.unwrap();
    assert_eq!(
        (
            again.events_dropped,
            again.events_purged,
            again.tickets_dropped
        ),
        (0, 0, 0),
        "a second run finds nothing more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_stays_for_its_days_and_leaves_on_the_next_run_after() {
    let hall = hall_keeping(30, 3);
    fill(&hall, 4).await;
    acknowledge_through(&hall, hall.events().last().unwrap().seq);
    let pruned = hall.engine.prune().await.unwrap();
    assert_eq!(pruned.events_dropped, 0, "nothing is 30 days old");
    assert_eq!(
        pruned.events_purged, 0,
        "day 0 is three days old: its data stays"
    );
    assert!(
        hall.events()
            .iter()
            .filter(|e| matches!(e.event, Event::TicketIssued { .. }))
            .all(names_a_citizen)
    );

    hall.clock.advance(DAY);
    hall.issue_for("SB", card(99)).await;
    acknowledge_through(&hall, hall.events().last().unwrap().seq);
    let pruned = hall.engine.prune().await.unwrap();
    assert_eq!(
        pruned.events_purged, 3,
        "day 0's three tickets are now four days old"
    );
    assert_eq!(pruned.tickets_purged, 3);
    for event in hall.events() {
        if let Event::TicketIssued { .. } = event.event {
            assert_eq!(
                names_a_citizen(&event),
                event.recorded.business_day > day(0)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_acknowledgements_nothing_leaves_however_old() {
    let hall = hall_keeping(1, 1);
    fill(&hall, 5).await;
    let before = raw_rows(&hall);
    let pruned = hall.engine.prune().await.unwrap();
    assert_eq!(pruned, hallq::store::Pruned::default());
    assert_eq!(raw_rows(&hall), before);
    let conn = rusqlite::Connection::open(hall.db_path()).unwrap();
    for sql in [
        "DELETE FROM events WHERE seq = 1",
        "UPDATE events SET payload = '{}' WHERE seq = 1",
    ] {
        let refused = conn.execute(sql, []).unwrap_err().to_string();
        assert!(
            refused.contains("the event log is append-only"),
            "{sql}: {refused}"
        );
    }
    acknowledge_through(&hall, 2);
    let refused = conn
        .execute("UPDATE events SET wall_ms = 0 WHERE seq = 1", [])
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("only an acknowledged event may lose its personal data"),
        "an acknowledged event keeps every column but its payload: {refused}"
    );
}

/// Fills a store with `days` days of `per_day` tickets, acknowledges it all and prunes it, printing
/// the database's bytes before and after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_a_filled_store_frees_its_pages_for_reuse() {
    let days = 40;
    let per_day = 100;
    let mut setup = hallq::config::example();
    setup.open_around_the_clock();
    for service in &mut setup.config.services {
        service.daily_cap = None;
    }
    setup.config.store.keep_acknowledged_days = 7;
    setup.config.store.personal_data_days = 3;
    let hall = Hall::with_setup(setup);
    for day in 0..days {
        if day > 0 {
            hall.clock.advance(DAY);
        }
        for i in 0..per_day {
            hall.issue_for("SB", card(day * 1000 + i)).await;
        }
    }
    acknowledge_through(&hall, hall.events().last().unwrap().seq);
    let bytes = || {
        let conn = rusqlite::Connection::open(hall.db_path()).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        let pages: i64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        let free: i64 = conn
            .query_row("PRAGMA freelist_count", [], |r| r.get(0))
            .unwrap();
        let size: i64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        (pages * size, (pages - free) * size)
    };
    let events_before = hall.events().len();
    let (file_before, used_before) = bytes();
    let pruned = hall.engine.prune().await.unwrap();
    let (file_after, used_after) = bytes();
    println!(
        "{days} days x {per_day} tickets, {events_before} events: {pruned:?}; file {file_before} -> \
         {file_after} bytes, in use {used_before} -> {used_after} bytes"
    );
    assert!(
        used_after * 3 < used_before,
        "most of the space is free for reuse"
    );
    assert_eq!(
        hall.events().len(),
        events_before - pruned.events_dropped as usize
    );
}
