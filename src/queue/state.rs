//! The hall's live state: a fold over the event log. `apply` is the only way it changes.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use imbl::OrdMap;
use serde::{Deserialize, Serialize};

use super::day::{ClockAnchor, StaffReference};
use super::event::{Event, Recorded, StoredEvent};
use super::index::TicketIndex;
use super::rating::RatingRequest;
use super::ticket::{
    Appointment, AppointmentState, DeviceFault, PrintState, Rating, Ticket, TicketId, TicketState,
    UnratedWhy, WindowState,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(from = "HallStateFields")]
pub struct HallState {
    /// The sequence of the last applied event.
    pub last_seq: u64,
    pub business_day: Option<NaiveDate>,
    /// Clock facts of the last event, against which the next clock reading is judged.
    pub clock: Option<ClockAnchor>,
    /// The last ticket id handed out; ids never repeat, across days too.
    pub last_ticket_id: TicketId,
    /// The day's last sequence per ticket prefix. Keyed by prefix, not service, so a number stays unique
    /// even if the config moves a prefix to another service during the day.
    pub sequences: BTreeMap<String, u32>,
    /// The business day's tickets. Earlier days' tickets live on in the store only. A persistent map,
    /// so a copy of the state for a reader costs the same at 10 tickets or 100,000 and the engine's
    /// next write copies only the path to the ticket it changes.
    pub tickets: OrdMap<TicketId, Ticket>,
    pub windows: BTreeMap<u16, WindowState>,
    /// Bookings of today and later days, shared between copies like `tickets`.
    pub appointments: OrdMap<String, Appointment>,
    /// Devices currently in fault.
    pub faults: BTreeMap<String, DeviceFault>,
    /// The hall's list of bookings is out of date (no successful pull for the configured time), as
    /// the platform link last recorded.
    #[serde(default)]
    pub bookings_stale: bool,
    /// Lookups over `tickets`, so a command costs the same however many tickets the day holds. Not
    /// sent anywhere: a state read back from JSON gets it from [`HallState::reindex`].
    #[serde(skip)]
    index: TicketIndex,
}

/// The state as sent and stored in JSON: everything but the index, which is rebuilt on reading.
#[derive(Deserialize)]
struct HallStateFields {
    last_seq: u64,
    business_day: Option<NaiveDate>,
    clock: Option<ClockAnchor>,
    last_ticket_id: TicketId,
    sequences: BTreeMap<String, u32>,
    tickets: OrdMap<TicketId, Ticket>,
    windows: BTreeMap<u16, WindowState>,
    appointments: OrdMap<String, Appointment>,
    faults: BTreeMap<String, DeviceFault>,
    #[serde(default)]
    bookings_stale: bool,
}

impl From<HallStateFields> for HallState {
    fn from(f: HallStateFields) -> HallState {
        let mut state = HallState {
            last_seq: f.last_seq,
            business_day: f.business_day,
            clock: f.clock,
            last_ticket_id: f.last_ticket_id,
            sequences: f.sequences,
            tickets: f.tickets,
            windows: f.windows,
            appointments: f.appointments,
            faults: f.faults,
            bookings_stale: f.bookings_stale,
            index: TicketIndex::default(),
        };
        state.reindex();
        state
    }
}

