//! The SQLite store: the log is append-only, a database belongs to one hall, and a newer schema is refused.

use crate::common;

use common::*;
use hallq::store::{CommandResult, Store, StoreError};

#[tokio::test]
async fn the_event_log_refuses_updates_and_deletes() {
    let hall = Hall::new();
    hall.issue("SB").await;
    let conn = rusqlite::Connection::open(hall.db_path()).unwrap();
    let update = conn.execute("UPDATE events SET payload = '{}' WHERE seq = 1", []);
    assert!(
        update
            .unwrap_err()
            .to_string()
            .contains("the event log is append-only")
    );
    let delete = conn.execute("DELETE FROM events", []);
    assert!(
        delete
            .unwrap_err()
            .to_string()
            .contains("the event log is append-only")
    );
    // Each row names its boot, its kind and (by leaving it out) its hall in tables of their own: those
    // are part of the log too.
    for sql in [
        "UPDATE boots SET boot_id = 'another boot'",
        "DELETE FROM boots",
        "UPDATE event_kinds SET kind = 'ticket_called'",
        "DELETE FROM event_kinds",
        "UPDATE hall_meta SET value = 'another hall' WHERE key = 'hall_id'",
        "DELETE FROM hall_meta WHERE key = 'hall_id'",
    ] {
        let refused = conn.execute(sql, []).unwrap_err().to_string();
        assert!(
            refused.contains("the event log is append-only"),
            "{sql}: {refused}"
        );
    }
    let events = hall.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].hall_id, "650102-ZWFW-01");
    assert_eq!(events[1].event.kind(), "ticket_issued");
}

#[tokio::test]
async fn a_database_belongs_to_one_hall() {
    let hall = Hall::new();
    hall.issue("SB").await;
    match Store::open(&hall.db_path(), "another-hall") {
        Err(StoreError::WrongHall { found, expected }) => assert_eq!(
            (found.as_str(), expected.as_str()),
            ("650102-ZWFW-01", "another-hall")
        ),
        other => panic!("expected WrongHall, got {:?}", other.err()),
    }
}

#[test]
fn a_newer_schema_is_refused_not_downgraded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hall.db");
    drop(Store::open(&path, "h").unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = Store::open(&path, "h").err().unwrap();
    assert!(
        err.to_string()
            .contains("schema version 99, newer than this hallq supports"),
        "{err}"
    );
}

#[tokio::test]
async fn a_corrupt_state_row_is_reported_not_guessed() {
    let mut hall = Hall::new();
    hall.issue("SB").await;
    hall.restart();
    drop(hall.engine.clone());
    let path = hall.db_path();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE tickets SET data = 'not json'", [])
        .unwrap();
    let store = Store::open(&path, "650102-ZWFW-01").unwrap();
    let err = store.load_state().unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
}

#[tokio::test]
async fn checkpoints_run_beside_the_writer() {
    let hall = Hall::with_setup({
        let mut s = hallq::config::example();
        s.config.services[0].daily_cap = None;
        s
    });
    let db = hall.db_path();
    let size = || std::fs::metadata(&db).unwrap().len();
    let before = size();
    for _ in 0..300 {
        hall.ticket(hallq::queue::Command::IssueTicket {
            service: "SB".into(),
            citizen: None,
            by_staff: true,
        })
        .await;
    }
    // The writer never checkpoints itself: the main file only grows when the checkpoint thread copies
    // the WAL into it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while size() < before + 100_000 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        size() >= before + 100_000,
        "main file still {} bytes",
        size()
    );
}

#[test]
fn a_write_from_another_connection_during_a_batch_waits_instead_of_failing_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hall.db");
    let mut store = hallq::store::Store::open(&path, "H1").unwrap();
    let batch = store.begin().unwrap();
    batch.kept_result("c-1").unwrap();
    // As `hallq pair revoke` does, from its own process, while the engine writes a batch.
    let other = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        conn.execute(
            "INSERT INTO hall_meta (key, value) VALUES ('written', 'elsewhere')",
            [],
        )
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    let fault = hallq::queue::DeviceFault {
        code: "paper_out".into(),
        message: "out of paper".into(),
    };
    batch.write_fault("ticket_printer", Some(&fault)).unwrap();
    batch.commit().unwrap();
    assert_eq!(other.join().unwrap().unwrap(), 1);
}

