//! Writing: one transaction holding a batch of commands' results, events and state rows.

use chrono::Datelike;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::StoreError;
use super::lean;
use super::upcast;
use crate::queue::state::ticket_after;
use crate::queue::{
    Appointment, Command, DeviceFault, Event, HallState, RefusalWire, Reply, StoredEvent, Ticket,
    TicketId, WindowState,
};

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

/// The scalar part of the state, kept in `hall_meta`; the rest lives in its own tables.
#[derive(Serialize, Deserialize)]
pub(super) struct StateMeta {
    pub(super) last_seq: u64,
    pub(super) business_day: Option<chrono::NaiveDate>,
    pub(super) clock: Option<crate::queue::day::ClockAnchor>,
    pub(super) last_ticket_id: crate::queue::TicketId,
    pub(super) sequences: std::collections::BTreeMap<String, u32>,
    #[serde(default)]
    pub(super) bookings_stale: bool,
}

/// One transaction: command results, events and state rows, all or nothing.
pub struct Batch<'a> {
    pub(super) tx: Transaction<'a>,
    pub(super) codes: &'a mut lean::LogCodes,
    /// Numbers this transaction gave new boots and kinds; known to the store once it commits.
    pub(super) given_codes: std::cell::RefCell<lean::GivenCodes>,
}

/// A command's SHA-256 over its JSON, cut to 16 bytes: enough to tell a reused id sent with another
/// command, in a fraction of the command's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandDigest([u8; 16]);

impl CommandDigest {
    pub fn of(command: &Command) -> Result<CommandDigest, StoreError> {
        Ok(CommandDigest::of_json(&serde_json::to_string(command)?))
    }

    /// The digest of a command as its JSON was stored before digests were.
    pub(super) fn of_json(json: &str) -> CommandDigest {
        let mut digest = [0; 16];
        digest.copy_from_slice(&Sha256::digest(json.as_bytes())[..16]);
        CommandDigest(digest)
    }
}

/// A command's result as kept for retries: a reply with a ticket names the ticket alone, which is read
/// back from the event log as it stood at `seq`; the trail keeps the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptResult {
    pub digest: CommandDigest,
    command_id: String,
    ticket: Option<TicketId>,
    people_ahead: Option<u32>,
    /// Any other result (a window, accepted, a refusal) as JSON.
    other: Option<String>,
    seq: u64,
}

impl KeptResult {
    pub(super) fn of(digest: CommandDigest, outcome: &Outcome) -> Result<KeptResult, StoreError> {
        let (ticket, people_ahead, other) = match &outcome.result {
            CommandResult::Done(Reply::Ticket {
                ticket,
                people_ahead,
            }) => (Some(ticket.id), *people_ahead, None),
            other => (None, None, Some(serde_json::to_string(other)?)),
        };
        Ok(KeptResult {
            digest,
            command_id: outcome.command_id.clone(),
            ticket,
            people_ahead,
            other,
            seq: outcome.seq,
        })
    }
}

