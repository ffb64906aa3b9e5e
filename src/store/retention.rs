//! Retention: what the platform has acknowledged leaves the hall's database after a while, so a
//! board's SD card does not fill, and the citizens' ID hashes and masked names leave it sooner.
//!
//! Acknowledged events older than `[store] keep_acknowledged_days` are dropped, not archived: the
//! platform holds the trail and has said so, and an archive on the same card would fill it just the
//! same and keep the personal data that retention is meant to remove. Before they go, they are folded
//! into a base state kept in `hall_meta`, so the state rebuilt from the base and the events that
//! remain still equals the live state (the hall starts from its state tables, never by replay).
//!
//! Nothing the platform has not acknowledged is deleted or changed: the triggers on `events`
//! (schema migration 7) refuse it whatever the caller does. Each step is one short transaction of a
//! bounded number of rows, run by the engine's writer between batches of commands.

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::cursor::PLATFORM_CURSOR_KEY;
use super::error::StoreError;
use super::lean;
use super::upcast;
use crate::queue::{Event, HallState, StoredEvent, Ticket, TicketId};

/// The `hall_meta` key of the state as of the last dropped event.
pub const PRUNED_BASE_KEY: &str = "pruned_base";

/// How long acknowledged events and personal data stay, in business days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub keep_acknowledged_days: u32,
    pub personal_data_days: u32,
}

impl Retention {
    pub fn of(config: &crate::config::StoreConfig) -> Retention {
        Retention {
            keep_acknowledged_days: config.keep_acknowledged_days,
            personal_data_days: config.personal_data_days,
        }
    }
}

/// What one step removed; a step that hit its limit leaves `more` for the next.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub events_dropped: u64,
    pub events_purged: u64,
    pub tickets_dropped: u64,
    pub tickets_purged: u64,
    pub more: bool,
}

impl Pruned {
    pub fn add(&mut self, step: Pruned) {
        self.events_dropped += step.events_dropped;
        self.events_purged += step.events_purged;
        self.tickets_dropped += step.tickets_dropped;
        self.tickets_purged += step.tickets_purged;
        self.more = step.more;
    }
}

/// The event without the citizen's ID hash and masked name; `None` when it holds none.
fn without_personal_data(event: &Event) -> Option<Event> {
    match event {
        Event::TicketIssued {
            citizen: Some(_), ..
        } => {
            let mut event = event.clone();
            if let Event::TicketIssued { citizen, .. } = &mut event {
                *citizen = None;
            }
            Some(event)
        }
        Event::AppointmentBooked { appointment }
            if appointment.id_hash.is_some() || appointment.masked_name.is_some() =>
        {
            let mut appointment = appointment.clone();
            appointment.id_hash = None;
            appointment.masked_name = None;
            Some(Event::AppointmentBooked { appointment })
        }
        _ => None,
    }
}

/// Clears the personal data of tickets and appointments of business days before `before`.
fn forget_personal_data(state: &mut HallState, before: NaiveDate) {
    let old_tickets: Vec<TicketId> = state
        .tickets
        .values()
        .filter(|t| t.business_day < before)
        .map(|t| t.id)
        .collect();
    for id in old_tickets {
        if let Some(ticket) = state.tickets.get_mut(&id) {
            ticket.citizen = None;
        }
    }
    let old_bookings: Vec<String> = state
        .appointments
        .values()
        .filter(|a| a.business_day < before)
        .map(|a| a.id.clone())
        .collect();
    for id in old_bookings {
        if let Some(appointment) = state.appointments.get_mut(&id) {
            appointment.id_hash = None;
            appointment.masked_name = None;
        }
    }
    state.reindex();
}

fn days_before(today: NaiveDate, days: u32) -> NaiveDate {
    today - chrono::Days::new(u64::from(days))
}

/// The state as of the last event dropped by retention; `None` while none was.
pub(super) fn pruned_base(conn: &Connection) -> Result<Option<HallState>, StoreError> {
    let text: Option<String> = conn
        .query_row(
            "SELECT value FROM hall_meta WHERE key = ?1",
            [PRUNED_BASE_KEY],
            |r| r.get(0),
        )
        .optional()?;
    Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
}

