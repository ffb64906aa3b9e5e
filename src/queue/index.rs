//! Lookups over the day's tickets that cost the same with 10 tickets or 100,000: waiting tickets per
//! service in call order, tickets by number, status token, citizen, and how many each service holds.
//! Derived from `HallState::tickets` and kept in step by `HallState::apply`. Persistent collections,
//! like the tickets, so copying a state for a reader does not copy the index.

use imbl::{HashMap, OrdMap, OrdSet};

use super::ticket::{Ticket, TicketId, TicketState};

/// A waiting ticket's place: its queue time, then its id. Smaller is further ahead.
pub type Place = (i64, TicketId);

/// The classes a waiting ticket belongs to for as long as it waits; only becoming overdue depends on the
/// hour, and that is read off the queue times at the moment of asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WaitingClass {
    Appointment = 0,
    Priority = 1,
    Normal = 2,
}

impl WaitingClass {
    pub const ALL: [WaitingClass; 3] = [
        WaitingClass::Appointment,
        WaitingClass::Priority,
        WaitingClass::Normal,
    ];

    pub fn of(ticket: &Ticket) -> WaitingClass {
        if ticket.appointment.is_some() {
            WaitingClass::Appointment
        } else if ticket.is_priority() {
            WaitingClass::Priority
        } else {
            WaitingClass::Normal
        }
    }
}

/// The waiting tickets of one queue (a service, or a service held for one window), by place: all of
/// them, for who is overdue, and per class.
#[derive(Debug, Clone, Default)]
pub struct Queue {
    pub all: OrdSet<Place>,
    pub by_class: [OrdSet<Place>; 3],
}

impl Queue {
    fn insert(&mut self, ticket: &Ticket) {
        let place = (ticket.queue_ms, ticket.id);
        self.all.insert(place);
        self.by_class[WaitingClass::of(ticket) as usize].insert(place);
    }

    fn remove(&mut self, ticket: &Ticket) {
        let place = (ticket.queue_ms, ticket.id);
        self.all.remove(&place);
        self.by_class[WaitingClass::of(ticket) as usize].remove(&place);
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }
}

#[derive(Debug, Clone, Default)]
pub struct TicketIndex {
    by_number: HashMap<String, TicketId>,
    by_status_token: HashMap<String, TicketId>,
    /// Tickets of each citizen (by ID hash), for the one-open-ticket rule.
    by_citizen: HashMap<String, OrdSet<TicketId>>,
    /// How many of the day's tickets each service holds now, for the daily cap.
    per_service: HashMap<String, u32>,
    /// Waiting tickets any window of their service may call.
    waiting: HashMap<String, Queue>,
    /// Waiting tickets transferred to one window, by window and service.
    held: OrdMap<u16, OrdMap<String, Queue>>,
}

/// An index is derived from the tickets: two states with equal tickets have equal indexes.
impl PartialEq for TicketIndex {
    fn eq(&self, _: &TicketIndex) -> bool {
        true
    }
}

impl Eq for TicketIndex {}

impl TicketIndex {
    pub fn of<'a>(tickets: impl IntoIterator<Item = &'a Ticket>) -> TicketIndex {
        let mut index = TicketIndex::default();
        for ticket in tickets {
            index.insert(ticket);
        }
        index
    }

    pub fn insert(&mut self, ticket: &Ticket) {
        self.by_number.insert(ticket.number.clone(), ticket.id);
        if let Some(token) = &ticket.status_token {
            self.by_status_token.insert(token.clone(), ticket.id);
        }
        if let Some(citizen) = &ticket.citizen {
            self.by_citizen
                .entry(citizen.id_hash.clone())
                .or_default()
                .insert(ticket.id);
        }
        *self.per_service.entry(ticket.service.clone()).or_default() += 1;
        if ticket.state == TicketState::Waiting {
            match ticket.only_window {
                None => self
                    .waiting
                    .entry(ticket.service.clone())
                    .or_default()
                    .insert(ticket),
                Some(window) => self
                    .held
                    .entry(window)
                    .or_default()
                    .entry(ticket.service.clone())
                    .or_default()
                    .insert(ticket),
            }
        }
    }

    /// Takes `ticket` out, as it stood when it was inserted.
    pub fn remove(&mut self, ticket: &Ticket) {
        self.by_number.remove(&ticket.number);
        if let Some(token) = &ticket.status_token {
            self.by_status_token.remove(token);
        }
        if let Some(citizen) = &ticket.citizen
            && let Some(ids) = self.by_citizen.get_mut(&citizen.id_hash)
        {
            ids.remove(&ticket.id);
            if ids.is_empty() {
                self.by_citizen.remove(&citizen.id_hash);
            }
        }
        if let Some(count) = self.per_service.get_mut(&ticket.service) {
            *count -= 1;
            if *count == 0 {
                self.per_service.remove(&ticket.service);
            }
        }
        if ticket.state == TicketState::Waiting {
            match ticket.only_window {
                None => {
                    if let Some(queue) = self.waiting.get_mut(&ticket.service) {
                        queue.remove(ticket);
                        if queue.is_empty() {
                            self.waiting.remove(&ticket.service);
                        }
                    }
                }
                Some(window) => {
                    if let Some(services) = self.held.get_mut(&window) {
                        if let Some(queue) = services.get_mut(&ticket.service) {
                            queue.remove(ticket);
                            if queue.is_empty() {
                                services.remove(&ticket.service);
                            }
                        }
                        if services.is_empty() {
                            self.held.remove(&window);
                        }
                    }
                }
            }
        }
    }

    pub fn clear(&mut self) {
        *self = TicketIndex::default();
    }

    pub fn by_number(&self, number: &str) -> Option<TicketId> {
        self.by_number.get(number).copied()
    }

    pub fn by_status_token(&self, token: &str) -> Option<TicketId> {
        self.by_status_token.get(token).copied()
    }

    /// The citizen's tickets of the day, by id.
    pub fn of_citizen(&self, id_hash: &str) -> impl Iterator<Item = TicketId> + '_ {
        self.by_citizen.get(id_hash).into_iter().flatten().copied()
    }

    pub fn tickets_of_service(&self, service: &str) -> u32 {
        self.per_service.get(service).copied().unwrap_or(0)
    }

    /// How many tickets of `service` wait: those any of its windows may call and those held for one.
    pub fn waiting_count(&self, service: &str) -> u32 {
        let held: usize = self
            .held
            .values()
            .filter_map(|services| services.get(service))
            .map(|queue| queue.all.len())
            .sum();
        let open = self.waiting.get(service).map_or(0, |queue| queue.all.len());
        (open + held) as u32
    }

    /// The waiting tickets of `service` that any of its windows may call.
    pub fn waiting(&self, service: &str) -> Option<&Queue> {
        self.waiting.get(service)
    }

    /// The waiting tickets only `window` may call, per service.
    pub fn held_for(&self, window: u16) -> impl Iterator<Item = (&str, &Queue)> {
        self.held
            .get(&window)
            .into_iter()
            .flatten()
            .map(|(service, queue)| (service.as_str(), queue))
    }
}
