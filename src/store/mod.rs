//! The device's store: one SQLite file holding the append-only event log, the results of commands
//! already executed (for idempotent retries), and state tables kept in step with the log.
//!
//! Every write happens inside a [`Batch`], one SQLite transaction committed with a full fsync (WAL,
//! `synchronous=FULL`): an acknowledged command survives power loss.

mod batch;
mod bookings_cursor;
mod checkpoint;
mod cursor;
mod error;
mod lean;
mod projection;
mod retention;
mod schema;
mod staff;
mod upcast;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::queue::{Appointment, DeviceFault, HallState, StoredEvent, Ticket, WindowState};
use batch::StateMeta;
pub mod encryption;

pub use batch::{Batch, CommandDigest, CommandResult, KeptResult, Outcome};
pub use bookings_cursor::{BOOKINGS_CURSOR_KEY, BOOKINGS_LAST_PULL_KEY, BookingsCursor};
pub use checkpoint::Checkpointer;
pub use cursor::{PLATFORM_CLOCK_KEY_PREFIX, PLATFORM_CURSOR_KEY, PlatformClock, PlatformCursor};
pub use error::{MAX_SEQ, StoreError};
pub use projection::{project_after, project_before};
pub use retention::{PRUNED_BASE_KEY, Pruned, Retention};
pub use schema::SCHEMA_VERSION;
pub use staff::{PinLimits, StaffBook, StaffBookError, StaffEntry};

pub struct Store {
    conn: Connection,
    codes: lean::LogCodes,
    wal_path: PathBuf,
    wal_limit: u64,
}

/// How large the WAL may grow before the writer folds it back and starts it again from the beginning.
/// Under a burst the WAL takes some 30 MB a second; unbounded it stayed hundreds of MB on the board's
/// SD card. The file keeps this size once reached (`journal_size_limit`), so it is not re-extended
/// after every fold.
pub const WAL_LIMIT_BYTES: u64 = 16 * 1024 * 1024;

/// The WAL file beside the database at `path`.
pub fn wal_path_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// How long opening the hall's database keeps trying while other openers hold it.
const OPEN_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

fn open_connection(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    encryption::connect(path, flags)
}