#[tokio::test]
async fn every_command_of_a_failed_batch_is_told_the_storage_error() {
    let hall = Hall::new();
    hall.issue("SB").await;
    let before = hall.engine.state().await.unwrap();
    let conn = rusqlite::Connection::open(hall.db_path()).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER refuse_commands BEFORE INSERT ON command_results \
         BEGIN SELECT RAISE(ABORT, 'the disk said no'); END;",
    )
    .unwrap();
    let issue = |id: &'static str| {
        let engine = hall.engine.clone();
        async move {
            engine
                .execute(
                    id,
                    hallq::queue::Command::IssueTicket {
                        service: "SB".into(),
                        citizen: None,
                        by_staff: false,
                    },
                )
                .await
        }
    };
    // Sent together, so they may share a batch: each caller hears why, none sees a dropped reply.
    let (first, second) = tokio::join!(issue("failing-1"), issue("failing-2"));
    for outcome in [first, second] {
        match outcome {
            Err(hallq::engine::EngineError::Storage(message)) => {
                assert!(message.contains("the disk said no"), "{message}")
            }
            other => panic!("expected the storage error, got {other:?}"),
        }
    }
    assert_eq!(
        hall.engine.state().await.unwrap(),
        before,
        "nothing changed"
    );

    conn.execute_batch("DROP TRIGGER refuse_commands").unwrap();
    let retried = issue("failing-1").await.unwrap();
    assert!(
        matches!(retried.result, hallq::store::CommandResult::Done(_)),
        "the same id acts once the store takes writes again: {retried:?}"
    );
}

#[test]
fn processes_opening_a_fresh_database_at_once_all_succeed() {
    // As a node starting beside `hallq pair code`: each opener has its own connection, and all
    // reach the new database before any has created its tables.
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hall.db");
        let openers = 6;
        let start = std::sync::Arc::new(std::sync::Barrier::new(openers));
        let threads: Vec<_> = (0..openers)
            .map(|_| {
                let path = path.clone();
                let start = start.clone();
                std::thread::spawn(move || {
                    start.wait();
                    Store::open(&path, "H1").map(drop)
                })
            })
            .collect();
        for thread in threads {
            if let Err(e) = thread.join().unwrap() {
                panic!("round {round}: an opener failed: {e}");
            }
        }
        let conn = rusqlite::Connection::open(&path).unwrap();
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, hallq::store::SCHEMA_VERSION);
        let halls: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM hall_meta WHERE key = 'hall_id'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(halls, 1);
    }
}

#[test]
fn a_second_hall_opening_a_fresh_database_at_the_same_moment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hall.db");
    let start = std::sync::Arc::new(std::sync::Barrier::new(2));
    let threads: Vec<_> = ["H1", "H2"]
        .into_iter()
        .map(|hall| {
            let path = path.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                Store::open(&path, hall).map(drop)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(StoreError::WrongHall { .. }))),
        "{results:?}"
    );
}

fn uncapped_setup() -> std::sync::Arc<hallq::config::HallSetup> {
    let mut setup = hallq::config::example();
    for service in &mut setup.config.services {
        service.daily_cap = None;
    }
    std::sync::Arc::new(setup)
}

/// A ticket for SB issued by staff through `engine` alone, under `command_id`.
async fn issued_by_staff(engine: &hallq::engine::EngineHandle, command_id: String) {
    let outcome = engine
        .execute(
            command_id,
            hallq::queue::Command::IssueTicket {
                service: "SB".into(),
                citizen: None,
                by_staff: true,
            },
        )
        .await
        .unwrap();
    assert!(matches!(outcome.result, CommandResult::Done(_)));
}