impl Batch<'_> {
    /// The kept result of an earlier command with this id.
    pub fn kept_result(&self, command_id: &str) -> Result<Option<KeptResult>, StoreError> {
        let row = self
            .tx
            .prepare_cached(
                "SELECT digest, ticket, people_ahead, other, last_seq FROM command_results
                 WHERE command_id = ?1",
            )?
            .query_row([lean::command_id_value(command_id)], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<u32>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .optional()?;
        let Some((digest, ticket, people_ahead, other, seq)) = row else {
            return Ok(None);
        };
        let digest = <[u8; 16]>::try_from(digest.as_slice()).map_err(|_| {
            StoreError::Corrupt(format!(
                "command {command_id}: a digest of {} bytes",
                digest.len()
            ))
        })?;
        Ok(Some(KeptResult {
            digest: CommandDigest(digest),
            command_id: command_id.to_string(),
            ticket: ticket.map(|t| t as TicketId),
            people_ahead,
            other,
            seq: seq as u64,
        }))
    }

    /// The outcome a kept result stands for, as it was first answered.
    pub fn outcome_of(&self, kept: &KeptResult) -> Result<Outcome, StoreError> {
        let result = match (kept.ticket, &kept.other) {
            (Some(ticket), _) => CommandResult::Done(Reply::Ticket {
                ticket: Box::new(self.ticket_as_of(ticket, kept.seq)?),
                people_ahead: kept.people_ahead,
            }),
            (None, Some(json)) => serde_json::from_str(json)?,
            (None, None) => {
                return Err(StoreError::Corrupt(format!(
                    "command {}: a kept result with nothing in it",
                    kept.command_id
                )));
            }
        };
        Ok(Outcome {
            command_id: kept.command_id.clone(),
            result,
            seq: kept.seq,
        })
    }

    /// The ticket as it stood after event `seq`. Reads back from `seq` to the ticket's issue: the events
    /// of its own wait and service, not the day's.
    fn ticket_as_of(&self, ticket: TicketId, seq: u64) -> Result<Ticket, StoreError> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {} FROM events WHERE seq <= ?1 AND ticket = ?2 ORDER BY seq DESC",
            upcast::EVENT_COLUMNS
        ))?;
        let mut rows = stmt.query(params![seq as i64, ticket as i64])?;
        let mut own = Vec::new();
        while let Some(row) = rows.next()? {
            let stored = upcast::stored_event_from_row(row)?;
            let issued = matches!(stored.event, Event::TicketIssued { .. });
            own.push(stored);
            if issued {
                break;
            }
        }
        own.reverse();
        ticket_after(ticket, &own).ok_or_else(|| {
            StoreError::Corrupt(format!("ticket {ticket}: no issue in the log up to {seq}"))
        })
    }

    /// Keeps what a retry of the command needs: its digest and its result, compact.
    pub fn keep_result(
        &self,
        digest: CommandDigest,
        outcome: &Outcome,
        business_day: chrono::NaiveDate,
    ) -> Result<(), StoreError> {
        insert_kept(&self.tx, &KeptResult::of(digest, outcome)?, business_day)
    }

    /// Forgets command results of days before `day`: a terminal retries for minutes, not days, and the
    /// event log keeps the full trail.
    pub fn forget_commands_before(&self, day: chrono::NaiveDate) -> Result<(), StoreError> {
        self.tx.execute(
            "DELETE FROM command_results WHERE business_day < ?1",
            [day.num_days_from_ce()],
        )?;
        Ok(())
    }

    pub fn append(&self, stored: &StoredEvent) -> Result<(), StoreError> {
        let kind = stored.event.kind();
        lean::insert_event(
            &self.tx,
            &mut lean::Codes {
                committed: self.codes,
                given: &mut self.given_codes.borrow_mut(),
            },
            &lean::EventRow {
                seq: stored.seq,
                event_id: stored.event_id,
                hall_id: &stored.hall_id,
                command_id: stored.command_id.as_deref(),
                kind,
                version: upcast::current_version(kind),
                ticket: stored.event.ticket().map(|t| t as i64),
                payload: &serde_json::to_string(&stored.event)?,
                recorded: &stored.recorded,
            },
        )
    }

    pub fn write_ticket(&self, ticket: &Ticket) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO tickets (id, business_day, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            )?
            .execute(params![
                ticket.id as i64,
                lean::day_number(ticket.business_day),
                lean::pack(&serde_json::to_string(ticket)?),
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
            bookings_stale: state.bookings_stale,
        };
        self.tx
            // Updated in place: a REPLACE would delete and insert the row, writing the key's index page
            // as well as the row's at every commit.
            .prepare_cached(
                "INSERT INTO hall_meta (key, value) VALUES ('state', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute([serde_json::to_string(&meta)?])?;
        Ok(())
    }

    pub fn commit(self) -> Result<(), StoreError> {
        self.tx.commit()?;
        self.codes.commit(self.given_codes.into_inner());
        Ok(())
    }
}

/// Writes a kept result; also how the migration carries over results kept in the older shape.
pub(super) fn insert_kept(
    conn: &Connection,
    kept: &KeptResult,
    business_day: chrono::NaiveDate,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO command_results
             (command_id, digest, ticket, people_ahead, other, last_seq, business_day)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        lean::command_id_value(&kept.command_id),
        kept.digest.0,
        kept.ticket.map(|t| t as i64),
        kept.people_ahead,
        kept.other,
        kept.seq as i64,
        business_day.num_days_from_ce(),
    ])?;
    Ok(())
}