impl Store {
    /// Opens (creating if needed) the hall's database and brings its schema up to date.
    pub fn open(path: &Path, hall_id: &str) -> Result<Store, StoreError> {
        // Openers racing on a fresh file can be told "locked" at once while another one switches it
        // to WAL, without SQLite waiting on its busy handler: such an open is tried again, briefly.
        let give_up = std::time::Instant::now() + OPEN_PATIENCE;
        loop {
            match Store::open_once(path, hall_id) {
                Err(StoreError::Sqlite(e))
                    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                        && std::time::Instant::now() < give_up =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    fn open_once(path: &Path, hall_id: &str) -> Result<Store, StoreError> {
        keep_private(path)?;
        let mut conn = open_connection(path, OpenFlags::default())?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Checkpoints run beside the writer (see `checkpoint.rs`), never inside a command's commit.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.pragma_update(None, "journal_size_limit", WAL_LIMIT_BYTES as i64)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut conn)?;
        // Whoever opens a fresh database first names its hall; a second opener at the same moment
        // finds the name there.
        conn.execute(
            "INSERT INTO hall_meta (key, value) VALUES ('hall_id', ?1) ON CONFLICT (key) DO NOTHING",
            [hall_id],
        )?;
        let owner: String = conn.query_row(
            "SELECT value FROM hall_meta WHERE key = 'hall_id'",
            [],
            |r| r.get(0),
        )?;
        if owner != hall_id {
            return Err(StoreError::WrongHall {
                found: owner,
                expected: hall_id.to_string(),
            });
        }
        Ok(Store {
            codes: lean::LogCodes::read(&conn)?,
            conn,
            wal_path: wal_path_of(path),
            wal_limit: WAL_LIMIT_BYTES,
        })
    }

    /// Sets how large the WAL may grow before [`Store::keep_wal_bounded`] folds it back.
    pub fn set_wal_limit(&mut self, bytes: u64) -> Result<(), StoreError> {
        self.conn
            .pragma_update(None, "journal_size_limit", bytes as i64)?;
        self.wal_limit = bytes;
        Ok(())
    }

    /// Gives the WAL its full size before the first command: zeros past its last frame, up to its
    /// limit. A commit that appends to the WAL makes the file system journal the file's new size and
    /// blocks along with the commit's own pages at every fsync; a commit into space the file already
    /// has writes the pages alone. SQLite reads a WAL only as far as its frames' checksums hold, so
    /// zeros after them are nothing to it (PostgreSQL fills its WAL segments with zeros for the same
    /// reason). The write lock is held meanwhile, so no frame is being written past the end.
    pub fn presize_wal(&mut self) -> Result<(), StoreError> {
        use std::os::unix::fs::FileExt;
        let write_lock = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let io = |e: std::io::Error| StoreError::Io(format!("{}: {e}", self.wal_path.display()));
        let wal = match std::fs::OpenOptions::new().write(true).open(&self.wal_path) {
            Ok(wal) => wal,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(e)),
        };
        let mut size = wal.metadata().map_err(io)?.len();
        if size >= self.wal_limit {
            return Ok(());
        }
        static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];
        while size < self.wal_limit {
            let chunk = (self.wal_limit - size).min(ZEROS.len() as u64) as usize;
            wal.write_all_at(&ZEROS[..chunk], size).map_err(io)?;
            size += chunk as u64;
        }
        wal.sync_all().map_err(io)?;
        drop(write_lock);
        Ok(())
    }

    /// Folds the WAL back and has the next write start it from the beginning, once it has grown past
    /// its limit. Called by the writer between batches: under steady load the checkpoint thread never
    /// finds the gap between two batches to take the write lock in, so only the writer can bound the
    /// WAL. Most pages are already copied by that thread's passive checkpoints, so this costs little.
    /// Returns whether it folded.
    pub fn keep_wal_bounded(&self) -> Result<bool, StoreError> {
        let size = std::fs::metadata(&self.wal_path).map_or(0, |m| m.len());
        if size <= self.wal_limit {
            return Ok(false);
        }
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| r.get(0))?;
        Ok(busy == 0)
    }

