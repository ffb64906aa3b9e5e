//! Writing: one transaction holding a batch of commands' results, events and state rows.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::upcast;
use crate::queue::{
    Appointment, DeviceFault, HallState, RefusalWire, Reply, StoredEvent, Ticket, WindowState,
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
}

/// One transaction: command results, events and state rows, all or nothing.
pub struct Batch<'a> {
    pub(super) tx: Transaction<'a>,
}

impl Batch<'_> {
    /// The stored result of an earlier command with this id, with the command it was for.
    pub fn command_outcome(
        &self,
        command_id: &str,
    ) -> Result<Option<(String, Outcome)>, StoreError> {
        let row: Option<(String, String)> = self
            .tx
            .prepare_cached("SELECT command, outcome FROM commands WHERE command_id = ?1")?
            .query_row([command_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(command, outcome)| Ok((command, serde_json::from_str(&outcome)?)))
            .transpose()
    }

    pub fn record_command(
        &self,
        command_json: &str,
        outcome: &Outcome,
        business_day: chrono::NaiveDate,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO commands (command_id, command, outcome, last_seq, business_day)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                outcome.command_id,
                command_json,
                serde_json::to_string(outcome)?,
                outcome.seq as i64,
                business_day.to_string(),
            ])?;
        Ok(())
    }

    /// Forgets command results of days before `day`: a terminal retries for minutes, not days, and the
    /// event log keeps the full trail.
    pub fn forget_commands_before(&self, day: chrono::NaiveDate) -> Result<(), StoreError> {
        self.tx.execute(
            "DELETE FROM commands WHERE business_day < ?1",
            [day.to_string()],
        )?;
        Ok(())
    }

    pub fn append(&self, stored: &StoredEvent) -> Result<(), StoreError> {
        let r = &stored.recorded;
        self.tx
            .prepare_cached(
                "INSERT INTO events (seq, event_id, hall_id, command_id, kind, event_version, payload,
                                     wall_ms, hall_ms, boot_id, mono_ms, clock_trusted, business_day)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                stored.seq as i64,
                stored.event_id.to_string(),
                stored.hall_id,
                stored.command_id,
                stored.event.kind(),
                upcast::current_version(stored.event.kind()),
                serde_json::to_string(&stored.event)?,
                r.wall_ms,
                r.hall_ms,
                r.boot_id,
                r.mono_ms,
                r.clock_trusted,
                r.business_day.to_string(),
            ])?;
        Ok(())
    }

    pub fn write_ticket(&self, ticket: &Ticket) -> Result<(), StoreError> {
        let state = serde_json::to_value(ticket.state)?;
        self.tx
            .prepare_cached(
                "INSERT INTO tickets (id, business_day, number, service, state, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET service = excluded.service, state = excluded.state,
                                                data = excluded.data",
            )?
            .execute(params![
                ticket.id as i64,
                ticket.business_day.to_string(),
                ticket.number,
                ticket.service,
                state.as_str().unwrap_or_default(),
                serde_json::to_string(ticket)?,
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
        };
        self.tx
            .prepare_cached("INSERT OR REPLACE INTO hall_meta (key, value) VALUES ('state', ?1)")?
            .execute([serde_json::to_string(&meta)?])?;
        Ok(())
    }

    pub fn commit(self) -> Result<(), StoreError> {
        self.tx.commit()?;
        Ok(())
    }
}
