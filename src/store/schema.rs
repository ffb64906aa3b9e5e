//! The database schema and its migrations. `PRAGMA user_version` counts the migrations applied.

use rusqlite::Connection;

/// Each entry upgrades the schema by one version. Never edit a released entry: add a new one.
const MIGRATIONS: &[&str] = &[
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
];

pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the database up to the current schema, in one transaction per migration.
pub fn migrate(conn: &mut Connection) -> Result<(), super::StoreError> {
    let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(super::StoreError::TooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
