//! The device's store: one SQLite file holding the append-only event log, the results of commands
//! already executed (for idempotent retries), and state tables kept in step with the log.
//!
//! Every write happens inside a [`Batch`], one SQLite transaction committed with a full fsync (WAL,
//! `synchronous=FULL`): an acknowledged command survives power loss.

mod checkpoint;
mod projection;
mod schema;

use std::path::{Path, PathBuf};

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};
use serde::{Deserialize, Serialize};

use crate::queue::{
    Appointment, DeviceFault, HallState, Recorded, RefusalWire, Reply, StoredEvent, Ticket,
    WindowState,
};
pub use checkpoint::Checkpointer;
pub use projection::{project_after, project_before};
pub use schema::SCHEMA_VERSION;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("corrupt record in the store: {0}")]
    Corrupt(String),
    #[error(
        "the database has schema version {found}, newer than this hallq supports ({supported})"
    )]
    TooNew { found: u32, supported: u32 },
    #[error("the database belongs to hall {found}, not {expected}")]
    WrongHall { found: String, expected: String },
    #[error("{0} is not an event sequence number: they run from 0 to {MAX_SEQ}")]
    SeqOutOfRange(u64),
}

/// The highest event sequence the log can hold: SQLite integers are signed 64-bit. A resume point
/// above it would wrap to a negative number and replay the whole log, so it is refused instead.
pub const MAX_SEQ: u64 = i64::MAX as u64;

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// What a command came to, kept so a retry with the same id gets the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandResult {
    Done(Reply),
    Refused(RefusalWire),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub command_id: String,
    pub result: CommandResult,
    /// The log sequence after the command: a terminal that has seen this far has seen its effects.
    pub seq: u64,
}

pub struct Store {
    conn: Connection,
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

/// The scalar part of the state, kept in `hall_meta`; the rest lives in its own tables.
#[derive(Serialize, Deserialize)]
struct StateMeta {
    last_seq: u64,
    business_day: Option<chrono::NaiveDate>,
    clock: Option<crate::queue::day::ClockAnchor>,
    last_ticket_id: crate::queue::TicketId,
    sequences: std::collections::BTreeMap<String, u32>,
}

/// How long opening the hall's database keeps trying while other openers hold it.
const OPEN_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

fn open_connection(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
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
        let mut state = HallState {
            last_seq: meta.last_seq,
            business_day: meta.business_day,
            clock: meta.clock,
            last_ticket_id: meta.last_ticket_id,
            sequences: meta.sequences,
            ..HallState::default()
        };
        if let Some(day) = state.business_day {
            for ticket in self.tickets_of_day(day)? {
                state.tickets.insert(ticket.id, ticket);
            }
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
        let texts = stmt
            .query_map(params, |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        texts
            .iter()
            .map(|t| serde_json::from_str(t).map_err(StoreError::from))
            .collect()
    }

    /// Every ticket of one business day, as last recorded.
    pub fn tickets_of_day(&self, day: chrono::NaiveDate) -> Result<Vec<Ticket>, StoreError> {
        self.rows(
            "SELECT data FROM tickets WHERE business_day = ?1 ORDER BY id",
            [day.to_string()],
        )
    }

    /// Events after `after_seq`, at most `limit` of them, in order.
    pub fn events_after(
        &self,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let after_seq =
            i64::try_from(after_seq).map_err(|_| StoreError::SeqOutOfRange(after_seq))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, event_id, hall_id, command_id, payload, wall_ms, hall_ms, boot_id, mono_ms,
                    clock_trusted, business_day
             FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_seq, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, i64>(8)?,
                r.get::<_, bool>(9)?,
                r.get::<_, String>(10)?,
            ))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (
                seq,
                event_id,
                hall_id,
                command_id,
                payload,
                wall_ms,
                hall_ms,
                boot_id,
                mono_ms,
                trusted,
                day,
            ) = row?;
            events.push(StoredEvent {
                seq: seq as u64,
                event_id: event_id
                    .parse()
                    .map_err(|e| StoreError::Corrupt(format!("event {seq}: bad id: {e}")))?,
                hall_id,
                command_id,
                recorded: Recorded {
                    wall_ms,
                    hall_ms,
                    boot_id,
                    mono_ms,
                    clock_trusted: trusted,
                    business_day: day
                        .parse()
                        .map_err(|e| StoreError::Corrupt(format!("event {seq}: bad day: {e}")))?,
                },
                event: serde_json::from_str(&payload)?,
            });
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
        })
    }

    /// The database file's size on disk, WAL included, in bytes.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        let page_count: i64 = self.conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let page_size: i64 = self.conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        Ok((page_count * page_size) as u64)
    }

    /// Bytes of text held by stored command results.
    pub fn command_result_bytes(&self) -> Result<u64, StoreError> {
        let bytes: Option<i64> = self.conn.query_row(
            "SELECT SUM(length(command_id) + length(command) + length(outcome) + length(business_day) + 8)
             FROM commands",
            [],
            |r| r.get(0),
        )?;
        Ok(bytes.unwrap_or(0) as u64)
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
            conn,
            wal_path: wal_path_of(path),
            wal_limit: WAL_LIMIT_BYTES,
        })
    }
}