impl HallState {
    /// Rebuilds state from the whole event log.
    pub fn replay<'a>(events: impl IntoIterator<Item = &'a StoredEvent>) -> HallState {
        let mut state = HallState::default();
        for stored in events {
            state.apply_stored(stored);
        }
        state
    }

    /// Rebuilds state from `base`, the state as of the events retention has dropped, and the events
    /// of the log after them.
    pub fn replay_onto<'a>(
        base: HallState,
        events: impl IntoIterator<Item = &'a StoredEvent>,
    ) -> HallState {
        let mut state = base;
        for stored in events {
            state.apply_stored(stored);
        }
        state
    }

    pub fn apply_stored(&mut self, stored: &StoredEvent) {
        debug_assert_eq!(stored.seq, self.last_seq + 1, "events are applied in order");
        self.apply(&stored.event, &stored.recorded);
        self.last_seq = stored.seq;
    }

    /// Rebuilds the lookups after `tickets` was filled or changed other than by events.
    pub fn reindex(&mut self) {
        self.index = TicketIndex::of(self.tickets.values());
    }

    pub fn index(&self) -> &TicketIndex {
        &self.index
    }

    pub fn ticket_by_number(&self, number: &str) -> Option<&Ticket> {
        self.index
            .by_number(number)
            .and_then(|id| self.tickets.get(&id))
    }

    /// The ticket a status link points at: its token, not its guessable number.
    pub fn ticket_by_status_token(&self, token: &str) -> Option<&Ticket> {
        self.index
            .by_status_token(token)
            .and_then(|id| self.tickets.get(&id))
    }

    pub fn window(&self, number: u16) -> Option<&WindowState> {
        self.windows.get(&number)
    }

    /// The ticket a window has called or is serving.
    pub fn current_ticket(&self, window: u16) -> Option<&Ticket> {
        self.windows
            .get(&window)
            .and_then(|w| w.current)
            .and_then(|id| self.tickets.get(&id))
    }

    /// The ids of tickets (and the windows) an event touched, so the store can rewrite just those rows.
    pub fn touched(event: &Event) -> (Vec<TicketId>, Vec<u16>) {
        match event {
            Event::BusinessDayOpened {
                expired, unrated, ..
            } => (expired.iter().chain(unrated).copied().collect(), Vec::new()),
            Event::TicketIssued { ticket, .. }
            | Event::AppointmentCheckedIn { ticket, .. }
            | Event::TicketRequeued { ticket, .. }
            | Event::GreenChannelFlagged { ticket }
            | Event::TicketRated { ticket, .. }
            | Event::RatingRequested { ticket, .. }
            | Event::TicketPrinted { ticket }
            | Event::TicketPrintFailed { ticket, .. }
            | Event::TicketRecalled { ticket, .. } => (vec![*ticket], Vec::new()),
            Event::TicketCalled { ticket, window, .. }
            | Event::ServiceStarted { ticket, window, .. }
            | Event::TicketFinished { ticket, window, .. }
            | Event::TicketNoShow { ticket, window } => (vec![*ticket], vec![*window]),
            Event::TicketTransferred {
                ticket,
                from_window,
                ..
            } => (vec![*ticket], vec![*from_window]),
            Event::StaffSignedIn { window, .. }
            | Event::StaffSignedOut { window }
            | Event::WindowPaused { window }
            | Event::WindowResumed { window } => (Vec::new(), vec![*window]),
            Event::AppointmentBooked { .. }
            | Event::AppointmentCancelled { .. }
            | Event::AppointmentRescheduled { .. }
            | Event::BookingsWentStale { .. }
            | Event::BookingsCurrent
            | Event::DeviceFaulted { .. }
            | Event::DeviceRecovered { .. }
            | Event::ClockConfirmed { .. } => (Vec::new(), Vec::new()),
        }
    }

    fn window_mut(&mut self, number: u16) -> &mut WindowState {
        self.windows.entry(number).or_insert_with(|| WindowState {
            number,
            ..WindowState::default()
        })
    }

    fn ticket_mut(&mut self, id: TicketId) -> &mut Ticket {
        self.tickets
            .get_mut(&id)
            .expect("events only name tickets the state holds")
    }

    /// Applies `event`, taking the tickets it touches out of the index before and back in after.
    fn apply(&mut self, event: &Event, recorded: &Recorded) {
        if let Event::BusinessDayOpened { .. } = event {
            self.apply_event(event, recorded);
            self.index.clear();
            return;
        }
        let (touched, _) = HallState::touched(event);
        for id in &touched {
            if let Some(ticket) = self.tickets.get(id) {
                self.index.remove(ticket);
            }
        }
        self.apply_event(event, recorded);
        for id in &touched {
            if let Some(ticket) = self.tickets.get(id) {
                self.index.insert(ticket);
            }
        }
    }

    fn apply_event(&mut self, event: &Event, recorded: &Recorded) {
        // A staff confirmation counts for the boot it was given in.
        let staff_reference = match event {
            Event::ClockConfirmed { at_ms, .. } => Some(StaffReference {
                boot_id: recorded.boot_id.clone(),
                at_ms: *at_ms,
                mono_ms: recorded.mono_ms,
            }),
            _ => self
                .clock
                .take()
                .and_then(|a| a.staff_reference)
                .filter(|r| r.boot_id == recorded.boot_id),
        };
        self.clock = Some(ClockAnchor {
            hall_ms: recorded.hall_ms,
            mono_ms: recorded.mono_ms,
            boot_id: recorded.boot_id.clone(),
            trusted: recorded.clock_trusted,
            business_day: recorded.business_day,
            staff_reference,
            wall_ms: Some(recorded.wall_ms),
        });
        match event {
            Event::BusinessDayOpened { day, .. } => {
                // Every ticket of earlier days is final by now (the event expired or closed its rating);
                // the store keeps them, the live state starts clean.
                self.business_day = Some(*day);
                self.sequences.clear();
                self.tickets.clear();
                for window in self.windows.values_mut() {
                    window.current = None;
                }
                // Once a day, so rebuilding the map (it has no `retain`) costs nothing per command.
                self.appointments = self
                    .appointments
                    .iter()
                    .filter(|(_, a)| a.business_day >= *day)
                    .map(|(id, a)| (id.clone(), a.clone()))
                    .collect();
            }
            Event::TicketIssued {
                ticket,
                number,
                sequence,
                prefix,
                service,
                channel,
                citizen,
                appointment,
                at_ms,
                status_token,
            } => {
                self.last_ticket_id = *ticket;
                self.sequences.insert(prefix.clone(), *sequence);
                self.tickets.insert(
                    *ticket,
                    Ticket {
                        id: *ticket,
                        number: number.clone(),
                        business_day: recorded.business_day,
                        service: service.clone(),
                        channel: *channel,
                        issued_ms: *at_ms,
                        queue_ms: *at_ms,
                        state: TicketState::Waiting,
                        window: None,
                        only_window: None,
                        calls: 0,
                        first_called_ms: None,
                        started_ms: None,
                        finished_ms: None,
                        staff: None,
                        citizen: citizen.clone(),
                        appointment: appointment.clone(),
                        green: false,
                        requeued: false,
                        rating: None,
                        rating_request: None,
                        print: PrintState::Unknown,
                        status_token: status_token.clone(),
                    },
                );
            }
            Event::AppointmentCheckedIn {
                appointment,
                ticket,
            } => {
                if let Some(a) = self.appointments.get_mut(appointment) {
                    a.state = AppointmentState::CheckedIn;
                    a.ticket = Some(*ticket);
                    a.id_hash = None;
                    a.masked_name = None;
                }
            }
            Event::StaffSignedIn { window, staff, .. } => {
                self.window_mut(*window).staff = Some(staff.clone());
            }
            Event::StaffSignedOut { window } => {
                let w = self.window_mut(*window);
                w.staff = None;
                w.paused = false;
            }
            // The confirmation lives on in the clock anchor, set above.
            Event::ClockConfirmed { .. } => {}
            Event::TicketCalled {
                ticket,
                window,
                staff,
                at_ms,
            } => {
                self.window_mut(*window).current = Some(*ticket);
                let t = self.ticket_mut(*ticket);
                t.state = TicketState::Called;
                t.window = Some(*window);
                t.calls = 1;
                t.staff = Some(staff.clone());
                t.first_called_ms.get_or_insert(*at_ms);
            }
            Event::TicketRecalled { ticket, calls, .. } => {
                self.ticket_mut(*ticket).calls = *calls;
            }
            Event::ServiceStarted { ticket, at_ms, .. } => {
                let t = self.ticket_mut(*ticket);
                t.state = TicketState::Serving;
                t.started_ms = Some(*at_ms);
            }
            Event::TicketFinished {
                ticket,
                window,
                at_ms,
            } => {
                self.window_mut(*window).current = None;
                let t = self.ticket_mut(*ticket);
                t.state = TicketState::Finished;
                t.finished_ms = Some(*at_ms);
            }
            Event::TicketNoShow { ticket, window } => {
                self.window_mut(*window).current = None;
                self.ticket_mut(*ticket).state = TicketState::NoShow;
            }
            Event::TicketRequeued { ticket, queue_ms } => {
                let t = self.ticket_mut(*ticket);
                t.state = TicketState::Waiting;
                t.queue_ms = *queue_ms;
                t.window = None;
                t.calls = 0;
                t.requeued = true;
            }
            Event::TicketTransferred {
                ticket,
                from_window,
                service,
                only_window,
                queue_ms,
            } => {
                self.window_mut(*from_window).current = None;
                let t = self.ticket_mut(*ticket);
                t.state = TicketState::Waiting;
                t.service = service.clone();
                t.only_window = *only_window;
                t.queue_ms = *queue_ms;
                t.window = None;
                t.calls = 0;
                t.started_ms = None;
            }
            Event::GreenChannelFlagged { ticket } => self.ticket_mut(*ticket).green = true,
            Event::WindowPaused { window } => self.window_mut(*window).paused = true,
            Event::WindowResumed { window } => self.window_mut(*window).paused = false,
            Event::RatingRequested {
                ticket,
                window,
                case_number,
                evaluator,
            } => {
                self.ticket_mut(*ticket).rating_request = Some(RatingRequest {
                    window: *window,
                    case_number: case_number.clone(),
                    evaluator: evaluator.clone(),
                });
            }
            Event::TicketRated { ticket, rating, .. } => {
                let t = self.ticket_mut(*ticket);
                t.rating = Some(rating.clone());
                t.rating_request = None;
            }
            Event::AppointmentBooked { appointment } => {
                self.appointments
                    .insert(appointment.id.clone(), appointment.clone());
            }
            Event::AppointmentCancelled { appointment } => {
                if let Some(a) = self.appointments.get_mut(appointment) {
                    a.state = AppointmentState::Cancelled;
                    a.id_hash = None;
                    a.masked_name = None;
                }
            }
            Event::AppointmentRescheduled {
                appointment,
                service,
                business_day,
                start_ms,
                end_ms,
                version,
            } => {
                if let Some(a) = self.appointments.get_mut(appointment) {
                    a.service = service.clone();
                    a.business_day = *business_day;
                    a.start_ms = *start_ms;
                    a.end_ms = *end_ms;
                    a.version = *version;
                }
            }
            Event::BookingsWentStale { .. } => self.bookings_stale = true,
            Event::BookingsCurrent => self.bookings_stale = false,
            Event::DeviceFaulted { device, fault } => {
                self.faults.insert(device.clone(), fault.clone());
            }
            Event::DeviceRecovered { device } => {
                self.faults.remove(device);
            }
            Event::TicketPrinted { ticket } => self.ticket_mut(*ticket).print = PrintState::Printed,
            Event::TicketPrintFailed { ticket, .. } => {
                self.ticket_mut(*ticket).print = PrintState::Failed
            }
        }
    }
}

