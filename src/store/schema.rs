//! The database schema and its migrations. `PRAGMA user_version` counts the migrations applied.

use rusqlite::{Connection, TransactionBehavior};

use super::batch::{CommandDigest, KeptResult, Outcome, insert_kept};
use super::error::StoreError;
use super::lean;
use crate::queue::Recorded;

/// Each entry upgrades the schema by one version. Never edit a released entry: add a new one.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the event log, idempotent command results, and the state tables.
    r#"
    CREATE TABLE events (
        seq           INTEGER PRIMARY KEY,
        event_id      TEXT    NOT NULL UNIQUE,
        hall_id       TEXT    NOT NULL,
        command_id    TEXT,
        kind          TEXT    NOT NULL,
        payload       TEXT    NOT NULL,
        wall_ms       INTEGER NOT NULL,
        hall_ms       INTEGER NOT NULL,
        boot_id       TEXT    NOT NULL,
        mono_ms       INTEGER NOT NULL,
        clock_trusted INTEGER NOT NULL,
        business_day  TEXT    NOT NULL
    );
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;

    CREATE TABLE commands (
        command_id   TEXT    PRIMARY KEY,
        command      TEXT    NOT NULL,
        outcome      TEXT    NOT NULL,
        last_seq     INTEGER NOT NULL,
        business_day TEXT    NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX commands_by_day ON commands (business_day);

    CREATE TABLE tickets (
        id           INTEGER PRIMARY KEY,
        business_day TEXT    NOT NULL,
        number       TEXT    NOT NULL,
        service      TEXT    NOT NULL,
        state        TEXT    NOT NULL,
        data         TEXT    NOT NULL,
        UNIQUE (business_day, number)
    );
    CREATE TABLE windows (number INTEGER PRIMARY KEY, data TEXT NOT NULL);
    CREATE TABLE appointments (
        id           TEXT PRIMARY KEY,
        business_day TEXT NOT NULL,
        data         TEXT NOT NULL
    );
    CREATE TABLE device_faults (device TEXT PRIMARY KEY, data TEXT NOT NULL);
    CREATE TABLE hall_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    "#,
    // 2: LAN pairing. Codes and device tokens are kept only as SHA-256 hashes: a copy of the database
    // does not let anyone act as a terminal.
    r#"
    CREATE TABLE lan_pairing_codes (
        code_hash  TEXT    PRIMARY KEY,
        role       TEXT,
        window     INTEGER,
        expires_ms INTEGER NOT NULL,
        used       INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE lan_devices (
        token_hash TEXT    PRIMARY KEY,
        name       TEXT    NOT NULL,
        role       TEXT    NOT NULL,
        window     INTEGER,
        paired_ms  INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 3: paired devices get a short id staff can name, when each was last heard from, and revocation.
    // A revoked device keeps its row, so the list still shows who was cut off and when.
    r#"
    CREATE TABLE lan_devices_v3 (
        id           INTEGER PRIMARY KEY,
        token_hash   TEXT    NOT NULL UNIQUE,
        name         TEXT    NOT NULL,
        role         TEXT    NOT NULL,
        window       INTEGER,
        paired_ms    INTEGER NOT NULL,
        last_seen_ms INTEGER,
        revoked_ms   INTEGER
    );
    INSERT INTO lan_devices_v3 (token_hash, name, role, window, paired_ms)
        SELECT token_hash, name, role, window, paired_ms FROM lan_devices ORDER BY paired_ms;
    DROP TABLE lan_devices;
    ALTER TABLE lan_devices_v3 RENAME TO lan_devices;
    "#,
    // 4: each event records the version of its payload's shape for its kind (see upcast.rs); the events
    // stored before were all of version 1.
    r#"
    ALTER TABLE events ADD COLUMN event_version INTEGER NOT NULL DEFAULT 1;
    "#,
    // 5: the staff book: each staff number's PIN as an Argon2id hash (never the PIN), and the wrong
    // PINs in a row that lock the number for a while.
    r#"
    CREATE TABLE staff (
        staff           TEXT    PRIMARY KEY,
        pin_hash        TEXT    NOT NULL,
        set_ms          INTEGER NOT NULL,
        wrong_in_a_row  INTEGER NOT NULL DEFAULT 0,
        locked_until_ms INTEGER
    ) WITHOUT ROWID;
    "#,
    // 6: command results kept for retries hold what a retry needs, not a second copy of the trail: a
    // digest of the command instead of its text, and a ticket reply as the ticket's id (read back from
    // the log). The day is a day number, and no index: results are forgotten once a day, by a scan.
    // The rows of `commands` are carried over by `carry_over_command_results`, which then drops it.
    r#"
    CREATE TABLE command_results (
        command_id   TEXT    PRIMARY KEY,
        digest       BLOB    NOT NULL,
        ticket       INTEGER,
        people_ahead INTEGER,
        other        TEXT,
        last_seq     INTEGER NOT NULL,
        business_day INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 7: retention. An event the platform has acknowledged may leave the log, and its payload may lose
    // the citizen's ID hash and masked name; every other column stays as recorded, and an event not
    // yet acknowledged can be neither deleted nor changed. The cursor is read in the trigger itself,
    // so no code path can get round it.
    r#"
    DROP TRIGGER events_no_update;
    DROP TRIGGER events_no_delete;
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        WHEN OLD.seq > COALESCE((SELECT CAST(value AS INTEGER) FROM hall_meta
                                 WHERE key = 'platform_acked_through'), 0)
          OR NEW.seq IS NOT OLD.seq OR NEW.event_id IS NOT OLD.event_id
          OR NEW.hall_id IS NOT OLD.hall_id OR NEW.command_id IS NOT OLD.command_id
          OR NEW.kind IS NOT OLD.kind OR NEW.wall_ms IS NOT OLD.wall_ms
          OR NEW.hall_ms IS NOT OLD.hall_ms OR NEW.boot_id IS NOT OLD.boot_id
          OR NEW.mono_ms IS NOT OLD.mono_ms OR NEW.clock_trusted IS NOT OLD.clock_trusted
          OR NEW.business_day IS NOT OLD.business_day
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: only an acknowledged event may lose its personal data'); END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        WHEN OLD.seq > COALESCE((SELECT CAST(value AS INTEGER) FROM hall_meta
                                 WHERE key = 'platform_acked_through'), 0)
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: only acknowledged events may leave it'); END;
    "#,
    // 8: a lean store (see lean.rs). The event log is rebuilt with ids as 16 bytes, boots and kinds as
    // numbers into their own tables, the hall's own id and a hall time equal to the wall time left
    // out, days as day numbers, the ticket an event names beside it, and payloads deflated against a
    // dictionary unless they name a citizen; `lean_event_log` carries the rows over and puts the retention triggers of migration 7 back on the new table. Nothing looks an
    // event up by its id, so it has no index: sequences are the key, and ids are drawn as UUIDv7. The
    // ticket rows keep their JSON (deflated like payloads, by `lean_event_log`) and their day, as a day
    // number; nothing read the columns that repeated the JSON. Kept results name a terminal's command by its UUID's 16 bytes.
    r#"
    ALTER TABLE events RENAME TO events_v7;
    CREATE TABLE boots (id INTEGER PRIMARY KEY, boot_id TEXT NOT NULL UNIQUE);
    CREATE TABLE event_kinds (code INTEGER PRIMARY KEY, kind TEXT NOT NULL UNIQUE);
    INSERT INTO boots (boot_id) SELECT boot_id FROM events_v7 GROUP BY boot_id ORDER BY MIN(seq);
    INSERT INTO event_kinds (kind) SELECT kind FROM events_v7 GROUP BY kind ORDER BY MIN(seq);
    CREATE TABLE events (
        seq           INTEGER PRIMARY KEY,
        event_id      BLOB    NOT NULL,
        hall_id       TEXT,
        command_id,
        kind          INTEGER NOT NULL REFERENCES event_kinds (code),
        event_version INTEGER NOT NULL,
        ticket        INTEGER,
        payload               NOT NULL,
        wall_ms       INTEGER NOT NULL,
        hall_ms       INTEGER,
        boot          INTEGER NOT NULL REFERENCES boots (id),
        mono_ms       INTEGER NOT NULL,
        clock_trusted INTEGER NOT NULL,
        business_day  INTEGER NOT NULL
    );

    CREATE TABLE tickets_lean (
        id           INTEGER PRIMARY KEY,
        business_day INTEGER NOT NULL,
        data                 NOT NULL
    );
    INSERT INTO tickets_lean (id, business_day, data)
        SELECT id, CAST(julianday(business_day) - 1721424.5 AS INTEGER), data FROM tickets;
    DROP TABLE tickets;
    ALTER TABLE tickets_lean RENAME TO tickets;
    CREATE INDEX tickets_by_day ON tickets (business_day);
    "#,
];

/// What migration 8 leaves in place once the rows are carried over: the lean log alone, and the rules of the log (migration 7) on it, on the tables its rows point into, and on the hall's
/// id that its rows leave out.
const LEAN_EVENT_LOG_RULES: &str = r#"
    DROP TABLE events_v7;
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        WHEN OLD.seq > COALESCE((SELECT CAST(value AS INTEGER) FROM hall_meta
                                 WHERE key = 'platform_acked_through'), 0)
          OR NEW.seq IS NOT OLD.seq OR NEW.event_id IS NOT OLD.event_id
          OR NEW.hall_id IS NOT OLD.hall_id OR NEW.command_id IS NOT OLD.command_id
          OR NEW.kind IS NOT OLD.kind OR NEW.ticket IS NOT OLD.ticket
          OR NEW.wall_ms IS NOT OLD.wall_ms OR NEW.hall_ms IS NOT OLD.hall_ms
          OR NEW.boot IS NOT OLD.boot OR NEW.mono_ms IS NOT OLD.mono_ms
          OR NEW.clock_trusted IS NOT OLD.clock_trusted OR NEW.business_day IS NOT OLD.business_day
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: only an acknowledged event may lose its personal data'); END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        WHEN OLD.seq > COALESCE((SELECT CAST(value AS INTEGER) FROM hall_meta
                                 WHERE key = 'platform_acked_through'), 0)
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: only acknowledged events may leave it'); END;
    CREATE TRIGGER boots_no_update BEFORE UPDATE ON boots
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: its boots are part of it'); END;
    CREATE TRIGGER boots_no_delete BEFORE DELETE ON boots
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: its boots are part of it'); END;
    CREATE TRIGGER event_kinds_no_update BEFORE UPDATE ON event_kinds
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: its kinds are part of it'); END;
    CREATE TRIGGER event_kinds_no_delete BEFORE DELETE ON event_kinds
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: its kinds are part of it'); END;
    CREATE TRIGGER hall_id_no_update BEFORE UPDATE ON hall_meta WHEN OLD.key = 'hall_id'
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: the hall it belongs to is part of it'); END;
    CREATE TRIGGER hall_id_no_delete BEFORE DELETE ON hall_meta WHEN OLD.key = 'hall_id'
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: the hall it belongs to is part of it'); END;
"#;