fn wal_size(db: &std::path::Path) -> u64 {
    std::fs::metadata(hallq::store::wal_path_of(db)).map_or(0, |m| m.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_within_its_limit_under_a_burst_is_folded_back_when_idle_and_truncated_at_stop()
 {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hall.db");
    let limit = 256 * 1024;
    let (engine, writer) = hallq::engine::start_with_wal_limit(
        uncapped_setup(),
        &db,
        std::sync::Arc::new(hallq::clock::ManualClock::new(FRIDAY_10AM)),
        limit,
    )
    .unwrap();
    assert_eq!(wal_size(&db), limit, "the WAL was given its size at start");
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let db = db.clone();
        let sampling = sampling.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(wal_size(&db));
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            peak
        })
    };
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let engine = engine.clone();
            tokio::spawn(async move {
                for n in 0..300 {
                    issued_by_staff(&engine, format!("burst-{c}-{n}")).await;
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    let written = engine
        .counters()
        .batches
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        peak <= 2 * limit,
        "the WAL reached {peak} bytes against a limit of {limit} ({written} batches)"
    );

    // The last batch may leave the WAL past its limit: the writer folds it before the next one.
    let after_burst = wal_size(&db);

    // Quiet now: the checkpoint thread folds the WAL back in full, so a copy of the database file alone
    // holds every ticket, and the WAL keeps its size for the next commit.
    let copy = dir.path().join("copy.db");
    let tickets_in_copy = || -> Option<i64> {
        std::fs::copy(&db, &copy).ok()?;
        let _ = std::fs::remove_file(hallq::store::wal_path_of(&copy));
        let conn = rusqlite::Connection::open(&copy).ok()?;
        conn.query_row("SELECT COUNT(*) FROM tickets", [], |r| r.get(0))
            .ok()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(8);
    while tickets_in_copy() != Some(1200) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        tickets_in_copy(),
        Some(1200),
        "an idle hall's database file holds every ticket"
    );
    assert_eq!(
        wal_size(&db),
        after_burst,
        "the fold keeps the WAL's size for the next commit"
    );
    drop(engine);
    writer.join();
    assert_eq!(
        wal_size(&db),
        0,
        "a stopped node leaves the database file alone"
    );
}

/// Where the frames of a WAL end: each frame carries the salts of the WAL's header (sqlite.org,
/// "WAL-mode File Format"), zeros past the frames do not.
fn wal_frames_end(wal: &[u8]) -> u64 {
    let page_size = u32::from_be_bytes(wal[8..12].try_into().unwrap()) as usize;
    let salts = &wal[16..24];
    let mut end = 32;
    while end + 24 + page_size <= wal.len() && &wal[end + 8..end + 16] == salts {
        end += 24 + page_size;
    }
    end as u64
}

#[tokio::test]
async fn a_wal_given_its_size_after_a_power_cut_keeps_every_commit_in_it() {
    let hall = Hall::new();
    for _ in 0..5 {
        hall.issue("SB").await;
    }
    // What a power cut leaves: the database and its WAL as they stand, nothing folded back.
    let cut = tempfile::tempdir().unwrap();
    let db = cut.path().join("hall.db");
    std::fs::copy(hall.db_path(), &db).unwrap();
    std::fs::copy(
        hallq::store::wal_path_of(&hall.db_path()),
        hallq::store::wal_path_of(&db),
    )
    .unwrap();
    // The hall's own WAL was given its size when it started; this one ends at its last frame, as a WAL
    // from before that did.
    let frames = wal_frames_end(&std::fs::read(hallq::store::wal_path_of(&db)).unwrap());
    assert!(frames > 32, "the tickets are in frames of the WAL");
    std::fs::File::options()
        .write(true)
        .open(hallq::store::wal_path_of(&db))
        .unwrap()
        .set_len(frames)
        .unwrap();

    let limit = 1024 * 1024;
    let (engine, writer) = hallq::engine::start_with_wal_limit(
        uncapped_setup(),
        &db,
        std::sync::Arc::new(hallq::clock::ManualClock::new(FRIDAY_10AM)),
        limit,
    )
    .unwrap();
    assert_eq!(wal_size(&db), limit);
    assert_eq!(
        engine.state().await.unwrap().tickets.len(),
        5,
        "the five tickets in the WAL are there"
    );
    issued_by_staff(&engine, "after-the-cut".to_string()).await;
    drop(engine);
    writer.join();
    let store = Store::open(&db, "650102-ZWFW-01").unwrap();
    assert_eq!(store.load_state().unwrap().tickets.len(), 6);
}

#[tokio::test]
async fn a_command_refused_before_the_first_day_opened_is_answered_the_same_on_retry() {
    let hall = Hall::new();
    let call = hallq::queue::Command::CallNext { window: 1 };
    // Nothing has happened yet in this hall: no day opened, nobody signed in.
    let first = hall
        .engine
        .execute("early-call", call.clone())
        .await
        .unwrap();
    assert!(
        matches!(first.result, CommandResult::Refused(_)),
        "{first:?}"
    );
    assert_eq!(hall.state().await.business_day, None);
    // The day opens; now the same call would succeed if it were decided again.
    hall.sign_in(1).await;
    hall.issue("SB").await;
    let retried = hall.engine.execute("early-call", call).await.unwrap();
    assert_eq!(retried, first, "a retry gets the first answer");
    assert!(
        hall.state()
            .await
            .tickets
            .values()
            .all(|t| t.state == hallq::queue::TicketState::Waiting),
        "nothing was called"
    );
}

#[tokio::test]
async fn a_resume_point_past_the_log_is_refused_not_wrapped() {
    let hall = Hall::new();
    hall.issue("SB").await;
    let reader = Store::open_reader(&hall.db_path()).unwrap();
    assert!(
        reader
            .events_after(hallq::store::MAX_SEQ, 10)
            .unwrap()
            .is_empty()
    );
    for past in [hallq::store::MAX_SEQ + 1, u64::MAX] {
        match reader.events_after(past, 10) {
            Err(StoreError::SeqOutOfRange(seq)) => assert_eq!(seq, past),
            other => panic!("{past}: expected SeqOutOfRange, got {other:?}"),
        }
    }
}

#[test]
fn the_database_and_its_wal_are_readable_by_the_service_user_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;

    let fresh = dir.path().join("fresh.db");
    let (engine, writer) = hallq::engine::start(
        uncapped_setup(),
        &fresh,
        std::sync::Arc::new(hallq::clock::ManualClock::new(1_795_000_000_000)),
    )
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(engine.execute("c1", hallq::queue::Command::sign_in_by_number(1, "1001")))
        .unwrap();
    assert_eq!(mode(&fresh), 0o600);
    let wal = dir.path().join("fresh.db-wal");
    assert!(wal.exists(), "the commit went to the WAL");
    assert_eq!(mode(&wal), 0o600);
    drop(engine);
    writer.join();

    // A file left readable by others, e.g. copied in by hand, is closed up when opened.
    let older = dir.path().join("older.db");
    std::fs::write(&older, b"").unwrap();
    std::fs::set_permissions(&older, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(Store::open(&older, "hall-1").unwrap());
    assert_eq!(mode(&older), 0o600);

    // No directory to make it in: a clear error, nothing made.
    let nowhere = dir.path().join("missing").join("hall.db");
    let refused = Store::open(&nowhere, "hall-1").err().unwrap();
    assert!(matches!(refused, StoreError::Io(_)), "{refused}");
    assert!(refused.to_string().contains("missing/hall.db"), "{refused}");
}

/// The event log and the ticket rows back as hallq kept them before the lean store (schema 8): every
/// column of an event written out in its row as text, days as dates, and ticket rows repeating their
/// JSON in columns.
fn log_before_schema_8(path: &std::path::Path) {
    let store = Store::open_reader(path).unwrap();
    let events = store.events_after(0, usize::MAX).unwrap();
    let tickets = store
        .tickets_of_day(events[0].recorded.business_day)
        .unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "DROP TABLE events;
         DROP TABLE boots;
         DROP TABLE event_kinds;
         DROP TRIGGER hall_id_no_update;
         DROP TRIGGER hall_id_no_delete;
         DROP TABLE tickets;
         CREATE TABLE events (
             seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, hall_id TEXT NOT NULL,
             command_id TEXT, kind TEXT NOT NULL, payload TEXT NOT NULL, wall_ms INTEGER NOT NULL,
             hall_ms INTEGER NOT NULL, boot_id TEXT NOT NULL, mono_ms INTEGER NOT NULL,
             clock_trusted INTEGER NOT NULL, business_day TEXT NOT NULL,
             event_version INTEGER NOT NULL DEFAULT 1);
         CREATE TRIGGER events_no_update BEFORE UPDATE ON events
             BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
         CREATE TRIGGER events_no_delete BEFORE DELETE ON events
             BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
         CREATE TABLE tickets (
             id INTEGER PRIMARY KEY, business_day TEXT NOT NULL, number TEXT NOT NULL,
             service TEXT NOT NULL, state TEXT NOT NULL, data TEXT NOT NULL,
             UNIQUE (business_day, number));",
    )
    .unwrap();
    for e in &events {
        let r = &e.recorded;
        conn.execute(
            "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 1)",
            rusqlite::params![
                e.seq as i64,
                e.event_id.to_string(),
                e.hall_id,
                e.command_id,
                e.event.kind(),
                serde_json::to_string(&e.event).unwrap(),
                r.wall_ms,
                r.hall_ms,
                r.boot_id,
                r.mono_ms,
                r.clock_trusted,
                r.business_day.to_string(),
            ],
        )
        .unwrap();
    }
    for t in &tickets {
        conn.execute(
            "INSERT INTO tickets VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                t.id as i64,
                t.business_day.to_string(),
                t.number,
                t.service,
                serde_json::to_value(t.state).unwrap().as_str().unwrap(),
                serde_json::to_string(t).unwrap(),
            ],
        )
        .unwrap();
    }
}

