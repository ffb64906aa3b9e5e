//! The platform uploader's place in the event log: the last sequence the platform acknowledged, kept
//! in `hall_meta` so a restart resends from there and never skips.
//!
//! The uploader has a connection of its own beside the engine's (and reads the log through a
//! reader's). It writes this one row and nothing else: the engine stays the only writer of events
//! and state.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::error::StoreError;
use super::schema::SCHEMA_VERSION;

/// The `hall_meta` key of the cursor.
pub const PLATFORM_CURSOR_KEY: &str = "platform_acked_through";

/// The uploader's cursor.
pub struct PlatformCursor {
    conn: Connection,
}

impl PlatformCursor {
    /// Opens the hall's database, which the engine has created and brought up to date before.
    pub fn open(path: &Path) -> Result<PlatformCursor, StoreError> {
        let conn = super::encryption::connect(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // The cursor is what keeps an event from being skipped: it is on disk before it counts.
        conn.pragma_update(None, "synchronous", "FULL")?;
        let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version != SCHEMA_VERSION {
            return Err(StoreError::Corrupt(format!(
                "the database is at schema version {version}, not {SCHEMA_VERSION}: the hall node opens it first"
            )));
        }
        Ok(PlatformCursor { conn })
    }

    /// The last sequence the platform acknowledged; 0 before the first.
    pub fn acked_through(&self) -> Result<u64, StoreError> {
        let value: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM hall_meta WHERE key = ?1",
                [PLATFORM_CURSOR_KEY],
                |r| r.get(0),
            )
            .optional()?;
        match value {
            None => Ok(0),
            Some(v) => v.parse().map_err(|_| {
                StoreError::Corrupt(format!("{PLATFORM_CURSOR_KEY} is \"{v}\", not a sequence"))
            }),
        }
    }

    /// Moves the cursor to `seq` if that is forward, and returns where it stands: an
    /// acknowledgement never moves it back.
    pub fn acknowledge(&self, seq: u64) -> Result<u64, StoreError> {
        let value = i64::try_from(seq).map_err(|_| StoreError::SeqOutOfRange(seq))?;
        self.conn.execute(
            "INSERT INTO hall_meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value
             WHERE CAST(hall_meta.value AS INTEGER) < CAST(excluded.value AS INTEGER)",
            params![PLATFORM_CURSOR_KEY, value.to_string()],
        )?;
        self.acked_through()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_moves_only_forward_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hall.db");
        let mut hall = Connection::open(&path).unwrap();
        crate::store::schema::migrate(&mut hall).unwrap();
        let cursor = PlatformCursor::open(&path).unwrap();
        assert_eq!(cursor.acked_through().unwrap(), 0);
        assert_eq!(cursor.acknowledge(12).unwrap(), 12);
        assert_eq!(cursor.acknowledge(5).unwrap(), 12, "never back");
        assert_eq!(cursor.acknowledge(100).unwrap(), 100);
        drop(cursor);
        let cursor = PlatformCursor::open(&path).unwrap();
        assert_eq!(cursor.acked_through().unwrap(), 100);
        assert!(matches!(
            cursor.acknowledge(u64::MAX),
            Err(StoreError::SeqOutOfRange(_))
        ));
        let rows: i64 = hall
            .query_row("SELECT COUNT(*) FROM hall_meta", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1, "the cursor's row and nothing else");
    }

    #[test]
    fn a_database_the_hall_node_never_opened_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.db");
        assert!(PlatformCursor::open(&path).is_err());
        assert!(!path.exists(), "nothing is created");
    }
}
