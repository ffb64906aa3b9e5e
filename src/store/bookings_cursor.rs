//! The platform link's place in the platform's feed of bookings: the last change sequence whose
//! commands the engine has committed, kept in `hall_meta` so a restart asks from there.
//!
//! Beside it, the wall time of the last pull that succeeded: the list turns stale so long after
//! that, and a restart must not start the wait again (a board rebooting every few minutes would
//! otherwise never tell the kiosk that its list is hours old).
//!
//! Like the uploader's cursor it has a connection of its own and writes these rows only: the
//! bookings themselves reach the database as commands through the engine.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::error::StoreError;

/// The `hall_meta` key of the cursor.
pub const BOOKINGS_CURSOR_KEY: &str = "platform_bookings_after";

/// The `hall_meta` key of the wall time (ms since the Unix epoch) of the last successful pull.
pub const BOOKINGS_LAST_PULL_KEY: &str = "platform_bookings_last_pull_ms";

pub struct BookingsCursor {
    conn: Connection,
}

impl BookingsCursor {
    /// Opens the hall's database, which the engine has created and brought up to date before.
    pub fn open(path: &Path) -> Result<BookingsCursor, StoreError> {
        Ok(BookingsCursor {
            conn: super::cursor::open_cursor_connection(path)?,
        })
    }

    /// The last change sequence taken; 0 before the first.
    pub fn after(&self) -> Result<u64, StoreError> {
        super::cursor::position(&self.conn, BOOKINGS_CURSOR_KEY, "a change sequence")
    }

    /// Moves the cursor to `seq` if that is forward; returns where it stands.
    pub fn advance(&self, seq: u64) -> Result<u64, StoreError> {
        super::cursor::move_forward(&self.conn, BOOKINGS_CURSOR_KEY, seq)?;
        self.after()
    }

    /// The wall time of the last pull that succeeded, as recorded; `None` before the first.
    pub fn last_pull_ms(&self) -> Result<Option<i64>, StoreError> {
        let value: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM hall_meta WHERE key = ?1",
                [BOOKINGS_LAST_PULL_KEY],
                |r| r.get(0),
            )
            .optional()?;
        value
            .map(|v| {
                v.parse().map_err(|_| {
                    StoreError::Corrupt(format!(
                        "{BOOKINGS_LAST_PULL_KEY} is \"{v}\", not a time in ms"
                    ))
                })
            })
            .transpose()
    }

    /// Records that a pull succeeded at `wall_ms`. The latest pull is what counts, even when the
    /// board's clock was set back since the one before.
    pub fn record_pull(&self, wall_ms: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO hall_meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![BOOKINGS_LAST_PULL_KEY, wall_ms.to_string()],
        )?;
        Ok(())
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
        let cursor = BookingsCursor::open(&path).unwrap();
        assert_eq!(cursor.after().unwrap(), 0);
        assert_eq!(cursor.advance(7).unwrap(), 7);
        assert_eq!(cursor.advance(3).unwrap(), 7, "never back");
        drop(cursor);
        assert_eq!(BookingsCursor::open(&path).unwrap().after().unwrap(), 7);
    }

    #[test]
    fn the_last_pull_survives_reopening_and_a_value_that_is_no_time_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hall.db");
        let mut hall = Connection::open(&path).unwrap();
        crate::store::schema::migrate(&mut hall).unwrap();
        let cursor = BookingsCursor::open(&path).unwrap();
        assert_eq!(cursor.last_pull_ms().unwrap(), None);
        cursor.record_pull(1_795_744_800_000).unwrap();
        cursor.record_pull(1_795_744_860_000).unwrap();
        drop(cursor);
        let cursor = BookingsCursor::open(&path).unwrap();
        assert_eq!(cursor.last_pull_ms().unwrap(), Some(1_795_744_860_000));
        hall.execute(
            "UPDATE hall_meta SET value = 'soon' WHERE key = ?1",
            [BOOKINGS_LAST_PULL_KEY],
        )
        .unwrap();
        assert!(matches!(
            cursor.last_pull_ms(),
            Err(StoreError::Corrupt(m)) if m.contains("soon")
        ));
    }
}
