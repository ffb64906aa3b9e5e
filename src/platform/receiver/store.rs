//! The reference receiver's own SQLite file: each event once per (hall id, sequence), and per hall
//! the highest sequence up to which it holds every event.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::platform::booking_wire::{BookingChange, BookingStatus};
use crate::platform::wire::PlatformEvent;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS platform_events (
    hall_id      TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    event_id     TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    business_day TEXT    NOT NULL,
    event        TEXT    NOT NULL,
    received_ms  INTEGER NOT NULL,
    PRIMARY KEY (hall_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS platform_halls (
    hall_id       TEXT    PRIMARY KEY,
    acked_through INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS platform_bookings (
    hall_id     TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    change_seq  INTEGER NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('booked', 'cancelled')),
    service     TEXT    NOT NULL,
    day         TEXT    NOT NULL,
    start       TEXT    NOT NULL,
    "end"       TEXT    NOT NULL,
    id_hash     TEXT    NOT NULL,
    masked_name TEXT    NOT NULL,
    PRIMARY KEY (hall_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS platform_bookings_by_change
    ON platform_bookings (hall_id, change_seq);
"#;

/// A booking as the receiver's command line or a test writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingInput {
    pub id: String,
    pub service: String,
    pub day: chrono::NaiveDate,
    pub start: String,
    pub end: String,
    pub id_hash: String,
    pub masked_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    #[error("hall {hall_id} has a booking {id} already")]
    Exists { hall_id: String, id: String },
    #[error("hall {hall_id} has no booking {id}")]
    Unknown { hall_id: String, id: String },
    #[error("booking {0} is cancelled: it cannot change any more")]
    Cancelled(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the receiver's database failed: {0}")]
    Storage(#[from] rusqlite::Error),
}

impl BookingInput {
    /// The platform keeps no ID number and no full name: only their keyed hash and masked form.
    fn check(&self) -> Result<(), BookingError> {
        let invalid = |why: String| Err(BookingError::Invalid(why));
        if self.id.trim().is_empty() || self.id.chars().count() > 64 {
            return invalid("a booking id is 1 to 64 characters".into());
        }
        if !crate::identity::is_id_hash(&self.id_hash) {
            return invalid(format!(
                "the id hash must be the hall key's digest, {} lower-case hex digits; an ID number is never taken",
                crate::identity::ID_HASH_HEX_DIGITS
            ));
        }
        if !crate::identity::is_masked_name(&self.masked_name) {
            return invalid(format!(
                "\"{}\" is not a masked name; mask it as the kiosk does (张*三)",
                crate::identity::mask_name(&self.masked_name)
            ));
        }
        for time in [&self.start, &self.end] {
            crate::config::ClockTime::parse(time)
                .map_err(|e| BookingError::Invalid(e.to_string()))?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    /// The batch starts after the first sequence the receiver lacks.
    #[error(
        "the batch starts at {first}, but this hall's events are held only through {acked_through}"
    )]
    Gap { first: u64, acked_through: u64 },
    #[error("event {seq} is held already with another event id")]
    SeqConflict { seq: u64, acked_through: u64 },
    #[error("the receiver's database failed: {0}")]
    Storage(#[from] rusqlite::Error),
}

pub struct ReceiverStore {
    conn: Connection,
}

impl ReceiverStore {
    pub fn open(path: &Path) -> Result<ReceiverStore, rusqlite::Error> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(ReceiverStore { conn })
    }

    /// The highest sequence up to which every event of `hall_id` is held; 0 when none is.
    pub fn acked_through(&self, hall_id: &str) -> Result<u64, rusqlite::Error> {
        acked_through(&self.conn, hall_id)
    }

    /// Stores `events` (one hall's, contiguous and in order) and returns the hall's new
    /// acknowledgement. Events already held are skipped; the batch is stored whole or not at all.
    pub fn store(
        &mut self,
        hall_id: &str,
        events: &[PlatformEvent],
        received_ms: i64,
    ) -> Result<u64, ReceiveError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let held = acked_through(&tx, hall_id)?;
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return Ok(held);
        };
        if first.seq > held + 1 {
            return Err(ReceiveError::Gap {
                first: first.seq,
                acked_through: held,
            });
        }
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO platform_events
                     (hall_id, seq, event_id, kind, business_day, event, received_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (hall_id, seq) DO NOTHING",
            )?;
            let mut held_id = tx.prepare_cached(
                "SELECT event_id FROM platform_events WHERE hall_id = ?1 AND seq = ?2",
            )?;
            for event in events {
                let event_id = event.event_id.to_string();
                let json = serde_json::to_string(event).expect("a platform event serialises");
                let added = insert.execute(params![
                    hall_id,
                    event.seq as i64,
                    event_id,
                    event.kind(),
                    event.business_day.to_string(),
                    json,
                    received_ms,
                ])?;
                if added == 0 {
                    let existing: String =
                        held_id.query_row(params![hall_id, event.seq as i64], |r| r.get(0))?;
                    if existing != event_id {
                        return Err(ReceiveError::SeqConflict {
                            seq: event.seq,
                            acked_through: held,
                        });
                    }
                }
            }
        }
        let now = held.max(last.seq);
        tx.execute(
            "INSERT INTO platform_halls (hall_id, acked_through) VALUES (?1, ?2)
             ON CONFLICT (hall_id) DO UPDATE SET acked_through = excluded.acked_through",
            params![hall_id, now as i64],
        )?;
        tx.commit()?;
        Ok(now)
    }

    /// Adds a booking of `hall_id`; returns its change sequence.
    pub fn add_booking(
        &mut self,
        hall_id: &str,
        booking: &BookingInput,
    ) -> Result<u64, BookingError> {
        booking.check()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let held: Option<i64> = tx
            .query_row(
                "SELECT version FROM platform_bookings WHERE hall_id = ?1 AND id = ?2",
                params![hall_id, booking.id],
                |r| r.get(0),
            )
            .optional()?;
        if held.is_some() {
            return Err(BookingError::Exists {
                hall_id: hall_id.to_string(),
                id: booking.id.clone(),
            });
        }
        let change_seq = next_change(&tx, hall_id)?;
        tx.execute(
            "INSERT INTO platform_bookings
                 (hall_id, id, version, change_seq, status, service, day, start, \"end\", id_hash, masked_name)
             VALUES (?1, ?2, 1, ?3, 'booked', ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                hall_id,
                booking.id,
                change_seq as i64,
                booking.service,
                booking.day.to_string(),
                booking.start,
                booking.end,
                booking.id_hash,
                booking.masked_name
            ],
        )?;
        tx.commit()?;
        Ok(change_seq)
    }

    /// Moves a booking to another slot, day or service: a new version and change sequence.
    pub fn change_booking(
        &mut self,
        hall_id: &str,
        id: &str,
        service: &str,
        day: chrono::NaiveDate,
        start: &str,
        end: &str,
    ) -> Result<u64, BookingError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (id_hash, masked_name, status): (String, String, String) = tx
            .query_row(
                "SELECT id_hash, masked_name, status FROM platform_bookings WHERE hall_id = ?1 AND id = ?2",
                params![hall_id, id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or_else(|| BookingError::Unknown {
                hall_id: hall_id.to_string(),
                id: id.to_string(),
            })?;
        if status == "cancelled" {
            return Err(BookingError::Cancelled(id.to_string()));
        }
        BookingInput {
            id: id.to_string(),
            service: service.to_string(),
            day,
            start: start.to_string(),
            end: end.to_string(),
            id_hash,
            masked_name,
        }
        .check()?;
        let change_seq = next_change(&tx, hall_id)?;
        tx.execute(
            "UPDATE platform_bookings SET version = version + 1, change_seq = ?3, service = ?4,
                 day = ?5, start = ?6, \"end\" = ?7
             WHERE hall_id = ?1 AND id = ?2",
            params![
                hall_id,
                id,
                change_seq as i64,
                service,
                day.to_string(),
                start,
                end
            ],
        )?;
        tx.commit()?;
        Ok(change_seq)
    }

    /// Cancels a booking: a new version and change sequence, status cancelled.
    pub fn cancel_booking(&mut self, hall_id: &str, id: &str) -> Result<u64, BookingError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let status: String = tx
            .query_row(
                "SELECT status FROM platform_bookings WHERE hall_id = ?1 AND id = ?2",
                params![hall_id, id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| BookingError::Unknown {
                hall_id: hall_id.to_string(),
                id: id.to_string(),
            })?;
        if status == "cancelled" {
            return Err(BookingError::Cancelled(id.to_string()));
        }
        let change_seq = next_change(&tx, hall_id)?;
        tx.execute(
            "UPDATE platform_bookings SET version = version + 1, change_seq = ?3, status = 'cancelled'
             WHERE hall_id = ?1 AND id = ?2",
            params![hall_id, id, change_seq as i64],
        )?;
        tx.commit()?;
        Ok(change_seq)
    }

    /// The bookings of `hall_id` changed after `after`, oldest change first, at most `limit`, and
    /// whether more wait.
    pub fn booking_changes(
        &self,
        hall_id: &str,
        after: u64,
        limit: usize,
    ) -> Result<(Vec<BookingChange>, bool), rusqlite::Error> {
        let mut rows: Vec<BookingChange> = self
            .conn
            .prepare_cached(
                "SELECT change_seq, id, version, status, service, day, start, \"end\", id_hash, masked_name
                 FROM platform_bookings WHERE hall_id = ?1 AND change_seq > ?2
                 ORDER BY change_seq LIMIT ?3",
            )?
            .query_map(
                params![hall_id, after.min(i64::MAX as u64) as i64, limit as i64 + 1],
                |r| {
                    let day: String = r.get(5)?;
                    let status: String = r.get(3)?;
                    Ok(BookingChange {
                        change_seq: r.get::<_, i64>(0)? as u64,
                        id: r.get(1)?,
                        version: r.get(2)?,
                        status: if status == "cancelled" {
                            BookingStatus::Cancelled
                        } else {
                            BookingStatus::Booked
                        },
                        service: r.get(4)?,
                        day: day.parse().map_err(|e| {
                            rusqlite::Error::FromSqlConversionFailure(
                                5,
                                rusqlite::types::Type::Text,
                                Box::new(e),
                            )
                        })?,
                        start: r.get(6)?,
                        end: r.get(7)?,
                        id_hash: r.get(8)?,
                        masked_name: r.get(9)?,
                    })
                },
            )?
            .collect::<Result<_, _>>()?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        Ok((rows, more))
    }

    /// Every event held of `hall_id`, in sequence order: (seq, event id, the event as received).
    pub fn events(&self, hall_id: &str) -> Result<Vec<(u64, String, String)>, rusqlite::Error> {
        self.conn
            .prepare(
                "SELECT seq, event_id, event FROM platform_events WHERE hall_id = ?1 ORDER BY seq",
            )?
            .query_map([hall_id], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?))
            })?
            .collect()
    }
}

/// The hall's next change sequence: one more than the highest its bookings hold. A booking keeps
/// only its latest change, so the highest held is the last handed out.
fn next_change(conn: &Connection, hall_id: &str) -> Result<u64, rusqlite::Error> {
    let last: i64 = conn.query_row(
        "SELECT COALESCE(MAX(change_seq), 0) FROM platform_bookings WHERE hall_id = ?1",
        [hall_id],
        |r| r.get(0),
    )?;
    Ok(last as u64 + 1)
}

fn acked_through(conn: &Connection, hall_id: &str) -> Result<u64, rusqlite::Error> {
    let held: Option<i64> = conn
        .query_row(
            "SELECT acked_through FROM platform_halls WHERE hall_id = ?1",
            [hall_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(held.unwrap_or(0) as u64)
}
