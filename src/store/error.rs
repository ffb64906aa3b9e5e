//! What can go wrong in the store, shared by every file of it.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database file could not be made or opened (a missing directory, no permission).
    #[error("cannot open the database file {0}")]
    Io(String),
    #[error("corrupt record in the store: {0}")]
    Corrupt(String),
    #[error(
        "the database has schema version {found}, newer than this hallq supports ({supported})"
    )]
    TooNew { found: u32, supported: u32 },
    #[error("the database belongs to hall {found}, not {expected}")]
    WrongHall { found: String, expected: String },
    /// An event written by a newer hallq, in a shape this one does not know: reading stops rather than
    /// guess.
    #[error(
        "event {seq} ({kind}) is stored at version {found}, newer than this hallq reads ({supported})"
    )]
    EventTooNew {
        seq: u64,
        kind: String,
        found: u32,
        supported: u32,
    },
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
