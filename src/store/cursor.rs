//! The platform uploader's place in the event log: the last sequence the platform acknowledged, kept
//! in `hall_meta` so a restart resends from there and never skips.
//!
//! The uploader has a connection of its own beside the engine's (and reads the log through a
//! reader's). It writes this one row and nothing else: the engine stays the only writer of events
//! and state.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::error::StoreError;
use super::schema::SCHEMA_VERSION;

/// The `hall_meta` key of the cursor.
pub const PLATFORM_CURSOR_KEY: &str = "platform_acked_through";

/// The `hall_meta` keys of the platform's clock as seen in each boot: this prefix and the boot id.
pub const PLATFORM_CLOCK_KEY_PREFIX: &str = "platform_clock:";

/// What the platform's clock read at one moment of one boot of the board, as the platform said in a
/// reply. It is kept beside the log rather than in it: the log stays as recorded, and the uploader
/// corrects the wall time of that boot's unvouched events from it when it builds their upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlatformClock {
    /// The board's monotonic clock (ms since boot) halfway through the exchange.
    pub mono_ms: i64,
    /// The platform's time in its reply, ms since the Unix epoch.
    pub platform_ms: i64,
}

impl PlatformClock {
    /// The platform's time at monotonic instant `mono_ms` of the same boot.
    pub fn platform_time_at(&self, mono_ms: i64) -> i64 {
        self.platform_ms - (self.mono_ms - mono_ms)
    }
}

/// A cursor's own connection to the hall's database, which the engine has created and brought up to
/// date before. A cursor is what keeps a step from being skipped, so it is on disk before it counts.
pub(super) fn open_cursor_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = super::encryption::connect(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version != SCHEMA_VERSION {
        return Err(StoreError::Corrupt(format!(
            "the database is at schema version {version}, not {SCHEMA_VERSION}: the hall node opens it first"
        )));
    }
    Ok(conn)
}

/// Where a cursor kept under `key` in `hall_meta` stands; 0 before its first step. `what` names
/// what it counts, for the error a value that is not one gets.
pub(super) fn position(conn: &Connection, key: &str, what: &str) -> Result<u64, StoreError> {
    let value: Option<String> = conn
        .query_row("SELECT value FROM hall_meta WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?;
    match value {
        None => Ok(0),
        Some(v) => v
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("{key} is \"{v}\", not {what}"))),
    }
}

/// Moves the cursor kept under `key` to `seq` if that is forward; never back.
pub(super) fn move_forward(conn: &Connection, key: &str, seq: u64) -> Result<(), StoreError> {
    let value = i64::try_from(seq).map_err(|_| StoreError::SeqOutOfRange(seq))?;
    conn.execute(
        "INSERT INTO hall_meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value
         WHERE CAST(hall_meta.value AS INTEGER) < CAST(excluded.value AS INTEGER)",
        params![key, value.to_string()],
    )?;
    Ok(())
}

/// The uploader's cursor.
pub struct PlatformCursor {
    conn: Connection,
}

impl PlatformCursor {
    /// Opens the hall's database, which the engine has created and brought up to date before.
    pub fn open(path: &Path) -> Result<PlatformCursor, StoreError> {
        Ok(PlatformCursor {
            conn: open_cursor_connection(path)?,
        })
    }

    /// The last sequence the platform acknowledged; 0 before the first.
    pub fn acked_through(&self) -> Result<u64, StoreError> {
        position(&self.conn, PLATFORM_CURSOR_KEY, "a sequence")
    }

    /// Moves the cursor to `seq` if that is forward, and returns where it stands: an
    /// acknowledgement never moves it back.
    pub fn acknowledge(&self, seq: u64) -> Result<u64, StoreError> {
        move_forward(&self.conn, PLATFORM_CURSOR_KEY, seq)?;
        self.acked_through()
    }

    /// Moves the cursor back to `seq`, for a platform that lost events it had acknowledged (restored
    /// from an older backup): the hall sends them again from there. The caller checks first that the
    /// log still holds every event after `seq`. Returns where the cursor stands.
    pub fn rewind(&self, seq: u64) -> Result<u64, StoreError> {
        let value = i64::try_from(seq).map_err(|_| StoreError::SeqOutOfRange(seq))?;
        self.conn.execute(
            "UPDATE hall_meta SET value = ?2
             WHERE key = ?1 AND CAST(value AS INTEGER) > ?3",
            params![PLATFORM_CURSOR_KEY, value.to_string(), value],
        )?;
        self.acked_through()
    }

    /// Keeps the platform's clock for `boot_id` unless one is kept already: the first reading of a
    /// boot stays, so each event is corrected the same way whenever it is sent again. Returns the
    /// reading kept.
    pub fn record_platform_clock(
        &self,
        boot_id: &str,
        reading: PlatformClock,
    ) -> Result<PlatformClock, StoreError> {
        let key = format!("{PLATFORM_CLOCK_KEY_PREFIX}{boot_id}");
        self.conn.execute(
            "INSERT INTO hall_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
            params![key, serde_json::to_string(&reading)?],
        )?;
        let kept: String =
            self.conn
                .query_row("SELECT value FROM hall_meta WHERE key = ?1", [&key], |r| {
                    r.get(0)
                })?;
        Ok(serde_json::from_str(&kept)?)
    }

    /// Every boot's kept platform clock, by boot id.
    pub fn platform_clocks(&self) -> Result<HashMap<String, PlatformClock>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, value FROM hall_meta WHERE substr(key, 1, length(?1)) = ?1")?;
        let rows = stmt.query_map([PLATFORM_CLOCK_KEY_PREFIX], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut clocks = HashMap::new();
        for row in rows {
            let (key, value) = row?;
            let boot = key[PLATFORM_CLOCK_KEY_PREFIX.len()..].to_string();
            clocks.insert(boot, serde_json::from_str(&value)?);
        }
        Ok(clocks)
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
    fn the_first_platform_clock_of_a_boot_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hall.db");
        let mut hall = Connection::open(&path).unwrap();
        crate::store::schema::migrate(&mut hall).unwrap();
        let cursor = PlatformCursor::open(&path).unwrap();
        let first = PlatformClock {
            mono_ms: 5_000,
            platform_ms: 1_800_000_000_000,
        };
        let later = PlatformClock {
            mono_ms: 9_000,
            platform_ms: 1_800_000_009_000,
        };
        assert_eq!(
            cursor.record_platform_clock("boot-a", first).unwrap(),
            first
        );
        assert_eq!(
            cursor.record_platform_clock("boot-a", later).unwrap(),
            first
        );
        assert_eq!(
            cursor.record_platform_clock("boot-b", later).unwrap(),
            later
        );
        let clocks = cursor.platform_clocks().unwrap();
        assert_eq!(clocks.len(), 2);
        assert_eq!(clocks["boot-a"], first);
        assert_eq!(first.platform_time_at(4_000), 1_799_999_999_000);
        drop(cursor);
        assert_eq!(
            PlatformCursor::open(&path)
                .unwrap()
                .platform_clocks()
                .unwrap()["boot-b"],
            later
        );
    }

    #[test]
    fn a_database_the_hall_node_never_opened_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.db");
        assert!(PlatformCursor::open(&path).is_err());
        assert!(!path.exists(), "nothing is created");
    }
}
