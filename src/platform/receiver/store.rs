//! The reference receiver's own SQLite file: each event once per (hall id, sequence), and per hall
//! the highest sequence up to which it holds every event.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

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
"#;

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