/// One bounded step of retention on business day `today`: at most `limit` rows of each kind.
pub(super) fn prune_step(
    conn: &mut Connection,
    rules: Retention,
    today: NaiveDate,
    limit: usize,
) -> Result<Pruned, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let acked: Option<String> = tx
        .query_row(
            "SELECT value FROM hall_meta WHERE key = ?1",
            [PLATFORM_CURSOR_KEY],
            |r| r.get(0),
        )
        .optional()?;
    let acked: i64 = acked.and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut pruned = Pruned::default();
    if acked <= 0 {
        return Ok(pruned);
    }
    // Rows of a day some of whose events wait for the platform stay whole.
    let first_waiting_day: Option<i32> = tx
        .query_row(
            "SELECT business_day FROM events WHERE seq > ?1 ORDER BY seq LIMIT 1",
            [acked],
            |r| r.get(0),
        )
        .optional()?;
    let bound = |cutoff: NaiveDate| -> i32 {
        let cutoff = lean::day_number(cutoff);
        match first_waiting_day {
            Some(day) if day < cutoff => day,
            _ => cutoff,
        }
    };
    let keep_cutoff = days_before(today, rules.keep_acknowledged_days);
    let personal_cutoff = days_before(today, rules.personal_data_days);

    // Dropped: acknowledged, old, never the log's last event (its sequence is the hall's count).
    // The day never goes back along the log, so these are always a prefix of it.
    let leaving: Vec<StoredEvent> = {
        let mut stmt = tx.prepare(&format!(
            "SELECT {} FROM events
                 WHERE seq <= ?1 AND business_day < ?2 AND seq < (SELECT MAX(seq) FROM events)
                 ORDER BY seq LIMIT ?3",
            upcast::EVENT_COLUMNS
        ))?;
        let mut rows = stmt.query(params![acked, lean::day_number(keep_cutoff), limit])?;
        let mut events = Vec::new();
        while let Some(row) = rows.next()? {
            events.push(upcast::stored_event_from_row(row)?);
        }
        events
    };
    if let Some(last) = leaving.last() {
        let base: Option<String> = tx
            .query_row(
                "SELECT value FROM hall_meta WHERE key = ?1",
                [PRUNED_BASE_KEY],
                |r| r.get(0),
            )
            .optional()?;
        let mut base: HallState = match base {
            Some(text) => serde_json::from_str(&text)?,
            None => HallState::default(),
        };
        for event in &leaving {
            if event.seq != base.last_seq + 1 {
                return Err(StoreError::Corrupt(format!(
                    "retention: event {} does not follow the base state's {}",
                    event.seq, base.last_seq
                )));
            }
            base.apply_stored(event);
        }
        forget_personal_data(&mut base, personal_cutoff);
        tx.execute(
            "INSERT INTO hall_meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![PRUNED_BASE_KEY, serde_json::to_string(&base)?],
        )?;
        pruned.events_dropped =
            tx.execute("DELETE FROM events WHERE seq <= ?1", [last.seq as i64])? as u64;
    }

    // Purged: acknowledged events of old days that still name a citizen. Not while events are
    // still being dropped: most of what would be purged is about to go anyway.
    let dropping = pruned.events_dropped >= limit as u64;
    let holding: Vec<StoredEvent> = if dropping {
        Vec::new()
    } else {
        let mut stmt = tx.prepare(&format!(
            "SELECT {} FROM events
                 WHERE seq <= ?1 AND business_day < ?2
                   AND kind IN {} AND typeof(payload) = 'text'
                   AND (payload LIKE '%\"id_hash\":\"%' OR payload LIKE '%\"masked_name\":\"%')
                 ORDER BY seq LIMIT ?3",
            upcast::EVENT_COLUMNS,
            lean::kind_codes(&["ticket_issued", "appointment_booked"]),
        ))?;
        let mut rows = stmt.query(params![acked, lean::day_number(personal_cutoff), limit])?;
        let mut events = Vec::new();
        while let Some(row) = rows.next()? {
            events.push(upcast::stored_event_from_row(row)?);
        }
        events
    };
    for stored in &holding {
        if let Some(event) = without_personal_data(&stored.event) {
            tx.execute(
                "UPDATE events SET payload = ?1, event_version = ?2 WHERE seq = ?3",
                params![
                    lean::pack(&serde_json::to_string(&event)?),
                    upcast::current_version(event.kind()),
                    stored.seq as i64
                ],
            )?;
            pruned.events_purged += 1;
        }
    }

    // Past days' ticket rows: dropped with their events, stripped with theirs.
    pruned.tickets_dropped = tx.execute(
        "DELETE FROM tickets WHERE id IN
                 (SELECT id FROM tickets WHERE business_day < ?1 ORDER BY id LIMIT ?2)",
        params![bound(keep_cutoff), limit],
    )? as u64;
    let stripped: Vec<Ticket> = if pruned.tickets_dropped >= limit as u64 {
        Vec::new()
    } else {
        let mut stmt = tx.prepare(
            "SELECT data FROM tickets
                 WHERE business_day < ?1 AND typeof(data) = 'text' AND data LIKE '%\"id_hash\":\"%'
                 ORDER BY id LIMIT ?2",
        )?;
        let texts = stmt
            .query_map(params![bound(personal_cutoff), limit], |r| {
                r.get::<_, String>(0)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        texts
            .iter()
            .map(|t| serde_json::from_str(t).map_err(StoreError::from))
            .collect::<Result<_, _>>()?
    };
    for mut ticket in stripped {
        ticket.citizen = None;
        tx.execute(
            "UPDATE tickets SET data = ?1 WHERE id = ?2",
            params![
                lean::pack(&serde_json::to_string(&ticket)?),
                ticket.id as i64
            ],
        )?;
        pruned.tickets_purged += 1;
    }
    tx.commit()?;
    pruned.more = [
        pruned.events_dropped,
        holding.len() as u64,
        pruned.tickets_dropped,
        pruned.tickets_purged,
    ]
    .iter()
    .any(|n| *n >= limit as u64);
    Ok(pruned)
}