    /// Loads the live state from the state tables.
    pub fn load_state(&self) -> Result<HallState, StoreError> {
        let meta: Option<String> = self
            .conn
            .query_row("SELECT value FROM hall_meta WHERE key = 'state'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(meta) = meta else {
            return Ok(HallState::default());
        };
        let meta: StateMeta = serde_json::from_str(&meta)?;
        let mut state = HallState::default();
        state.last_seq = meta.last_seq;
        state.business_day = meta.business_day;
        state.clock = meta.clock;
        state.last_ticket_id = meta.last_ticket_id;
        state.sequences = meta.sequences;
        state.bookings_stale = meta.bookings_stale;
        if let Some(day) = state.business_day {
            for ticket in self.tickets_of_day(day)? {
                state.tickets.insert(ticket.id, ticket);
            }
            state.reindex();
        }
        state.windows = self
            .rows::<WindowState>("SELECT data FROM windows", [])?
            .into_iter()
            .map(|w| (w.number, w))
            .collect();
        state.appointments = self
            .rows::<Appointment>("SELECT data FROM appointments", [])?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        state.faults = self
            .conn
            .prepare("SELECT device, data FROM device_faults")?
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .map(|row| {
                let (device, data) = row?;
                Ok((device, serde_json::from_str::<DeviceFault>(&data)?))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(state)
    }

    fn rows<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(params)?;
        let mut read = Vec::new();
        while let Some(row) = rows.next()? {
            let json = lean::unpack(row.get_ref(0)?, || format!("a row of `{sql}`"))?;
            read.push(serde_json::from_str(&json)?);
        }
        Ok(read)
    }

    /// Every ticket of one business day, as last recorded.
    pub fn tickets_of_day(&self, day: chrono::NaiveDate) -> Result<Vec<Ticket>, StoreError> {
        self.rows(
            "SELECT data FROM tickets WHERE business_day = ?1 ORDER BY id",
            [lean::day_number(day)],
        )
    }

    /// Events after `after_seq`, at most `limit` of them, in order, each in today's shape whatever the
    /// hallq that stored it. An event stored by a newer hallq fails the whole read.
    pub fn events_after(
        &self,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let after_seq =
            i64::try_from(after_seq).map_err(|_| StoreError::SeqOutOfRange(after_seq))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            upcast::EVENT_COLUMNS
        ))?;
        let mut rows = stmt.query(params![after_seq, limit])?;
        let mut events = Vec::new();
        while let Some(row) = rows.next()? {
            events.push(upcast::stored_event_from_row(row)?);
        }
        Ok(events)
    }

    /// Calls `each` on every event of the log, in order, without holding the whole log in memory.
    pub fn for_each_event(&self, mut each: impl FnMut(&StoredEvent)) -> Result<(), StoreError> {
        let mut after = 0;
        loop {
            let page = self.events_after(after, 1000)?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.seq;
            page.iter().for_each(&mut each);
        }
    }

    pub fn last_seq(&self) -> Result<u64, StoreError> {
        let seq: Option<i64> = self
            .conn
            .query_row("SELECT MAX(seq) FROM events", [], |r| r.get(0))?;
        Ok(seq.unwrap_or(0) as u64)
    }

    /// Starts the transaction that a batch of commands is written in. It takes the write lock at once:
    /// pairing and `hallq pair revoke` write to the same database from other connections, and a batch
    /// that read first would fail on seeing their commit instead of waiting for it.
    pub fn begin(&mut self) -> Result<Batch<'_>, StoreError> {
        Ok(Batch {
            tx: self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?,
            codes: &mut self.codes,
            given_codes: Default::default(),
        })
    }

    /// The staff book in this database, on this connection.
    pub fn into_staff_book(self) -> StaffBook {
        StaffBook::new(self.conn)
    }

    /// The state as of the last event dropped by retention; `None` while none was.
    pub fn pruned_base(&self) -> Result<Option<HallState>, StoreError> {
        retention::pruned_base(&self.conn)
    }

    /// One bounded step of retention on business day `today`: at most `limit` rows of each kind
    /// (see `retention.rs`).
    pub fn prune_step(
        &mut self,
        rules: Retention,
        today: chrono::NaiveDate,
        limit: usize,
    ) -> Result<Pruned, StoreError> {
        retention::prune_step(&mut self.conn, rules, today, limit)
    }

    /// The database file's size on disk, WAL included, in bytes.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        let page_count: i64 = self.conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let page_size: i64 = self.conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        Ok((page_count * page_size) as u64)
    }

    /// Bytes the kept command results take in the database file, pages included.
    pub fn command_result_bytes(&self) -> Result<u64, StoreError> {
        let bytes: Option<i64> = self.conn.query_row(
            "SELECT SUM(pgsize) FROM dbstat WHERE name = 'command_results'",
            [],
            |r| r.get(0),
        )?;
        Ok(bytes.unwrap_or(0) as u64)
    }

    /// Bytes each table and index takes in the database file, pages included, largest first.
    pub fn bytes_per_table(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Folds the WAL back into the main file.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// A connection for readers beside the engine (exports, the LAN's event resume); WAL lets it read
    /// while the engine writes.
    pub fn open_reader(path: &Path) -> Result<Store, StoreError> {
        let conn = open_connection(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        Ok(Store {
            // A reader writes no events.
            codes: lean::LogCodes::default(),
            conn,
            wal_path: wal_path_of(path),
            wal_limit: WAL_LIMIT_BYTES,
        })
    }
}

/// The database holds every citizen's trail: it is made readable by the service's user alone, and an
/// older file readable by others is closed up. SQLite gives its WAL and shared-memory files the
/// database file's mode, so they follow.
fn keep_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))?;
    let mode = file
        .metadata()
        .map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0
        && let Err(e) = file.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))
    {
        tracing::warn!("{} stays readable by others: {e}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Event;
    use crate::queue::Recorded;

    fn print_failure(ticket: u64, detail: Option<&str>) -> Event {
        Event::TicketPrintFailed {
            ticket,
            detail: detail.map(String::from),
        }
    }

    /// An event of boot `boot`, after `seq - 1` others.
    fn of_boot(seq: u64, boot: &str) -> StoredEvent {
        StoredEvent {
            seq,
            event_id: uuid::Uuid::now_v7(),
            hall_id: "hall".into(),
            command_id: None,
            recorded: Recorded {
                wall_ms: 1_772_400_000_000,
                hall_ms: 1_772_400_000_000,
                boot_id: boot.into(),
                mono_ms: 5,
                clock_trusted: true,
                business_day: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            },
            event: print_failure(seq, None),
        }
    }

    #[test]
    fn a_boot_numbered_in_a_batch_rolled_back_is_numbered_again_when_next_met() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hall.db");
        let mut store = Store::open(&path, "hall").unwrap();
        let batch = store.begin().unwrap();
        batch.append(&of_boot(1, "boot-a")).unwrap();
        drop(batch);
        // The number boot-a had in the rolled-back batch goes to boot-b.
        let batch = store.begin().unwrap();
        batch.append(&of_boot(1, "boot-b")).unwrap();
        batch.commit().unwrap();
        // Another connection numbers boot-c; this one meets it next.
        let other = Store::open(&path, "hall").unwrap();
        Connection::open(&path)
            .unwrap()
            .execute("INSERT INTO boots (boot_id) VALUES ('boot-c')", [])
            .unwrap();
        drop(other);
        let batch = store.begin().unwrap();
        for (seq, boot) in [(2, "boot-a"), (3, "boot-b"), (4, "boot-c"), (5, "boot-a")] {
            batch.append(&of_boot(seq, boot)).unwrap();
        }
        batch.commit().unwrap();
        let boots: Vec<String> = store
            .events_after(0, 10)
            .unwrap()
            .into_iter()
            .map(|e| e.recorded.boot_id)
            .collect();
        assert_eq!(boots, ["boot-b", "boot-a", "boot-b", "boot-c", "boot-a"]);
        let reopened = Store::open(&path, "hall").unwrap();
        assert_eq!(reopened.events_after(0, 10).unwrap().len(), 5);
    }

    /// Stores an event row as hallq did before events carried versions, or as it does today at
    /// `version` if given.
    fn insert_row(conn: &Connection, seq: u64, payload: &str, version: Option<u32>) {
        let Some(version) = version else {
            conn.execute(
                "INSERT INTO events (seq, event_id, hall_id, command_id, kind, payload, wall_ms,
                                     hall_ms, boot_id, mono_ms, clock_trusted, business_day)
                 VALUES (?1, ?2, 'hall', NULL, 'ticket_print_failed', ?3, 1000, 1000, 'boot', 5, 1,
                         '2026-03-02')",
                params![seq as i64, uuid::Uuid::now_v7().to_string(), payload],
            )
            .unwrap();
            return;
        };
        lean::insert_event(
            conn,
            &mut lean::Codes {
                committed: &lean::LogCodes::read(conn).unwrap(),
                given: &mut lean::GivenCodes::default(),
            },
            &lean::EventRow {
                seq,
                event_id: uuid::Uuid::now_v7(),
                hall_id: "hall",
                command_id: None,
                kind: "ticket_print_failed",
                version,
                ticket: None,
                payload,
                recorded: &crate::queue::Recorded {
                    wall_ms: 1000,
                    hall_ms: 1000,
                    boot_id: "boot".into(),
                    mono_ms: 5,
                    clock_trusted: true,
                    business_day: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
                },
            },
        )
        .unwrap();
    }

    fn event_rows(conn: &Connection) -> Vec<(i64, u32, String)> {
        conn.prepare("SELECT seq, event_version, hex(payload) FROM events ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn the_bytes_of_each_table_and_of_kept_results_are_measured() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("hall.db"), "H1").unwrap();
        let tables = store.bytes_per_table().unwrap();
        let of = |name: &str| tables.iter().find(|(t, _)| t == name).map(|(_, b)| *b);
        let page: i64 = store
            .conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!(of("events"), Some(page as u64), "{tables:?}");
        assert_eq!(of("command_results"), Some(page as u64), "{tables:?}");
        assert_eq!(of("commands"), None, "{tables:?}");
        assert_eq!(store.command_result_bytes().unwrap(), page as u64);
    }

    #[test]
    fn events_stored_before_versions_are_read_in_todays_shape() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hall.db");
        {
            // The database as hallq left it at schema 3, before events carried versions.
            let conn = Connection::open(&path).unwrap();
            for sql in &schema::MIGRATIONS[..3] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 3).unwrap();
            let v1 = |ticket, detail| {
                format!(r#"{{"type":"ticket_print_failed","ticket":{ticket},"detail":"{detail}"}}"#)
            };
            insert_row(&conn, 1, &v1(1, ""), None);
            insert_row(&conn, 2, &v1(2, "paper jam"), None);
        }
        let mut store = Store::open(&path, "hall").unwrap();
        let events = |store: &Store| -> Vec<Event> {
            let stored = store.events_after(0, 10).unwrap();
            stored.into_iter().map(|e| e.event).collect()
        };
        assert_eq!(
            events(&store),
            [print_failure(1, None), print_failure(2, Some("paper jam"))]
        );

        let mut written = store.events_after(1, 1).unwrap().remove(0);
        written.seq = 3;
        written.event_id = uuid::Uuid::now_v7();
        written.event = print_failure(3, None);
        let batch = store.begin().unwrap();
        batch.append(&written).unwrap();
        batch.commit().unwrap();
        let conn = Connection::open(&path).unwrap();
        let versions: Vec<u32> = event_rows(&conn).into_iter().map(|r| r.1).collect();
        assert_eq!(
            versions,
            [1, 1, 2],
            "old rows are version 1, new ones today's"
        );
        assert_eq!(events(&store)[2], print_failure(3, None));
    }

    #[test]
    fn an_event_from_a_newer_hallq_stops_the_read_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hall.db");
        let store = Store::open(&path, "hall").unwrap();
        let conn = Connection::open(&path).unwrap();
        insert_row(
            &conn,
            1,
            r#"{"type":"ticket_print_failed","ticket":1}"#,
            Some(2),
        );
        insert_row(
            &conn,
            2,
            r#"{"type":"ticket_print_failed","ticket":2,"reason":{"code":"jam"}}"#,
            Some(3),
        );
        let before = event_rows(&conn);

        match store.events_after(0, 10) {
            Err(e @ StoreError::EventTooNew { .. }) => assert_eq!(
                e.to_string(),
                "event 2 (ticket_print_failed) is stored at version 3, newer than this hallq reads (2)"
            ),
            other => panic!("expected EventTooNew, got {other:?}"),
        }
        let readable = store.events_after(0, 1).unwrap();
        assert_eq!(readable[0].event, print_failure(1, None));
        drop(store);
        Store::open(&path, "hall").unwrap();
        assert_eq!(event_rows(&conn), before, "the log is as it was");
    }

    const WINDOW_REPLY: &str = r#"{"done":{"kind":"window","window":{"number":3,"staff":"B2","paused":false,"current":null}}}"#;

    /// A database as hallq left it at schema 7, with the rows it wrote then.
    fn at_schema_7(path: &std::path::Path, events: &[(StoredEvent, u32, String)]) {
        let mut conn = Connection::open(path).unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &schema::MIGRATIONS[..7] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 7).unwrap();
        tx.execute("INSERT INTO hall_meta VALUES ('hall_id', 'hall')", [])
            .unwrap();
        for (stored, version, payload) in events {
            let r = &stored.recorded;
            tx.execute(
                "INSERT INTO events (seq, event_id, hall_id, command_id, kind, payload, wall_ms,
                                     hall_ms, boot_id, mono_ms, clock_trusted, business_day,
                                     event_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                rusqlite::params![
                    stored.seq as i64,
                    stored.event_id.to_string(),
                    stored.hall_id,
                    stored.command_id,
                    stored.event.kind(),
                    payload,
                    r.wall_ms,
                    r.hall_ms,
                    r.boot_id,
                    r.mono_ms,
                    r.clock_trusted,
                    r.business_day.to_string(),
                    version,
                ],
            )
            .unwrap();
        }
        tx.execute_batch(
            r#"INSERT INTO tickets VALUES (7, '2026-03-02', 'A007', 'SB', 'waiting', '{"ticket":7}');
               INSERT INTO tickets VALUES (8, '2026-03-03', 'A001', 'SB', 'waiting', '{"ticket":8}');"#,
        )
        .unwrap();
        tx.commit().unwrap();
    }

    #[test]
    fn the_lean_log_reads_back_every_event_stored_before_it() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let terminal = uuid::Uuid::now_v7().to_string();
        let mut events: Vec<(StoredEvent, u32, String)> = crate::queue::event::tests::one_of_each()
            .into_iter()
            .enumerate()
            .map(|(n, event)| {
                let n = n as i64;
                let stored = StoredEvent {
                    seq: n as u64 + 1,
                    event_id: uuid::Uuid::now_v7(),
                    hall_id: if n == 3 { "another hall" } else { "hall" }.into(),
                    command_id: match n % 4 {
                        0 => None,
                        1 => Some(terminal.clone()),
                        2 => Some(terminal.to_uppercase()),
                        _ => Some(format!("kiosk-{n}")),
                    },
                    recorded: Recorded {
                        wall_ms: 1_772_400_000_000 + n,
                        hall_ms: 1_772_400_000_000 + n * (n % 2),
                        boot_id: format!("boot-{}", n / 10),
                        mono_ms: 5_000 + n,
                        clock_trusted: n % 3 != 0,
                        business_day: day + chrono::Days::new(n as u64 / 12),
                    },
                    event,
                };
                let payload = serde_json::to_string(&stored.event).unwrap();
                let version = upcast::current_version(stored.event.kind());
                (stored, version, payload)
            })
            .collect();
        // A row of an older shape keeps its version and is still read through its upcaster.
        let mut old = events[0].0.clone();
        old.event_id = uuid::Uuid::now_v7();
        old.seq = events.len() as u64 + 1;
        old.event = crate::queue::Event::TicketPrintFailed {
            ticket: 4,
            detail: None,
        };
        let old_payload = r#"{"type":"ticket_print_failed","ticket":4,"detail":""}"#.to_string();
        events.push((old, 1, old_payload));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hall.db");
        at_schema_7(&path, &events);
        let kept = |id: &str, seq: i64| {
            let conn = Connection::open(&path).unwrap();
            conn.execute(
                "INSERT INTO command_results (command_id, digest, other, last_seq, business_day)
                 VALUES (?1, zeroblob(16), ?2, ?3, 1)",
                rusqlite::params![id, WINDOW_REPLY, seq],
            )
            .unwrap();
        };
        kept(&terminal, 2);
        kept("kiosk-3", 4);

        let mut store = Store::open(&path, "hall").unwrap();
        let read = store.events_after(0, 1000).unwrap();
        let expected: Vec<StoredEvent> = events.iter().map(|(e, _, _)| e.clone()).collect();
        assert_eq!(read, expected);

        let conn = Connection::open(&path).unwrap();
        let versions: Vec<u32> = conn
            .prepare("SELECT event_version FROM events ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(versions.last(), Some(&1), "an old row keeps its version");
        let (ids, halls, hall_times): (i64, i64, i64) = conn
            .query_row(
                "SELECT SUM(length(event_id) = 16), COUNT(hall_id), COUNT(hall_ms) FROM events",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(ids, events.len() as i64, "every id is its 16 bytes");
        assert_eq!(halls, 1, "only another hall's id is written out");
        let differing = events
            .iter()
            .filter(|(e, _, _)| e.recorded.hall_ms != e.recorded.wall_ms)
            .count();
        assert_eq!(
            hall_times, differing as i64,
            "a hall time is written only where it is not the wall time"
        );
        let unique: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_schema WHERE tbl_name = 'events' AND type = 'index'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(unique, 0, "no index on the event id");

        let days: Vec<i64> = conn
            .prepare("SELECT business_day FROM tickets ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            days,
            [
                lean::day_number(day),
                lean::day_number(day.succ_opt().unwrap())
            ]
            .map(i64::from)
        );

        let batch = store.begin().unwrap();
        for (id, seq) in [(terminal.as_str(), 2), ("kiosk-3", 4)] {
            let found = batch.kept_result(id).unwrap().expect(id);
            assert_eq!(batch.outcome_of(&found).unwrap().seq, seq);
        }
        drop(batch);
        let blob_ids: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM command_results WHERE typeof(command_id) = 'blob'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(blob_ids, 1, "a terminal's command id is kept as its bytes");
    }
}
