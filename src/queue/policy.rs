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

use super::event::Event;
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

/// The ticket `window` should call now, if any waits for it.
pub fn next_for_window<'a>(
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

/// How many waiting tickets of the same service stand before `ticket`: the figure printed on the ticket.
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
