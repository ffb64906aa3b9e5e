//! Which waiting ticket a window calls next.
//!
//! Order, first to last:
//! 1. tickets that have waited past `max_wait_minutes` (the guard against being passed over forever),
//! 2. booked citizens who checked in inside their slot,
//! 3. priority tickets: seniors (from the ID card's birth date) and staff-flagged green channel,
//! 4. everyone else.
//!
//! Within a class, first come first served by place in the queue across all the window's services, or,
//! with `call_order = "service_order"`, the window's services in their configured order first.

use chrono::{Datelike, NaiveDate};
use imbl::OrdSet;

use super::event::Event;
use super::index::{Place, WaitingClass};
use super::state::HallState;
use super::ticket::{Ticket, TicketId, TicketState};
use crate::config::{CallOrder, HallSetup};

/// The ticket and window a call or recall names: what a wall shows and a voice announces.
pub fn call_in(event: &Event) -> Option<(TicketId, u16)> {
    match event {
        Event::TicketCalled { ticket, window, .. }
        | Event::TicketRecalled { ticket, window, .. } => Some((*ticket, *window)),
        _ => None,
    }
}

/// The class of a waiting ticket: lower is called first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    Overdue,
    Appointment,
    Priority,
    Normal,
}

pub fn urgency(setup: &HallSetup, now_ms: i64, ticket: &Ticket) -> Urgency {
    let max_wait = i64::from(setup.policy().max_wait_minutes) * 60_000;
    if max_wait > 0 && now_ms - ticket.queue_ms >= max_wait {
        Urgency::Overdue
    } else if ticket.appointment.is_some() {
        Urgency::Appointment
    } else if ticket.is_priority() {
        Urgency::Priority
    } else {
        Urgency::Normal
    }
}

/// May `window` call `ticket`?
pub fn window_may_call(setup: &HallSetup, window: u16, ticket: &Ticket) -> bool {
    if ticket.state != TicketState::Waiting {
        return false;
    }
    match ticket.only_window {
        Some(only) => only == window,
        None => setup
            .window(window)
            .is_some_and(|w| w.services.contains(&ticket.service)),
    }
}

/// The sort key of a waiting ticket at `window`: the smallest is called next.
#[cfg(test)]
fn call_key(
    setup: &HallSetup,
    window: u16,
    now_ms: i64,
    ticket: &Ticket,
) -> (Urgency, usize, i64, u64) {
    let service_rank = match setup.policy().call_order {
        CallOrder::FirstCome => 0,
        CallOrder::ServiceOrder => setup
            .window(window)
            .and_then(|w| w.services.iter().position(|s| *s == ticket.service))
            .unwrap_or(0),
    };
    (
        urgency(setup, now_ms, ticket),
        service_rank,
        ticket.queue_ms,
        ticket.id,
    )
}

/// The ticket `window` should call now, if any waits for it. Looks only at the first ticket of each
/// queue the window may call from, so it costs the same however many tickets the day holds.
pub fn next_for_window<'a>(
    setup: &HallSetup,
    window: u16,
    now_ms: i64,
    state: &'a HallState,
) -> Option<&'a Ticket> {
    let index = state.index();
    let services = setup.window(window).map_or(&[][..], |w| &w.services[..]);
    let shared = services
        .iter()
        .filter_map(|service| index.waiting(service).map(|q| (service.as_str(), q)));
    let queues = shared.chain(index.held_for(window));
    let service_rank = |service: &str| match setup.policy().call_order {
        CallOrder::FirstCome => 0,
        CallOrder::ServiceOrder => services.iter().position(|s| s == service).unwrap_or(0),
    };
    let overdue_from = overdue_from(setup, now_ms);
    // An overdue ticket, if there is one, goes first whatever its class; the first of a queue is its
    // longest waiting, so it is the only one of that queue that can be.
    let mut best: Option<((Urgency, usize, i64, TicketId), TicketId)> = None;
    for (service, queue) in queues {
        let rank = service_rank(service);
        let mut consider = |urgency: Urgency, (queue_ms, id): Place| {
            let key = (urgency, rank, queue_ms, id);
            if best.is_none_or(|(b, _)| key < b) {
                best = Some((key, id));
            }
        };
        if let Some(&first) = queue.all.get_min()
            && overdue_from.is_some_and(|from| first <= from)
        {
            consider(Urgency::Overdue, first);
            continue;
        }
        for class in WaitingClass::ALL {
            if let Some(&first) = queue.by_class[class as usize].get_min() {
                consider(class.urgency(), first);
            }
        }
    }
    best.and_then(|(_, id)| state.tickets.get(&id))
}