/// The migration after which results kept in `commands` move to `command_results`.
const LEAN_COMMAND_RESULTS: u32 = 6;
/// The migration after which the event log's rows move to the lean log.
const LEAN_EVENT_LOG: u32 = 8;

pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the database up to the current schema, all migrations in one transaction. The transaction
/// takes the write lock before it reads the version: a node starting and `hallq pair code` run beside
/// it may open a fresh database at the same moment, and the second must see the first's tables rather
/// than create them again.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    for (applied, sql) in (1..).zip(MIGRATIONS).skip(version as usize) {
        tx.execute_batch(sql)?;
        if applied == LEAN_COMMAND_RESULTS {
            carry_over_command_results(&tx)?;
        }
        if applied == LEAN_EVENT_LOG {
            lean_event_log(&tx)?;
        }
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// Moves each result kept in the older `commands` table (command text, full outcome) to
/// `command_results`, so a retry that straddles the upgrade still gets its first answer.
fn carry_over_command_results(conn: &Connection) -> Result<(), StoreError> {
    let mut stmt =
        conn.prepare("SELECT command_id, command, outcome, business_day FROM commands")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let command_id: String = row.get(0)?;
        let command: String = row.get(1)?;
        let outcome: Outcome = serde_json::from_str(&row.get::<_, String>(2)?)?;
        let day: String = row.get(3)?;
        let day = day.parse().map_err(|e| {
            StoreError::Corrupt(format!("command {command_id}: bad day {day:?}: {e}"))
        })?;
        let kept = KeptResult::of(CommandDigest::of_json(&command), &outcome)?;
        insert_kept(conn, &kept, day)?;
    }
    drop(rows);
    drop(stmt);
    conn.execute_batch("DROP TABLE commands")?;
    Ok(())
}