/// Puts the kept results back as hallq kept them up to schema 4: the command's text and the whole
/// outcome in `commands`; and the log as it was then.
fn as_schema_4(
    path: &std::path::Path,
    kept: &[(&str, &hallq::queue::Command, &hallq::store::Outcome)],
) {
    log_before_schema_8(path);
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "DROP TABLE command_results;
         DROP TABLE staff;
         CREATE TABLE commands (
             command_id   TEXT    PRIMARY KEY,
             command      TEXT    NOT NULL,
             outcome      TEXT    NOT NULL,
             last_seq     INTEGER NOT NULL,
             business_day TEXT    NOT NULL
         ) WITHOUT ROWID;
         CREATE INDEX commands_by_day ON commands (business_day);
         PRAGMA user_version = 4;",
    )
    .unwrap();
    for (id, command, outcome) in kept {
        conn.execute(
            "INSERT INTO commands VALUES (?1, ?2, ?3, ?4, '2026-11-27')",
            rusqlite::params![
                id,
                serde_json::to_string(command).unwrap(),
                serde_json::to_string(outcome).unwrap(),
                outcome.seq as i64
            ],
        )
        .unwrap();
    }
}

#[tokio::test]
async fn results_kept_before_the_upgrade_answer_retries_after_it() {
    let mut hall = Hall::new();
    let issue = hallq::queue::Command::IssueTicket {
        service: "SB".into(),
        citizen: None,
        by_staff: false,
    };
    let call = hallq::queue::Command::CallNext { window: 3 };
    let issued = hall.engine.execute("kiosk-1", issue.clone()).await.unwrap();
    let refused = hall.engine.execute("w3-1", call.clone()).await.unwrap();
    assert!(matches!(refused.result, CommandResult::Refused(_)));
    let log = hall.events();
    let tickets = hall.state().await.tickets;
    as_schema_4(
        &hall.db_path(),
        &[("kiosk-1", &issue, &issued), ("w3-1", &call, &refused)],
    );
    hall.restart();
    assert_eq!(hall.events(), log, "the log reads back as it was");
    assert_eq!(hall.state().await.tickets, tickets);
    let conn = rusqlite::Connection::open(hall.db_path()).unwrap();
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, hallq::store::SCHEMA_VERSION);
    let old_table: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'commands'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old_table, 0, "the old table is gone once carried over");

    assert_eq!(hall.engine.execute("kiosk-1", issue).await.unwrap(), issued);
    assert_eq!(hall.engine.execute("w3-1", call).await.unwrap(), refused);
    let reused = hall
        .engine
        .execute("kiosk-1", hallq::queue::Command::CallNext { window: 1 })
        .await;
    assert!(
        matches!(reused, Err(hallq::engine::EngineError::CommandIdReused(_))),
        "{reused:?}"
    );
    assert_eq!(hall.state().await.tickets.len(), 1, "no retry acted twice");
}

#[tokio::test]
async fn a_retry_gets_the_ticket_as_its_command_left_it_not_as_it_stands_now() {
    let hall = Hall::new();
    hall.sign_in(3).await;
    let issue = hallq::queue::Command::IssueTicket {
        service: "SB".into(),
        citizen: None,
        by_staff: false,
    };
    let issued = hall.engine.execute("kiosk-7", issue.clone()).await.unwrap();
    let call = hallq::queue::Command::CallNext { window: 3 };
    let called = hall.engine.execute("w3-7", call.clone()).await.unwrap();
    hall.ok(hallq::queue::Command::StartService { window: 3 })
        .await;
    hall.issue("SB").await;
    assert_eq!(hall.engine.execute("kiosk-7", issue).await.unwrap(), issued);
    assert_eq!(hall.engine.execute("w3-7", call).await.unwrap(), called);
    let rows: i64 = rusqlite::Connection::open(hall.db_path())
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM command_results WHERE length(digest) = 16 AND other IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        rows >= 3,
        "ticket replies are kept as the ticket's id: {rows}"
    );
}