/// One transaction: command results, events and state rows, all or nothing.
pub struct Batch<'a> {
    tx: Transaction<'a>,
}

impl Batch<'_> {
    /// The stored result of an earlier command with this id, with the command it was for.
    pub fn command_outcome(
        &self,
        command_id: &str,
    ) -> Result<Option<(String, Outcome)>, StoreError> {
        let row: Option<(String, String)> = self
            .tx
            .prepare_cached("SELECT command, outcome FROM commands WHERE command_id = ?1")?
            .query_row([command_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(command, outcome)| Ok((command, serde_json::from_str(&outcome)?)))
            .transpose()
    }

    pub fn record_command(
        &self,
        command_json: &str,
        outcome: &Outcome,
        business_day: chrono::NaiveDate,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO commands (command_id, command, outcome, last_seq, business_day)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                outcome.command_id,
                command_json,
                serde_json::to_string(outcome)?,
                outcome.seq as i64,
                business_day.to_string(),
            ])?;
        Ok(())
    }

    /// Forgets command results of days before `day`: a terminal retries for minutes, not days, and the
    /// event log keeps the full trail.
    pub fn forget_commands_before(&self, day: chrono::NaiveDate) -> Result<(), StoreError> {
        self.tx.execute(
            "DELETE FROM commands WHERE business_day < ?1",
            [day.to_string()],
        )?;
        Ok(())
    }

    pub fn append(&self, stored: &StoredEvent) -> Result<(), StoreError> {
        let r = &stored.recorded;
        self.tx
            .prepare_cached(
                "INSERT INTO events (seq, event_id, hall_id, command_id, kind, payload, wall_ms, hall_ms,
                                     boot_id, mono_ms, clock_trusted, business_day)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                stored.seq as i64,
                stored.event_id.to_string(),
                stored.hall_id,
                stored.command_id,
                stored.event.kind(),
                serde_json::to_string(&stored.event)?,
                r.wall_ms,
                r.hall_ms,
                r.boot_id,
                r.mono_ms,
                r.clock_trusted,
                r.business_day.to_string(),
            ])?;
        Ok(())
    }

    pub fn write_ticket(&self, ticket: &Ticket) -> Result<(), StoreError> {
        let state = serde_json::to_value(ticket.state)?;
        self.tx
            .prepare_cached(
                "INSERT INTO tickets (id, business_day, number, service, state, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET service = excluded.service, state = excluded.state,
                                                data = excluded.data",
            )?
            .execute(params![
                ticket.id as i64,
                ticket.business_day.to_string(),
                ticket.number,
                ticket.service,
                state.as_str().unwrap_or_default(),
                serde_json::to_string(ticket)?,
            ])?;
        Ok(())
    }

    pub fn write_window(&self, window: &WindowState) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("INSERT OR REPLACE INTO windows (number, data) VALUES (?1, ?2)")?
            .execute(params![window.number, serde_json::to_string(window)?])?;
        Ok(())
    }

    pub fn write_appointment(&self, appointment: &Appointment) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO appointments (id, business_day, data) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![
                appointment.id,
                appointment.business_day.to_string(),
                serde_json::to_string(appointment)?
            ])?;
        Ok(())
    }

    /// Drops bookings of days before `day`: the live state no longer holds them.
    pub fn drop_appointments_before(&self, day: chrono::NaiveDate) -> Result<(), StoreError> {
        self.tx.execute(
            "DELETE FROM appointments WHERE business_day < ?1",
            [day.to_string()],
        )?;
        Ok(())
    }

    pub fn write_fault(&self, device: &str, fault: Option<&DeviceFault>) -> Result<(), StoreError> {
        match fault {
            Some(f) => self
                .tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO device_faults (device, data) VALUES (?1, ?2)",
                )?
                .execute(params![device, serde_json::to_string(f)?])?,
            None => self
                .tx
                .prepare_cached("DELETE FROM device_faults WHERE device = ?1")?
                .execute([device])?,
        };
        Ok(())
    }

    /// Writes the scalar part of the state (sequence, day, clock anchor, counters).
    pub fn write_meta(&self, state: &HallState) -> Result<(), StoreError> {
        let meta = StateMeta {
            last_seq: state.last_seq,
            business_day: state.business_day,
            clock: state.clock.clone(),
            last_ticket_id: state.last_ticket_id,
            sequences: state.sequences.clone(),
        };
        self.tx
            .prepare_cached("INSERT OR REPLACE INTO hall_meta (key, value) VALUES ('state', ?1)")?
            .execute([serde_json::to_string(&meta)?])?;
        Ok(())
    }

    pub fn commit(self) -> Result<(), StoreError> {
        self.tx.commit()?;
        Ok(())
    }
}