/// The place up to which (inclusive) a waiting ticket is overdue at `now_ms`; none when no wait is too
/// long.
fn overdue_from(setup: &HallSetup, now_ms: i64) -> Option<Place> {
    let max_wait = i64::from(setup.policy().max_wait_minutes) * 60_000;
    (max_wait > 0).then(|| (now_ms - max_wait, TicketId::MAX))
}

/// How many waiting tickets of the same service stand before `ticket`: the figure printed on the ticket.
/// Counts only the overdue and those behind `ticket`, and takes the rest from the queues' sizes: for a
/// ticket just issued, at the back of its queue, the cost does not grow with the queue or the day.
pub fn people_ahead_in(setup: &HallSetup, now_ms: i64, ticket: &Ticket, state: &HallState) -> u32 {
    let Some(queue) = state.index().waiting(&ticket.service) else {
        return 0;
    };
    let mine: Place = (ticket.queue_ms, ticket.id);
    let overdue_from = overdue_from(setup, now_ms);
    let overdue_in =
        |set: &OrdSet<Place>| overdue_from.map_or(0, |from| set.range(..=from).count());
    if overdue_from.is_some_and(|from| mine <= from) {
        // Whoever stands before an overdue ticket has waited longer: overdue too.
        return queue.all.range(..mine).count() as u32;
    }
    let my_class = WaitingClass::of(ticket);
    let classes_before: usize = WaitingClass::ALL
        .iter()
        .filter(|c| **c < my_class)
        .map(|c| {
            let set = &queue.by_class[*c as usize];
            set.len() - overdue_in(set)
        })
        .sum();
    let same_class = &queue.by_class[my_class as usize];
    let same_class_before =
        same_class.len() - overdue_in(same_class) - same_class.range(mine..).count();
    (overdue_in(&queue.all) + classes_before + same_class_before) as u32
}

/// How many waiting tickets of the same service stand before `ticket`, counted over `tickets`: for a
/// copy of the state without its index (a terminal's). The engine uses [`people_ahead_in`].
pub fn people_ahead<'a>(
    setup: &HallSetup,
    now_ms: i64,
    ticket: &Ticket,
    tickets: impl IntoIterator<Item = &'a Ticket>,
) -> u32 {
    let key = |t: &Ticket| (urgency(setup, now_ms, t), t.queue_ms, t.id);
    let mine = key(ticket);
    tickets
        .into_iter()
        .filter(|t| {
            t.id != ticket.id
                && t.state == TicketState::Waiting
                && t.service == ticket.service
                && t.only_window.is_none()
                && key(t) < mine
        })
        .count() as u32
}

/// Whether a citizen born on `birth` counts as a senior on `day`.
pub fn is_senior(setup: &HallSetup, birth: Option<NaiveDate>, day: NaiveDate) -> bool {
    let age_limit = setup.policy().senior_age;
    let Some(birth) = birth else { return false };
    if age_limit == 0 {
        return false;
    }
    let mut age = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age >= i32::from(age_limit)
}

impl WaitingClass {
    fn urgency(self) -> Urgency {
        match self {
            WaitingClass::Appointment => Urgency::Appointment,
            WaitingClass::Priority => Urgency::Priority,
            WaitingClass::Normal => Urgency::Normal,
        }
    }
}

/// The ticket `window` should call now, found by looking at every ticket of the day: the reference the
/// indexed [`next_for_window`] is checked against.
#[cfg(test)]
fn next_for_window_by_scan<'a>(
    setup: &HallSetup,
    window: u16,
    now_ms: i64,
    tickets: impl IntoIterator<Item = &'a Ticket>,
) -> Option<&'a Ticket> {
    tickets
        .into_iter()
        .filter(|t| window_may_call(setup, window, t))
        .min_by_key(|t| call_key(setup, window, now_ms, t))
}

/// The indexed lookups against a scan over every ticket of the day, on random days: tickets issued,
/// called, re-queued, transferred (to a service or to one window), flagged, finished, and new days.
#[cfg(test)]
mod index_matches_scan {
    use proptest::prelude::*;

    use super::*;
    use crate::queue::event::{Recorded, StoredEvent};
    use crate::queue::ticket::{Channel, Citizen, SlotRef};

    const SERVICES: [&str; 4] = ["SB", "YB", "GJJ", "CRJ"];
    /// The example hall's windows, and one it does not have.
    const WINDOWS: [u16; 9] = [1, 2, 3, 4, 5, 6, 7, 8, 42];
    const DAY0_MS: i64 = 1_790_000_000_000;
    const MINUTE: i64 = 60_000;

