//! The SQLite store: the log is append-only, a database belongs to one hall, and a newer schema is refused.

mod common;

use common::*;
use hallq::store::{Store, StoreError};

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
    assert_eq!(hall.events().len(), 2);
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
    batch.command_outcome("c-1").unwrap();
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
        "CREATE TRIGGER refuse_commands BEFORE INSERT ON commands \
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