/// Moves every event to the lean log as it was stored (its payload's JSON and its version untouched:
/// older shapes are still read through the upcasters), terminals' command ids in kept results to their
/// bytes, and ticket rows to their packed JSON.
fn lean_event_log(conn: &Connection) -> Result<(), StoreError> {
    let mut stmt = conn.prepare(
        "SELECT seq, event_id, hall_id, command_id, kind, event_version, payload, wall_ms, hall_ms,
                boot_id, mono_ms, clock_trusted, business_day, json_extract(payload, '$.ticket')
         FROM events_v7 ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    // Migration 8 numbered every boot and kind of the old log before this reads it.
    let committed = lean::LogCodes::read(conn)?;
    let mut given = lean::GivenCodes::default();
    while let Some(row) = rows.next()? {
        let seq = row.get::<_, i64>(0)? as u64;
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::Corrupt(format!("event {seq}: bad {what}: {e}"))
        };
        let event_id: String = row.get(1)?;
        let day: String = row.get(12)?;
        let recorded = Recorded {
            wall_ms: row.get(7)?,
            hall_ms: row.get(8)?,
            boot_id: row.get(9)?,
            mono_ms: row.get(10)?,
            clock_trusted: row.get(11)?,
            business_day: day.parse().map_err(|e| corrupt("day", &e))?,
        };
        lean::insert_event(
            conn,
            &mut lean::Codes {
                committed: &committed,
                given: &mut given,
            },
            &lean::EventRow {
                seq,
                event_id: event_id.parse().map_err(|e| corrupt("id", &e))?,
                hall_id: &row.get::<_, String>(2)?,
                command_id: row.get::<_, Option<String>>(3)?.as_deref(),
                kind: &row.get::<_, String>(4)?,
                version: row.get(5)?,
                ticket: row.get(13)?,
                payload: &row.get::<_, String>(6)?,
                recorded: &recorded,
            },
        )?;
    }
    drop(rows);
    drop(stmt);
    conn.execute_batch(LEAN_EVENT_LOG_RULES)?;

    let kept: Vec<String> = conn
        .prepare("SELECT command_id FROM command_results")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut rekey =
        conn.prepare("UPDATE command_results SET command_id = ?1 WHERE command_id = ?2")?;
    for id in kept {
        rekey.execute(rusqlite::params![lean::command_id_value(&id), id])?;
    }

    let tickets: Vec<(i64, String)> = conn
        .prepare("SELECT id, data FROM tickets")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut pack = conn.prepare("UPDATE tickets SET data = ?1 WHERE id = ?2")?;
    for (id, data) in tickets {
        pack.execute(rusqlite::params![lean::pack(&data), id])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_paired_before_ids_keep_their_tokens_and_get_ids() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..2] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute_batch(
            "INSERT INTO lan_devices VALUES ('bbb', 'window 2', 'counter', 2, 2000);
             INSERT INTO lan_devices VALUES ('aaa', 'kiosk', 'kiosk', NULL, 1000);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let rows: Vec<(i64, String, String, Option<i64>)> = conn
            .prepare("SELECT id, token_hash, name, revoked_ms FROM lan_devices ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (1, "aaa".into(), "kiosk".into(), None),
                (2, "bbb".into(), "window 2".into(), None),
            ],
            "ids follow pairing order and nobody is revoked"
        );
    }
}
