//! Encryption at rest (`[store] key_file`): the database and its WAL hold nothing readable without
//! the key; a wrong key, a missing key or a key for a plain file each get a clear error and change
//! nothing; a plain database can be turned into an encrypted copy.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hallq::clock::ManualClock;
use hallq::queue::Command;
use hallq::store::Store;
use hallq::store::encryption::{self, DatabaseKey, KeyError};

use crate::common::{FRIDAY_10AM, card};

/// What a reader of the file must not find: the log's event names, a citizen's masked name and ID
/// hash.
fn secrets() -> Vec<Vec<u8>> {
    vec![
        b"ticket_issued".to_vec(),
        "张*三".as_bytes().to_vec(),
        card(7777).id_hash.into_bytes(),
    ]
}

fn new_key(dir: &Path, name: &str) -> DatabaseKey {
    let file = dir.join(name);
    DatabaseKey::create_file(&file).unwrap();
    DatabaseKey::load(&file).unwrap()
}

/// Runs an engine on `db`, issues tickets to three citizens from card `first` on, and stops it with
/// its WAL left in place.
fn fill(db: &Path, first: u32) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let setup = Arc::new(hallq::config::example());
    let clock = Arc::new(ManualClock::new(FRIDAY_10AM));
    let (engine, thread) = hallq::engine::start(setup, db, clock).unwrap();
    runtime.block_on(async {
        for n in first..first + 3 {
            let outcome = engine
                .execute(
                    format!("issue-{n}"),
                    Command::IssueTicket {
                        service: "SB".into(),
                        citizen: Some(card(n)),
                        by_staff: false,
                    },
                )
                .await
                .unwrap();
            assert!(outcome.seq > 0);
        }
    });
    drop(engine);
    thread.join();
}

/// The bytes of the database and of its WAL, if any.
fn file_bytes(db: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(db).unwrap();
    bytes.extend(std::fs::read(hallq::store::wal_path_of(db)).unwrap_or_default());
    bytes
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn hall_db(dir: &Path) -> PathBuf {
    dir.join("hall.db")
}

#[test]
fn an_encrypted_database_and_its_wal_show_nothing_without_the_key() {
    // The same day on a plain database shows each of them: the search finds what is there.
    let plain_dir = tempfile::tempdir().unwrap();
    fill(&hall_db(plain_dir.path()), 7777);
    let plain = file_bytes(&hall_db(plain_dir.path()));
    for secret in secrets() {
        assert!(holds(&plain, &secret), "a plain database shows it");
    }

    let dir = tempfile::tempdir().unwrap();
    let db = hall_db(dir.path());
    encryption::use_key(&db, new_key(dir.path(), "db.key"));
    fill(&db, 7777);
    let encrypted = file_bytes(&db);
    assert!(encrypted.len() > 4096);
    for secret in secrets() {
        assert!(!holds(&encrypted, &secret), "found in the encrypted files");
    }
    assert!(!holds(&encrypted, b"SQLite format 3"));
    // With the key, the hall reads its own log.
    let events = Store::open_reader(&db)
        .unwrap()
        .events_after(0, 100)
        .unwrap();
    assert_eq!(events.len(), 4, "the day's opening and three tickets");
}

#[test]
fn without_the_key_or_with_another_the_database_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = hall_db(dir.path());
    encryption::use_key(&db, new_key(dir.path(), "db.key"));
    fill(&db, 7777);
    let before = file_bytes(&db);

    // Another name for the same file has no key registered: opened plain, it is refused.
    let copy = dir.path().join("copy.db");
    std::fs::copy(&db, &copy).unwrap();
    let refused = Store::open(&copy, "hall-001").err().unwrap().to_string();
    assert!(refused.contains("[store] key_file"), "{refused}");

    let other_dir = tempfile::tempdir().unwrap();
    encryption::use_key(&copy, new_key(other_dir.path(), "other.key"));
    let refused = Store::open(&copy, "hall-001").err().unwrap().to_string();
    assert!(refused.contains("not encrypted with this key"), "{refused}");
    assert_eq!(file_bytes(&db), before, "nothing was written");
}

#[test]
fn a_key_for_a_plain_database_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = hall_db(dir.path());
    fill(&db, 7777);
    let before = std::fs::read(&db).unwrap();
    encryption::use_key(&db, new_key(dir.path(), "db.key"));
    let refused = Store::open(&db, "hall-001").err().unwrap().to_string();
    assert!(refused.contains("not encrypted with this key"), "{refused}");
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn a_plain_database_becomes_an_encrypted_copy_with_the_same_log() {
    let dir = tempfile::tempdir().unwrap();
    let plain = hall_db(dir.path());
    fill(&plain, 7777);
    let plain_events = Store::open_reader(&plain)
        .unwrap()
        .events_after(0, 100)
        .unwrap();
    let key = new_key(dir.path(), "db.key");
    let out = dir.path().join("encrypted.db");
    encryption::encrypt_copy(&plain, &key, &out).unwrap();
    for secret in secrets() {
        assert!(!holds(&file_bytes(&out), &secret));
    }
    encryption::use_key(&out, key.clone());
    let copied = Store::open_reader(&out)
        .unwrap()
        .events_after(0, 100)
        .unwrap();
    assert_eq!(copied, plain_events);
    // The engine takes the copy up where the plain one stopped: the next ticket follows on.
    fill(&out, 8000);
    let after = Store::open_reader(&out)
        .unwrap()
        .events_after(0, 100)
        .unwrap();
    assert_eq!(after.len(), plain_events.len() + 3);
    // The copy is never written over an existing file.
    let again = encryption::encrypt_copy(&plain, &key, &out).unwrap_err();
    assert!(again.to_string().contains("exists already"), "{again}");
}

#[test]
fn a_key_file_others_can_read_or_not_a_key_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db.key");
    DatabaseKey::create_file(&file).unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        DatabaseKey::create_file(&file).is_err(),
        "never overwritten"
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert!(matches!(
        DatabaseKey::load(&file),
        Err(KeyError::Exposed { mode: 0o640, .. })
    ));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&file, "not a key\n").unwrap();
    assert!(matches!(
        DatabaseKey::load(&file),
        Err(KeyError::Malformed { .. })
    ));
}