/// A ticket as it stood after `events`: the events that name it, from its issue on, in order. How a
/// kept command result gets back the ticket its reply showed.
pub fn ticket_after<'a>(
    id: TicketId,
    events: impl IntoIterator<Item = &'a StoredEvent>,
) -> Option<Ticket> {
    let mut state = HallState::default();
    for stored in events {
        state.apply(&stored.event, &stored.recorded);
    }
    state.tickets.remove(&id)
}

/// What closing the previous business day does to its tickets, for the `BusinessDayOpened` event.
pub fn closing_of_day(state: &HallState) -> (Vec<TicketId>, Vec<TicketId>) {
    let expired = state
        .tickets
        .values()
        .filter(|t| t.state.is_open())
        .map(|t| t.id)
        .collect();
    let unrated = state
        .tickets
        .values()
        .filter(|t| t.state == TicketState::Finished && t.rating.is_none())
        .map(|t| t.id)
        .collect();
    (expired, unrated)
}

/// The final form of a ticket closed by the end of its day, as the store records it.
pub fn closed_at_day_end(ticket: &Ticket) -> Ticket {
    let mut closed = ticket.clone();
    // A request the citizen did not answer by the day's end is answered by the day's end.
    closed.rating_request = None;
    if closed.state.is_open() {
        closed.state = TicketState::Expired;
    } else if closed.state == TicketState::Finished && closed.rating.is_none() {
        closed.rating = Some(Rating::Unrated {
            why: UnratedWhy::DayClosed,
        });
    }
    closed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::ticket::Channel;

    fn recorded() -> Recorded {
        Recorded {
            wall_ms: 1_790_000_000_000,
            hall_ms: 1_790_000_000_000,
            boot_id: "boot".into(),
            mono_ms: 0,
            clock_trusted: true,
            business_day: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        }
    }

    fn apply(state: &mut HallState, event: Event) {
        state.apply_stored(&StoredEvent {
            seq: state.last_seq + 1,
            event_id: uuid::Uuid::nil(),
            hall_id: "hall".into(),
            command_id: None,
            recorded: recorded(),
            event,
        });
    }

    fn issue(state: &mut HallState, id: TicketId) {
        apply(
            state,
            Event::TicketIssued {
                ticket: id,
                number: format!("B{id:03}"),
                sequence: id as u32,
                prefix: "B".into(),
                service: "YB".into(),
                channel: Channel::Kiosk,
                citizen: None,
                appointment: None,
                at_ms: 1_790_000_000_000 + id as i64,
                status_token: Some(format!("token-{id}")),
            },
        );
    }

    fn waiting_of(state: &HallState) -> Vec<TicketId> {
        state
            .index()
            .waiting("YB")
            .map(|queue| queue.all.iter().map(|(_, id)| *id).collect())
            .unwrap_or_default()
    }

    /// A reader's copy shares the tickets and index with the engine's state; each side's writes stay
    /// its own, so a screen never sees a half-applied command and the engine never sees a screen's.
    #[test]
    fn a_copy_of_the_state_stays_equal_and_independent() {
        let mut original = HallState::default();
        for id in 1..=300 {
            issue(&mut original, id);
        }
        let copy = original.clone();
        assert!(
            copy.tickets.ptr_eq(&original.tickets),
            "a copy shares the tickets"
        );
        assert_eq!(copy, original);
        assert_eq!(
            serde_json::to_value(&copy).unwrap(),
            serde_json::to_value(&original).unwrap()
        );

        let mut written = copy.clone();
        apply(
            &mut written,
            Event::TicketCalled {
                ticket: 7,
                window: 3,
                staff: "B3".into(),
                at_ms: 1_790_000_100_000,
            },
        );
        issue(&mut written, 301);

        assert_eq!(original.tickets[&7].state, TicketState::Waiting);
        assert_eq!(original.tickets.len(), 300);
        assert!(original.ticket_by_number("B301").is_none());
        assert_eq!(waiting_of(&original), (1..=300).collect::<Vec<_>>());
        assert_eq!(copy, original);

        assert_eq!(written.tickets[&7].state, TicketState::Called);
        assert_eq!(written.ticket_by_number("B301").map(|t| t.id), Some(301));
        assert!(!waiting_of(&written).contains(&7));

        apply(
            &mut original,
            Event::TicketNoShow {
                ticket: 8,
                window: 4,
            },
        );
        assert_eq!(written.tickets[&8].state, TicketState::Waiting);
    }
}