    #[derive(Debug, Clone)]
    enum Step {
        Issue {
            service: usize,
            citizen: Option<(u8, bool)>,
            booked: bool,
        },
        Call {
            window: usize,
            pick: usize,
        },
        Start(usize),
        Finish(usize),
        NoShow(usize),
        Requeue(usize),
        Transfer {
            pick: usize,
            service: usize,
            to_window: Option<usize>,
        },
        Green(usize),
        Wait(u8),
        NewDay,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            8 => (
                0..SERVICES.len(),
                proptest::option::of((0u8..6, any::<bool>())),
                proptest::bool::weighted(0.2),
            )
                .prop_map(|(service, citizen, booked)| Step::Issue {
                    service,
                    citizen,
                    booked
                }),
            4 => (0..WINDOWS.len(), any::<usize>())
                .prop_map(|(window, pick)| Step::Call { window, pick }),
            1 => any::<usize>().prop_map(Step::Start),
            1 => any::<usize>().prop_map(Step::Finish),
            1 => any::<usize>().prop_map(Step::NoShow),
            1 => any::<usize>().prop_map(Step::Requeue),
            1 => (
                any::<usize>(),
                0..SERVICES.len(),
                proptest::option::of(0..WINDOWS.len()),
            )
                .prop_map(|(pick, service, to_window)| Step::Transfer {
                    pick,
                    service,
                    to_window
                }),
            1 => any::<usize>().prop_map(Step::Green),
            3 => (0u8..8).prop_map(Step::Wait),
            1 => (0u8..20).prop_map(|n| if n == 0 { Step::NewDay } else { Step::Wait(0) }),
        ]
    }

    /// Builds and applies the event `step` means, when the day has a ticket it can act on.
    struct Day {
        state: HallState,
        now_ms: i64,
        days: i64,
    }

    impl Day {
        fn pick(&self, pick: usize, states: &[TicketState]) -> Option<Ticket> {
            let fitting: Vec<&Ticket> = self
                .state
                .tickets
                .values()
                .filter(|t| states.contains(&t.state))
                .collect();
            (!fitting.is_empty()).then(|| fitting[pick % fitting.len()].clone())
        }

        fn apply(&mut self, event: Event) {
            let business_day = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
                + chrono::Days::new(self.days as u64);
            let stored = StoredEvent {
                seq: self.state.last_seq + 1,
                event_id: uuid::Uuid::nil(),
                hall_id: "hall".into(),
                command_id: None,
                recorded: Recorded {
                    wall_ms: self.now_ms,
                    hall_ms: self.now_ms,
                    boot_id: "boot".into(),
                    mono_ms: 0,
                    clock_trusted: true,
                    business_day,
                },
                event,
            };
            self.state.apply_stored(&stored);
        }

        fn run(&mut self, step: &Step) {
            use TicketState::*;
            let event = match step.clone() {
                Step::Issue {
                    service,
                    citizen,
                    booked,
                } => {
                    let id = self.state.last_ticket_id + 1;
                    Event::TicketIssued {
                        ticket: id,
                        number: format!("N{id:03}"),
                        sequence: id as u32,
                        prefix: "N".into(),
                        service: SERVICES[service].into(),
                        channel: Channel::Kiosk,
                        citizen: citizen.map(|(who, senior)| Citizen {
                            id_hash: format!("hash-{who}"),
                            masked_name: "张*三".into(),
                            senior,
                        }),
                        appointment: booked.then(|| SlotRef {
                            appointment_id: format!("BK{id}"),
                            start_ms: self.now_ms,
                            end_ms: self.now_ms + 30 * MINUTE,
                        }),
                        at_ms: self.now_ms,
                        status_token: Some(format!("token-{id}")),
                    }
                }
                Step::Call { window, pick } => match self.pick(pick, &[Waiting]) {
                    Some(t) => Event::TicketCalled {
                        ticket: t.id,
                        window: WINDOWS[window],
                        staff: "S1".into(),
                        at_ms: self.now_ms,
                    },
                    None => return,
                },
                Step::Start(pick) => match self.pick(pick, &[Called]) {
                    Some(t) => Event::ServiceStarted {
                        ticket: t.id,
                        window: t.window.unwrap_or(1),
                        at_ms: self.now_ms,
                    },
                    None => return,
                },
                Step::Finish(pick) => match self.pick(pick, &[Serving]) {
                    Some(t) => Event::TicketFinished {
                        ticket: t.id,
                        window: t.window.unwrap_or(1),
                        at_ms: self.now_ms,
                    },
                    None => return,
                },
                Step::NoShow(pick) => match self.pick(pick, &[Called]) {
                    Some(t) => Event::TicketNoShow {
                        ticket: t.id,
                        window: t.window.unwrap_or(1),
                    },
                    None => return,
                },
                Step::Requeue(pick) => match self.pick(pick, &[NoShow]) {
                    Some(t) => Event::TicketRequeued {
                        ticket: t.id,
                        queue_ms: self.now_ms,
                    },
                    None => return,
                },
                Step::Transfer {
                    pick,
                    service,
                    to_window,
                } => match self.pick(pick, &[Called, Serving]) {
                    Some(t) => Event::TicketTransferred {
                        ticket: t.id,
                        from_window: t.window.unwrap_or(1),
                        service: SERVICES[service].into(),
                        only_window: to_window.map(|w| WINDOWS[w]),
                        // Keeping its place or going to the back, both happen.
                        queue_ms: if pick % 2 == 0 {
                            t.queue_ms
                        } else {
                            self.now_ms
                        },
                    },
                    None => return,
                },
                Step::Green(pick) => match self.pick(pick, &[Waiting, Called]) {
                    Some(t) => Event::GreenChannelFlagged { ticket: t.id },
                    None => return,
                },
                Step::Wait(minutes) => {
                    self.now_ms += i64::from(minutes) * MINUTE;
                    return;
                }
                Step::NewDay => {
                    self.days += 1;
                    self.now_ms = DAY0_MS + self.days * 24 * 60 * MINUTE;
                    let (expired, unrated) = crate::queue::state::closing_of_day(&self.state);
                    Event::BusinessDayOpened {
                        day: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
                            + chrono::Days::new(self.days as u64),
                        expired,
                        unrated,
                    }
                }
            };
            self.apply(event);
        }
    }

    fn check(setup: &HallSetup, state: &HallState, now_ms: i64) -> Result<(), TestCaseError> {
        for window in WINDOWS {
            let indexed = next_for_window(setup, window, now_ms, state).map(|t| t.id);
            let scanned = next_for_window_by_scan(setup, window, now_ms, state.tickets.values())
                .map(|t| t.id);
            prop_assert_eq!(indexed, scanned, "next for window {} at {}", window, now_ms);
        }
        for ticket in state.tickets.values() {
            prop_assert_eq!(
                people_ahead_in(setup, now_ms, ticket, state),
                people_ahead(setup, now_ms, ticket, state.tickets.values()),
                "people ahead of {:?}",
                ticket
            );
            prop_assert_eq!(
                state.ticket_by_number(&ticket.number).map(|t| t.id),
                Some(ticket.id)
            );
            let token = ticket.status_token.as_deref().unwrap_or_default();
            prop_assert_eq!(
                state.ticket_by_status_token(token).map(|t| t.id),
                Some(ticket.id)
            );
            if let Some(citizen) = &ticket.citizen {
                let scanned: Vec<TicketId> = state
                    .tickets
                    .values()
                    .filter(|t| {
                        t.citizen
                            .as_ref()
                            .is_some_and(|c| c.id_hash == citizen.id_hash)
                    })
                    .map(|t| t.id)
                    .collect();
                let indexed: Vec<TicketId> = state.index().of_citizen(&citizen.id_hash).collect();
                prop_assert_eq!(indexed, scanned);
            }
        }
        for service in SERVICES {
            let scanned = state
                .tickets
                .values()
                .filter(|t| t.service == service)
                .count() as u32;
            prop_assert_eq!(state.index().tickets_of_service(service), scanned);
            let waiting = state
                .tickets
                .values()
                .filter(|t| t.service == service && t.state == TicketState::Waiting)
                .count() as u32;
            prop_assert_eq!(state.index().waiting_count(service), waiting);
        }
        prop_assert_eq!(state.ticket_by_number("N000"), None);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn indexed_decisions_equal_the_scan(
            steps in proptest::collection::vec(step(), 1..80),
            service_order in any::<bool>(),
            max_wait_minutes in prop_oneof![Just(0u32), 1u32..20],
        ) {
            let mut setup = crate::config::example();
            setup.config.policy.call_order = if service_order {
                CallOrder::ServiceOrder
            } else {
                CallOrder::FirstCome
            };
            setup.config.policy.max_wait_minutes = max_wait_minutes;
            let mut day = Day { state: HallState::default(), now_ms: DAY0_MS, days: 0 };
            for step in &steps {
                day.run(step);
                for later in [0, MINUTE, 10 * MINUTE, 30 * MINUTE] {
                    check(&setup, &day.state, day.now_ms + later)?;
                }
            }
            // A state read back from JSON, as a terminal gets it, decides the same.
            let copy: HallState =
                serde_json::from_str(&serde_json::to_string(&day.state).unwrap()).unwrap();
            check(&setup, &copy, day.now_ms)?;
        }
    }
}
