//! The platform link's place in the platform's feed of bookings: the last change sequence whose
//! commands the engine has committed, kept in `hall_meta` so a restart asks from there.
//!
//! Like the uploader's cursor it has a connection of its own and writes this one row only: the
//! bookings themselves reach the database as commands through the engine.

use std::path::Path;

use rusqlite::Connection;

use super::error::StoreError;

/// The `hall_meta` key of the cursor.
pub const BOOKINGS_CURSOR_KEY: &str = "platform_bookings_after";

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
}
