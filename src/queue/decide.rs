//! Deciding a command: given the state and the hall's time, either the events it causes or a refusal.
//! Nothing here changes state; the engine applies the events once they are stored.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::command::{Booking, Command, RatingInput, StaffProof, TransferTarget};
use super::day::{self, HallTime};
use super::event::Event;
use super::policy;
use super::rating::{
    CaseNumber, Evaluator, MAX_EVALUATOR_NAME_CHARS, RatedVisit, RatingRequest, SatisfactionLevel,
};
use super::refusal::Refusal;
use super::state::HallState;
use super::ticket::{
    Appointment, AppointmentState, Channel, Citizen, CitizenCard, Rating, SlotRef, Ticket,
    TicketState, WindowState, ticket_number,
};
use crate::config::{ClockTime, HallSetup, LateArrival, SignInBy, StaleBookings};

/// What the caller learns when a command succeeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reply {
    Ticket {
        ticket: Box<Ticket>,
        /// For a new ticket: waiting tickets of its service ahead of it.
        people_ahead: Option<u32>,
    },
    Window {
        window: WindowState,
    },
    /// Recorded, or nothing needed recording (a device reporting the state it is already in).
    Accepted,
}

const MAX_STAFF_ID_LEN: usize = 32;

/// Whether `staff` has the form of a staff number (工号): 1 to 32 ASCII letters or digits.
pub fn is_staff_number(staff: &str) -> bool {
    !staff.is_empty()
        && staff.len() <= MAX_STAFF_ID_LEN
        && staff.chars().all(|c| c.is_ascii_alphanumeric())
}
const MAX_COMMENT_CHARS: usize = 200;

/// What the engine draws at random before deciding a command. Deciding takes no randomness of its
/// own, so it stays a function of its inputs and the events carry whatever was drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drawn {
    /// The status-link token a ticket issued by this command gets.
    pub status_token: String,
}

/// Decides `command` against `state` at `now`. `state` must already be in `now.business_day`.
pub fn decide(
    setup: &HallSetup,
    state: &HallState,
    now: &HallTime,
    command: &Command,
    drawn: &Drawn,
) -> Result<Vec<Event>, Refusal> {
    let ctx = Ctx {
        setup,
        state,
        now,
        drawn,
    };
    match command {
        Command::IssueTicket {
            service,
            citizen,
            by_staff,
        } => ctx.issue(service, citizen.as_ref(), *by_staff),
        Command::CheckIn { citizen } => ctx.check_in(citizen),
        Command::SignIn {
            window,
            staff,
            proof,
        } => ctx.sign_in(*window, staff, *proof),
        Command::SignOut { window } => {
            let w = ctx.staffed_window(*window)?;
            if let Some(t) = ctx.current(w) {
                return Err(Refusal::WindowBusy {
                    window: *window,
                    number: t.number.clone(),
                });
            }
            Ok(vec![Event::StaffSignedOut { window: *window }])
        }
        Command::ConfirmClock { window, local } => {
            let w = ctx.staffed_window(*window)?;
            let at_ms = day::instant_of(setup, *local);
            if at_ms < day::EARLIEST_PLAUSIBLE_MS {
                return Err(Refusal::Invalid(format!(
                    "{} is not a plausible date and time",
                    local.format("%Y-%m-%d %H:%M")
                )));
            }
            Ok(vec![Event::ClockConfirmed {
                window: *window,
                staff: w.staff.unwrap_or_default(),
                at_ms,
            }])
        }
        Command::CallNext { window } => ctx.call_next(*window),
        Command::Recall { window } => ctx.recall(*window),
        Command::StartService { window } => {
            let t = ctx.current_in(*window, &[TicketState::Called], "start serving")?;
            Ok(vec![Event::ServiceStarted {
                ticket: t.id,
                window: *window,
                at_ms: now.hall_ms,
            }])
        }
        Command::Finish { window } => {
            let t = ctx.current_in(*window, &[TicketState::Serving], "finish")?;
            Ok(vec![Event::TicketFinished {
                ticket: t.id,
                window: *window,
                at_ms: now.hall_ms,
            }])
        }
        Command::NoShow { window } => {
            let t = ctx.current_in(*window, &[TicketState::Called], "mark as no-show")?;
            Ok(vec![Event::TicketNoShow {
                ticket: t.id,
                window: *window,
            }])
        }
        Command::Transfer { window, to } => ctx.transfer(*window, to),
        Command::Pause { window } => {
            let w = ctx.staffed_window(*window)?;
            if w.paused {
                return Err(Refusal::WindowPaused(*window));
            }
            Ok(vec![Event::WindowPaused { window: *window }])
        }
        Command::Resume { window } => {
            let w = ctx.staffed_window(*window)?;
            if !w.paused {
                return Err(Refusal::WindowNotPaused(*window));
            }
            Ok(vec![Event::WindowResumed { window: *window }])
        }
        Command::Requeue { number } => ctx.requeue(number),
        Command::FlagGreenChannel { number } => {
            if !setup.policy().green_channel {
                return Err(Refusal::GreenChannelOff);
            }
            let t = ctx.ticket(number)?;
            if t.state != TicketState::Waiting {
                return Err(Refusal::WrongState {
                    number: t.number.clone(),
                    state: t.state,
                    action: "flag for the green channel",
                });
            }
            if t.green {
                return Err(Refusal::AlreadyGreen(t.number.clone()));
            }
            Ok(vec![Event::GreenChannelFlagged { ticket: t.id }])
        }
        Command::Rate { number, rating } => ctx.rate(number, rating),
        Command::RequestRating {
            window,
            case_number,
            ticket,
            kiosk,
        } => ctx.request_rating(*window, case_number, ticket.as_deref(), kiosk.as_deref()),
        Command::Book { booking } => ctx.book(booking),
        Command::RescheduleBooking { booking } => ctx.reschedule(booking),
        Command::MarkBookings {
            stale,
            last_pull_ms,
        } => Ok(match (state.bookings_stale, *stale) {
            (false, true) => vec![Event::BookingsWentStale {
                last_pull_ms: *last_pull_ms,
            }],
            (true, false) => vec![Event::BookingsCurrent],
            // Nothing changed: nothing to record.
            _ => Vec::new(),
        }),
        Command::CancelBooking { id } => match state.appointments.get(id) {
            Some(a) if a.state == AppointmentState::Booked => {
                Ok(vec![Event::AppointmentCancelled {
                    appointment: id.clone(),
                }])
            }
            Some(_) => Err(Refusal::BookingClosed(id.clone())),
            None => Err(Refusal::UnknownBooking(id.clone())),
        },
        Command::ReportDevice { device, fault } => {
            if device.trim().is_empty() || device.chars().count() > 64 {
                return Err(Refusal::Invalid(
                    "a device name must be 1 to 64 characters".into(),
                ));
            }
            let current = state.faults.get(device);
            Ok(match (current, fault) {
                (None, Some(f)) => vec![Event::DeviceFaulted {
                    device: device.clone(),
                    fault: f.clone(),
                }],
                (Some(old), Some(f)) if old != f => vec![Event::DeviceFaulted {
                    device: device.clone(),
                    fault: f.clone(),
                }],
                (Some(_), None) => vec![Event::DeviceRecovered {
                    device: device.clone(),
                }],
                _ => Vec::new(),
            })
        }
        Command::RecordPrint {
            number,
            printed,
            detail,
        } => {
            let t = ctx.ticket(number)?;
            if t.print != super::ticket::PrintState::Unknown {
                return Err(Refusal::PrintAlreadyRecorded(t.number.clone()));
            }
            Ok(vec![if *printed {
                Event::TicketPrinted { ticket: t.id }
            } else {
                Event::TicketPrintFailed {
                    ticket: t.id,
                    // An empty report says nothing: it is recorded as no detail.
                    detail: detail.clone().filter(|d| !d.is_empty()),
                }
            }])
        }
    }
}

/// The reply a successful command gets, read from the state after its events were applied.
pub fn reply_for(
    setup: &HallSetup,
    state: &HallState,
    now_ms: i64,
    command: &Command,
    events: &[Event],
) -> Reply {
    let ticket_of = |id| state.tickets.get(&id).cloned();
    let touched_ticket = events.iter().rev().find_map(|e| {
        let (tickets, _) = HallState::touched(e);
        tickets.first().copied()
    });
    match command {
        Command::SignIn { window, .. }
        | Command::SignOut { window }
        | Command::ConfirmClock { window, .. }
        | Command::Pause { window }
        | Command::Resume { window } => Reply::Window {
            window: state.window(*window).cloned().unwrap_or_default(),
        },
        _ => match touched_ticket.and_then(ticket_of) {
            Some(ticket) => {
                let people_ahead = matches!(
                    command,
                    Command::IssueTicket { .. } | Command::CheckIn { .. }
                )
                .then(|| policy::people_ahead_in(setup, now_ms, &ticket, state));
                Reply::Ticket {
                    ticket: Box::new(ticket),
                    people_ahead,
                }
            }
            None => Reply::Accepted,
        },
    }
}

/// The event that opens `now`'s business day, when the state is still in an earlier one.
pub fn day_opening(state: &HallState, now: &HallTime) -> Option<Event> {
    (state.business_day != Some(now.business_day)).then(|| {
        let (expired, unrated) = super::state::closing_of_day(state);
        Event::BusinessDayOpened {
            day: now.business_day,
            expired,
            unrated,
        }
    })
}

struct Ctx<'a> {
    setup: &'a HallSetup,
    state: &'a HallState,
    now: &'a HallTime,
    drawn: &'a Drawn,
}

impl Ctx<'_> {
    fn local_now(&self) -> NaiveDateTime {
        day::local_time(self.setup, self.now.hall_ms)
    }

    fn ticket(&self, number: &str) -> Result<&Ticket, Refusal> {
        self.state
            .ticket_by_number(number)
            .ok_or_else(|| Refusal::UnknownTicket(number.to_string()))
    }

    fn window(&self, number: u16) -> Result<WindowState, Refusal> {
        self.setup
            .window(number)
            .ok_or(Refusal::UnknownWindow(number))?;
        Ok(self.state.window(number).cloned().unwrap_or(WindowState {
            number,
            ..WindowState::default()
        }))
    }

    fn staffed_window(&self, number: u16) -> Result<WindowState, Refusal> {
        let w = self.window(number)?;
        if w.staff.is_none() {
            return Err(Refusal::NotSignedIn(number));
        }
        Ok(w)
    }

    fn current(&self, w: WindowState) -> Option<&Ticket> {
        w.current.and_then(|id| self.state.tickets.get(&id))
    }

    /// The window's current ticket, which must be in one of `states` for `action`.
    fn current_in(
        &self,
        window: u16,
        states: &[TicketState],
        action: &'static str,
    ) -> Result<&Ticket, Refusal> {
        let w = self.staffed_window(window)?;
        let t = self.current(w).ok_or(Refusal::NoCurrentTicket(window))?;
        if !states.contains(&t.state) {
            return Err(Refusal::WrongState {
                number: t.number.clone(),
                state: t.state,
                action,
            });
        }
        Ok(t)
    }

    fn ensure_open(&self) -> Result<(), Refusal> {
        // A hall time that does not follow a believable clock cannot say whether the hall is open:
        // serving citizens wins.
        if !self.now.time_of_day_known {
            return Ok(());
        }
        let local = self.local_now();
        if self.setup.hours.is_open_at(local) {
            return Ok(());
        }
        Err(Refusal::HallClosed {
            opens_at: self
                .setup
                .hours
                .next_opening(local)
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string()),
        })
    }

    fn citizen_of(&self, card: &CitizenCard) -> Result<Citizen, Refusal> {
        // Stored events are kept for good: neither value is echoed, and only their masked forms pass.
        if !crate::identity::is_id_hash(&card.id_hash) {
            return Err(Refusal::Invalid(format!(
                "the id hash is not the hall key's digest ({} lower-case hex digits)",
                crate::identity::ID_HASH_HEX_DIGITS
            )));
        }
        if !crate::identity::is_masked_name(&card.masked_name) {
            return Err(Refusal::Invalid(
                "the name is not masked as the kiosk masks it (张*三, Z**** S**)".into(),
            ));
        }
        Ok(Citizen {
            id_hash: card.id_hash.clone(),
            masked_name: card.masked_name.clone(),
            senior: policy::is_senior(self.setup, card.birth_date, self.now.business_day),
        })
    }

    fn new_ticket_events(
        &self,
        service: &str,
        channel: Channel,
        citizen: Option<Citizen>,
        appointment: Option<SlotRef>,
    ) -> Result<Event, Refusal> {
        let config = self
            .setup
            .service(service)
            .ok_or_else(|| Refusal::UnknownService(service.to_string()))?;
        let issued_today = self.state.index().tickets_of_service(service);
        if let Some(cap) = config.daily_cap
            && issued_today >= cap
        {
            return Err(Refusal::DailyCapReached {
                service: service.to_string(),
                cap,
            });
        }
        if self.setup.policy().one_open_ticket_per_service
            && let Some(c) = &citizen
            && let Some(held) = self
                .state
                .index()
                .of_citizen(&c.id_hash)
                .filter_map(|id| self.state.tickets.get(&id))
                .find(|t| t.service == service && t.state.is_open())
        {
            return Err(Refusal::AlreadyHoldsTicket(held.number.clone()));
        }
        let sequence = self
            .state
            .sequences
            .get(&config.prefix)
            .copied()
            .unwrap_or(0)
            + 1;
        Ok(Event::TicketIssued {
            ticket: self.state.last_ticket_id + 1,
            number: ticket_number(&config.prefix, sequence),
            sequence,
            prefix: config.prefix.clone(),
            service: service.to_string(),
            channel,
            citizen,
            appointment,
            at_ms: self.now.hall_ms,
            status_token: Some(self.drawn.status_token.clone()),
        })
    }

    fn issue(
        &self,
        service: &str,
        card: Option<&CitizenCard>,
        by_staff: bool,
    ) -> Result<Vec<Event>, Refusal> {
        let config = self
            .setup
            .service(service)
            .ok_or_else(|| Refusal::UnknownService(service.to_string()))?;
        if !by_staff {
            self.ensure_open()?;
        }
        if config.appointment_only {
            match self.stale_fallback() {
                // The booking may be one the hall has not heard of: the citizen is served anyway.
                Some(StaleBookings::WalkIn) if card.is_some() => {}
                Some(StaleBookings::StaffCheckIn) if by_staff => {}
                Some(StaleBookings::StaffCheckIn) => return Err(Refusal::BookingsStaleAskStaff),
                _ => return Err(Refusal::AppointmentOnly(service.to_string())),
            }
        }
        if config.requires_id_card && card.is_none() {
            return Err(Refusal::IdCardRequired(service.to_string()));
        }
        let citizen = card.map(|c| self.citizen_of(c)).transpose()?;
        let channel = if by_staff {
            Channel::Staff
        } else {
            Channel::Kiosk
        };
        Ok(vec![
            self.new_ticket_events(service, channel, citizen, None)?,
        ])
    }

    fn check_in(&self, card: &CitizenCard) -> Result<Vec<Event>, Refusal> {
        let citizen = self.citizen_of(card)?;
        let mut booked: Vec<&Appointment> = self
            .state
            .appointments
            .values()
            .filter(|a| {
                a.state == AppointmentState::Booked
                    && a.business_day == self.now.business_day
                    && a.id_hash.as_deref() == Some(citizen.id_hash.as_str())
            })
            .collect();
        booked.sort_by_key(|a| a.start_ms);
        let policy = self.setup.policy();
        let before = i64::from(policy.checkin_before_minutes) * 60_000;
        let after = i64::from(policy.checkin_after_minutes) * 60_000;
        let now = self.now.hall_ms;
        let slot_text = |a: &Appointment| {
            let start = day::local_time(self.setup, a.start_ms).format("%H:%M");
            let end = day::local_time(self.setup, a.end_ms).format("%H:%M");
            format!("{start}-{end}")
        };
        let Some(appointment) = booked
            .iter()
            .find(|a| now >= a.start_ms - before && now <= a.start_ms + after)
        else {
            // Explain the nearest booking: the citizen is early or late for it.
            return match booked.iter().find(|a| now < a.start_ms - before) {
                Some(a) => Err(Refusal::TooEarly {
                    slot: slot_text(a),
                    check_in_from: day::local_time(self.setup, a.start_ms - before)
                        .format("%H:%M")
                        .to_string(),
                }),
                None => match booked.last() {
                    Some(a) if policy.late_arrival == LateArrival::WalkIn => {
                        let service = a.service.clone();
                        let mut events = vec![self.new_ticket_events(
                            &service,
                            Channel::Kiosk,
                            Some(citizen),
                            None,
                        )?];
                        events.push(Event::AppointmentCancelled {
                            appointment: a.id.clone(),
                        });
                        Ok(events)
                    }
                    Some(a) => Err(Refusal::TooLate {
                        slot: slot_text(a),
                        check_in_until: day::local_time(self.setup, a.start_ms + after)
                            .format("%H:%M")
                            .to_string(),
                    }),
                    None => Err(self.no_booking()),
                },
            };
        };
        let slot = SlotRef {
            appointment_id: appointment.id.clone(),
            start_ms: appointment.start_ms,
            end_ms: appointment.end_ms,
        };
        let issued = self.new_ticket_events(
            &appointment.service,
            Channel::Appointment,
            Some(citizen),
            Some(slot),
        )?;
        let Event::TicketIssued { ticket, .. } = &issued else {
            unreachable!("new_ticket_events issues a ticket")
        };
        let checked_in = Event::AppointmentCheckedIn {
            appointment: appointment.id.clone(),
            ticket: *ticket,
        };
        Ok(vec![issued, checked_in])
    }

    /// The fallback in force, while the list of bookings is stale.
    fn stale_fallback(&self) -> Option<StaleBookings> {
        if !self.state.bookings_stale {
            return None;
        }
        Some(
            self.setup
                .config
                .platform
                .as_ref()
                .map_or_else(StaleBookings::default, |p| p.stale_bookings),
        )
    }

    /// Why a card found no booking to check in for. A cancelled booking forgot its citizen when it
    /// was cancelled, so it reads as none; while the list is stale and staff check citizens in, the
    /// booking may be one the hall has not heard of.
    fn no_booking(&self) -> Refusal {
        match self.stale_fallback() {
            Some(StaleBookings::StaffCheckIn) => Refusal::BookingsStaleAskStaff,
            _ => Refusal::NoBooking,
        }
    }

    fn sign_in(&self, window: u16, staff: &str, proof: StaffProof) -> Result<Vec<Event>, Refusal> {
        let staff = staff.trim();
        if !is_staff_number(staff) {
            return Err(Refusal::Invalid(format!(
                "a staff number is 1 to {MAX_STAFF_ID_LEN} letters or digits"
            )));
        }
        let w = self.window(window)?;
        let staff_rules = &self.setup.config.staff;
        match proof {
            StaffProof::Pin => {}
            StaffProof::NumberOnly if staff_rules.sign_in == SignInBy::Number => {}
            StaffProof::NumberOnly => return Err(Refusal::StaffPinRequired),
            StaffProof::WrongPin => return Err(Refusal::WrongStaffPin),
            StaffProof::Locked => {
                return Err(Refusal::StaffLocked {
                    staff: staff.to_string(),
                    minutes: staff_rules.lockout_minutes,
                });
            }
        }
        if let Some(current) = &w.staff {
            return Err(Refusal::AlreadySignedIn {
                window,
                staff: current.clone(),
            });
        }
        if let Some(other) = self
            .state
            .windows
            .values()
            .find(|o| o.staff.as_deref() == Some(staff))
        {
            return Err(Refusal::StaffAtAnotherWindow {
                staff: staff.to_string(),
                window: other.number,
            });
        }
        Ok(vec![Event::StaffSignedIn {
            window,
            staff: staff.to_string(),
            with_pin: proof == StaffProof::Pin,
        }])
    }

    fn call_next(&self, window: u16) -> Result<Vec<Event>, Refusal> {
        let w = self.staffed_window(window)?;
        if w.paused {
            return Err(Refusal::WindowPaused(window));
        }
        // The misclick guard: the next citizen is only called once the current one is dealt with.
        if let Some(t) = self.current(w.clone()) {
            return Err(Refusal::WindowBusy {
                window,
                number: t.number.clone(),
            });
        }
        let next = policy::next_for_window(self.setup, window, self.now.hall_ms, self.state)
            .ok_or(Refusal::QueueEmpty(window))?;
        Ok(vec![Event::TicketCalled {
            ticket: next.id,
            window,
            staff: w.staff.unwrap_or_default(),
            at_ms: self.now.hall_ms,
        }])
    }

    fn recall(&self, window: u16) -> Result<Vec<Event>, Refusal> {
        let t = self.current_in(window, &[TicketState::Called], "recall")?;
        let limit = self.setup.policy().recall_limit;
        if t.calls > limit {
            return Err(Refusal::RecallLimit {
                number: t.number.clone(),
                limit,
            });
        }
        Ok(vec![Event::TicketRecalled {
            ticket: t.id,
            window,
            calls: t.calls + 1,
        }])
    }

    fn transfer(&self, window: u16, to: &TransferTarget) -> Result<Vec<Event>, Refusal> {
        let t = self.current_in(
            window,
            &[TicketState::Called, TicketState::Serving],
            "transfer",
        )?;
        let (service, only_window) = match to {
            TransferTarget::Service(code) => {
                self.setup
                    .service(code)
                    .ok_or_else(|| Refusal::UnknownService(code.clone()))?;
                if *code == t.service && t.only_window.is_none() {
                    return Err(Refusal::Invalid(format!(
                        "{} is already in the {code} queue",
                        t.number
                    )));
                }
                (code.clone(), None)
            }
            TransferTarget::Window(target) => {
                self.setup
                    .window(*target)
                    .ok_or(Refusal::UnknownWindow(*target))?;
                if *target == window {
                    return Err(Refusal::Invalid(
                        "a ticket cannot be transferred to its own window".into(),
                    ));
                }
                (t.service.clone(), Some(*target))
            }
        };
        let queue_ms = if self.setup.policy().transfer_keeps_place {
            t.queue_ms
        } else {
            self.now.hall_ms
        };
        Ok(vec![Event::TicketTransferred {
            ticket: t.id,
            from_window: window,
            service,
            only_window,
            queue_ms,
        }])
    }

    fn requeue(&self, number: &str) -> Result<Vec<Event>, Refusal> {
        if !self.setup.policy().noshow_requeue {
            return Err(Refusal::RequeueOff);
        }
        let t = self.ticket(number)?;
        if t.state != TicketState::NoShow {
            return Err(Refusal::WrongState {
                number: t.number.clone(),
                state: t.state,
                action: "re-queue",
            });
        }
        if t.requeued {
            return Err(Refusal::AlreadyRequeued(t.number.clone()));
        }
        Ok(vec![Event::TicketRequeued {
            ticket: t.id,
            queue_ms: self.now.hall_ms,
        }])
    }

    fn rate(&self, number: &str, input: &RatingInput) -> Result<Vec<Event>, Refusal> {
        let t = self.ticket(number)?;
        if t.state != TicketState::Finished {
            return Err(Refusal::WrongState {
                number: t.number.clone(),
                state: t.state,
                action: "rate",
            });
        }
        if t.rating.is_some() {
            return Err(Refusal::AlreadyRated(t.number.clone()));
        }
        let request = t.rating_request.as_ref();
        let rating = match input {
            RatingInput::Rated {
                score,
                reasons,
                comment,
                channel,
                indicators,
                case_number,
            } => {
                let level = SatisfactionLevel::from_score(*score)
                    .ok_or_else(|| Refusal::Invalid(format!("a rating is 1 to 5, not {score}")))?;
                if let Some(unknown) = reasons.iter().find(|r| {
                    !self
                        .setup
                        .config
                        .rating_reasons
                        .iter()
                        .any(|k| k.code == **r)
                }) {
                    return Err(Refusal::Invalid(format!(
                        "unknown rating reason \"{unknown}\""
                    )));
                }
                if comment
                    .as_ref()
                    .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
                {
                    return Err(Refusal::Invalid(format!(
                        "a comment is at most {MAX_COMMENT_CHARS} characters"
                    )));
                }
                if let Some(shown) = case_number {
                    let shown =
                        CaseNumber::parse(shown).map_err(|e| Refusal::Invalid(e.to_string()))?;
                    if request.map(|r| &r.case_number) != Some(&shown) {
                        return Err(Refusal::CaseMismatch {
                            number: t.number.clone(),
                            case_number: shown.to_string(),
                        });
                    }
                }
                let mut reasons = reasons.clone();
                reasons.sort();
                reasons.dedup();
                Rating::Rated {
                    level,
                    reasons,
                    comment: comment.clone().filter(|c| !c.trim().is_empty()),
                    channel: *channel,
                    indicators: *indicators,
                }
            }
            RatingInput::Unrated { why } => Rating::Unrated { why: *why },
        };
        let visit = RatedVisit {
            window: t.window,
            staff: t.staff.clone(),
            service: t.service.clone(),
            item_code: self
                .setup
                .service(&t.service)
                .and_then(|s| s.item_code.clone()),
            case_number: request.map(|r| r.case_number.clone()),
            at_ms: self.now.hall_ms,
        };
        Ok(vec![Event::TicketRated {
            ticket: t.id,
            rating,
            visit: Some(visit),
        }])
    }

    /// The visit a rating request is for: the one named, which must have been served at `window`,
    /// or the window's latest finished visit still waiting for its rating.
    fn visit_to_rate(&self, window: u16, number: Option<&str>) -> Result<&Ticket, Refusal> {
        let Some(number) = number else {
            return self
                .state
                .tickets
                .values()
                .filter(|t| {
                    t.window == Some(window)
                        && t.state == TicketState::Finished
                        && t.rating.is_none()
                })
                .max_by_key(|t| (t.finished_ms, t.id))
                .ok_or(Refusal::NothingToRate(window));
        };
        let t = self.ticket(number)?;
        if t.window != Some(window) {
            return Err(Refusal::NotServedHere {
                number: t.number.clone(),
                window,
            });
        }
        if t.state != TicketState::Finished {
            return Err(Refusal::WrongState {
                number: t.number.clone(),
                state: t.state,
                action: "ask for a rating of",
            });
        }
        if t.rating.is_some() {
            return Err(Refusal::AlreadyRated(t.number.clone()));
        }
        Ok(t)
    }

    fn request_rating(
        &self,
        window: u16,
        case_number: &str,
        ticket: Option<&str>,
        kiosk: Option<&str>,
    ) -> Result<Vec<Event>, Refusal> {
        self.window(window)?;
        let case_number =
            CaseNumber::parse(case_number).map_err(|e| Refusal::Invalid(e.to_string()))?;
        let evaluator = match kiosk {
            None => Evaluator::Window,
            Some(name)
                if name.trim().is_empty() || name.chars().count() > MAX_EVALUATOR_NAME_CHARS =>
            {
                return Err(Refusal::Invalid(format!(
                    "a kiosk's name is 1 to {MAX_EVALUATOR_NAME_CHARS} characters"
                )));
            }
            Some(name) => Evaluator::Kiosk {
                name: name.to_string(),
            },
        };
        let t = self.visit_to_rate(window, ticket)?;
        let asked = RatingRequest {
            window,
            case_number,
            evaluator,
        };
        // Asked twice alike (a business system retrying without its command id) opens nothing new.
        if t.rating_request.as_ref() == Some(&asked) {
            return Ok(Vec::new());
        }
        let RatingRequest {
            window,
            case_number,
            evaluator,
        } = asked;
        Ok(vec![Event::RatingRequested {
            ticket: t.id,
            window,
            case_number,
            evaluator,
        }])
    }

    fn book(&self, booking: &Booking) -> Result<Vec<Event>, Refusal> {
        if booking.id.trim().is_empty() || booking.id.chars().count() > 64 {
            return Err(Refusal::Invalid(
                "a booking id must be 1 to 64 characters".into(),
            ));
        }
        if self.state.appointments.contains_key(&booking.id) {
            return Err(Refusal::DuplicateBooking(booking.id.clone()));
        }
        let slot = self.slot_of(booking)?;
        let card = CitizenCard {
            id_hash: booking.id_hash.clone(),
            masked_name: booking.masked_name.clone(),
            birth_date: None,
        };
        self.citizen_of(&card)?;
        Ok(vec![Event::AppointmentBooked {
            appointment: Appointment {
                id: booking.id.clone(),
                service: slot.service,
                business_day: booking.day,
                start_ms: slot.start_ms,
                end_ms: slot.end_ms,
                id_hash: Some(booking.id_hash.clone()),
                masked_name: Some(booking.masked_name.clone()),
                state: AppointmentState::Booked,
                ticket: None,
                version: booking.version,
            },
        }])
    }

    /// Moves a booking to the slot, day and service `booking` names. A change the hall has taken
    /// already (same or older version) records nothing, so a page pulled twice changes nothing. A
    /// citizen already checked in keeps their ticket: the booking is not moved under them.
    fn reschedule(&self, booking: &Booking) -> Result<Vec<Event>, Refusal> {
        let held = self
            .state
            .appointments
            .get(&booking.id)
            .ok_or_else(|| Refusal::UnknownBooking(booking.id.clone()))?;
        if booking.version <= held.version {
            return Ok(Vec::new());
        }
        if held.state != AppointmentState::Booked {
            return Err(Refusal::BookingClosed(booking.id.clone()));
        }
        if held.id_hash.as_deref() != Some(booking.id_hash.as_str()) {
            return Err(Refusal::Invalid(format!(
                "booking {} is another citizen's: a change moves a booking, it does not pass it on",
                booking.id
            )));
        }
        let slot = self.slot_of(booking)?;
        Ok(vec![Event::AppointmentRescheduled {
            appointment: booking.id.clone(),
            service: slot.service,
            business_day: booking.day,
            start_ms: slot.start_ms,
            end_ms: slot.end_ms,
            version: booking.version,
        }])
    }

    /// The booking's service and slot as the hall counts them, or why they cannot be.
    fn slot_of(&self, booking: &Booking) -> Result<BookedSlot, Refusal> {
        let config = self
            .setup
            .service(&booking.service)
            .ok_or_else(|| Refusal::UnknownService(booking.service.clone()))?;
        if booking.day < self.now.business_day {
            return Err(Refusal::Invalid(format!(
                "booking {} is for a past day",
                booking.id
            )));
        }
        let start =
            ClockTime::parse(&booking.start).map_err(|e| Refusal::Invalid(e.to_string()))?;
        let end = ClockTime::parse(&booking.end).map_err(|e| Refusal::Invalid(e.to_string()))?;
        if end <= start {
            return Err(Refusal::Invalid(format!(
                "booking {} ends before it starts",
                booking.id
            )));
        }
        let at = |t: ClockTime| {
            let local = booking
                .day
                .and_hms_opt(
                    t.minutes_since_midnight() / 60,
                    t.minutes_since_midnight() % 60,
                    0,
                )
                .expect("clock times are valid");
            day::instant_of(self.setup, local)
        };
        Ok(BookedSlot {
            service: config.code.clone(),
            start_ms: at(start),
            end_ms: at(end),
        })
    }
}

struct BookedSlot {
    service: String,
    start_ms: i64,
    end_ms: i64,
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::config::{PlatformConfig, StaleBookings};
    use crate::queue::event::{Recorded, StoredEvent};

    const HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn friday() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    fn setup(fallback: Option<StaleBookings>) -> HallSetup {
        let mut setup = crate::config::example();
        setup.config.platform = fallback.map(|f| {
            let mut platform = PlatformConfig::new("http://127.0.0.1:1", "k");
            platform.stale_bookings = f;
            platform
        });
        setup
    }

    /// The hall's time at `hh:mm` on Friday 2026-11-27.
    fn at(setup: &HallSetup, hh: u32, mm: u32) -> HallTime {
        let local = friday().and_hms_opt(hh, mm, 0).unwrap();
        HallTime {
            hall_ms: day::instant_of(setup, local),
            trusted: true,
            business_day: friday(),
            wall_clock_overruled: false,
            disagreement: None,
            time_of_day_known: true,
        }
    }

    fn drawn() -> Drawn {
        Drawn {
            status_token: "t".into(),
        }
    }

    /// Decides `command` and applies what it causes, as the engine would.
    fn run(
        setup: &HallSetup,
        state: &mut HallState,
        now: &HallTime,
        command: Command,
    ) -> Result<Vec<Event>, Refusal> {
        if let Some(opening) = day_opening(state, now) {
            apply(state, now, opening);
        }
        let events = decide(setup, state, now, &command, &drawn())?;
        for event in &events {
            apply(state, now, event.clone());
        }
        Ok(events)
    }

    fn apply(state: &mut HallState, now: &HallTime, event: Event) {
        state.apply_stored(&StoredEvent {
            seq: state.last_seq + 1,
            event_id: uuid::Uuid::nil(),
            hall_id: "hall".into(),
            command_id: None,
            recorded: Recorded {
                wall_ms: now.hall_ms,
                hall_ms: now.hall_ms,
                boot_id: "boot".into(),
                mono_ms: 0,
                clock_trusted: true,
                business_day: now.business_day,
            },
            event,
        });
    }

    fn booking(id: &str, service: &str, start: &str, end: &str, version: u32) -> Booking {
        Booking {
            id: id.into(),
            service: service.into(),
            day: friday(),
            start: start.into(),
            end: end.into(),
            id_hash: HASH.into(),
            masked_name: "张*三".into(),
            version,
        }
    }

    fn card() -> CitizenCard {
        CitizenCard {
            id_hash: HASH.into(),
            masked_name: "张*三".into(),
            birth_date: None,
        }
    }

    fn booked(setup: &HallSetup, now: &HallTime) -> HallState {
        let mut state = HallState::default();
        let book = Command::Book {
            booking: booking("B1", "SB", "10:00", "10:30", 1),
        };
        run(setup, &mut state, now, book).unwrap();
        state
    }

    #[test]
    fn a_rescheduled_booking_moves_and_checks_in_at_its_new_slot() {
        let setup = setup(None);
        let morning = at(&setup, 9, 0);
        let mut state = booked(&setup, &morning);
        let moved = Command::RescheduleBooking {
            booking: booking("B1", "CRJ", "16:00", "16:30", 2),
        };
        let events = run(&setup, &mut state, &morning, moved).unwrap();
        assert!(matches!(
            &events[..],
            [Event::AppointmentRescheduled { service, version: 2, .. }] if service == "CRJ"
        ));
        let a = &state.appointments["B1"];
        assert_eq!((a.service.as_str(), a.version), ("CRJ", 2));
        // The old slot no longer takes the citizen: it is early for the new one.
        let old_slot = at(&setup, 10, 0);
        let early = run(
            &setup,
            &mut state,
            &old_slot,
            Command::CheckIn { citizen: card() },
        );
        assert_eq!(
            early,
            Err(Refusal::TooEarly {
                slot: "16:00-16:30".into(),
                check_in_from: "15:30".into()
            })
        );
        let new_slot = at(&setup, 16, 5);
        let events = run(
            &setup,
            &mut state,
            &new_slot,
            Command::CheckIn { citizen: card() },
        )
        .unwrap();
        assert!(matches!(
            &events[0],
            Event::TicketIssued { service, channel: Channel::Appointment, .. } if service == "CRJ"
        ));
    }

    #[test]
    fn a_change_taken_already_records_nothing_the_second_time() {
        let setup = setup(None);
        let now = at(&setup, 9, 0);
        let mut state = booked(&setup, &now);
        let moved = Command::RescheduleBooking {
            booking: booking("B1", "SB", "11:00", "11:30", 2),
        };
        assert_eq!(
            run(&setup, &mut state, &now, moved.clone()).unwrap().len(),
            1
        );
        let before = state.clone();
        assert_eq!(run(&setup, &mut state, &now, moved).unwrap(), Vec::new());
        let older = Command::RescheduleBooking {
            booking: booking("B1", "SB", "10:00", "10:30", 1),
        };
        assert_eq!(run(&setup, &mut state, &now, older).unwrap(), Vec::new());
        assert_eq!(
            state.appointments, before.appointments,
            "never back to an older version"
        );
    }

    #[test]
    fn an_unknown_cancelled_or_checked_in_booking_is_not_moved() {
        let setup = setup(None);
        let now = at(&setup, 10, 0);
        let mut state = booked(&setup, &now);
        let unknown = Command::RescheduleBooking {
            booking: booking("B9", "SB", "11:00", "11:30", 2),
        };
        assert_eq!(
            run(&setup, &mut state, &now, unknown),
            Err(Refusal::UnknownBooking("B9".into()))
        );
        run(
            &setup,
            &mut state,
            &now,
            Command::CheckIn { citizen: card() },
        )
        .unwrap();
        let after_check_in = state.clone();
        let moved = Command::RescheduleBooking {
            booking: booking("B1", "SB", "15:00", "15:30", 2),
        };
        assert_eq!(
            run(&setup, &mut state, &now, moved),
            Err(Refusal::BookingClosed("B1".into()))
        );
        assert_eq!(
            state, after_check_in,
            "the checked-in citizen keeps their ticket"
        );

        let mut state = booked(&setup, &now);
        run(
            &setup,
            &mut state,
            &now,
            Command::CancelBooking { id: "B1".into() },
        )
        .unwrap();
        let moved = Command::RescheduleBooking {
            booking: booking("B1", "SB", "15:00", "15:30", 3),
        };
        assert_eq!(
            run(&setup, &mut state, &now, moved),
            Err(Refusal::BookingClosed("B1".into()))
        );
    }

    #[test]
    fn a_reschedule_to_a_past_day_an_unknown_service_or_another_citizen_is_refused() {
        let setup = setup(None);
        let now = at(&setup, 9, 0);
        let mut state = booked(&setup, &now);
        let mut past = booking("B1", "SB", "11:00", "11:30", 2);
        past.day = friday().pred_opt().unwrap();
        let mut other = booking("B1", "SB", "11:00", "11:30", 2);
        other.id_hash = "f".repeat(64);
        for (changed, code) in [
            (past, "invalid"),
            (
                booking("B1", "NOPE", "11:00", "11:30", 2),
                "unknown_service",
            ),
            (booking("B1", "SB", "11:30", "11:00", 2), "invalid"),
            (other, "invalid"),
        ] {
            let before = state.clone();
            let refusal = run(
                &setup,
                &mut state,
                &now,
                Command::RescheduleBooking { booking: changed },
            )
            .unwrap_err();
            assert_eq!(refusal.code(), code, "{refusal}");
            assert_eq!(state, before);
        }
    }

    #[test]
    fn staleness_is_recorded_once_each_way() {
        let setup = setup(Some(StaleBookings::WalkIn));
        let now = at(&setup, 9, 0);
        let mut state = HallState::default();
        let stale = |stale| Command::MarkBookings {
            stale,
            last_pull_ms: Some(1),
        };
        assert_eq!(
            run(&setup, &mut state, &now, stale(false)).unwrap(),
            Vec::new()
        );
        assert_eq!(
            run(&setup, &mut state, &now, stale(true)).unwrap(),
            vec![Event::BookingsWentStale {
                last_pull_ms: Some(1)
            }]
        );
        assert!(state.bookings_stale);
        assert_eq!(
            run(&setup, &mut state, &now, stale(true)).unwrap(),
            Vec::new()
        );
        assert_eq!(
            run(&setup, &mut state, &now, stale(false)).unwrap(),
            vec![Event::BookingsCurrent]
        );
        assert!(!state.bookings_stale);
    }

    fn issue(card: Option<CitizenCard>, by_staff: bool) -> Command {
        Command::IssueTicket {
            service: "CRJ".into(),
            citizen: card,
            by_staff,
        }
    }

    #[test]
    fn while_stale_with_walk_in_an_appointment_only_service_gives_a_card_a_walk_in_ticket() {
        let setup = setup(Some(StaleBookings::WalkIn));
        let now = at(&setup, 10, 0);
        let mut state = HallState::default();
        assert_eq!(
            run(&setup, &mut state, &now, issue(Some(card()), false)),
            Err(Refusal::AppointmentOnly("CRJ".into())),
            "a current list: by appointment only"
        );
        let mark = Command::MarkBookings {
            stale: true,
            last_pull_ms: None,
        };
        run(&setup, &mut state, &now, mark).unwrap();
        assert_eq!(
            run(&setup, &mut state, &now, issue(None, false)),
            Err(Refusal::AppointmentOnly("CRJ".into())),
            "without a card there is no one whose booking may be missing"
        );
        let events = run(&setup, &mut state, &now, issue(Some(card()), false)).unwrap();
        assert!(matches!(
            &events[..],
            [Event::TicketIssued {
                channel: Channel::Kiosk,
                appointment: None,
                ..
            }]
        ));
        let mut other = card();
        other.id_hash = "e".repeat(64);
        assert_eq!(
            run(
                &setup,
                &mut state,
                &now,
                Command::CheckIn { citizen: other }
            ),
            Err(Refusal::NoBooking),
            "the kiosk then offers the services"
        );
    }

    #[test]
    fn while_stale_with_staff_check_in_the_kiosk_sends_the_citizen_to_a_window() {
        let setup = setup(Some(StaleBookings::StaffCheckIn));
        let now = at(&setup, 10, 0);
        let mut state = HallState::default();
        let mark = Command::MarkBookings {
            stale: true,
            last_pull_ms: None,
        };
        run(&setup, &mut state, &now, mark).unwrap();
        assert_eq!(
            run(
                &setup,
                &mut state,
                &now,
                Command::CheckIn { citizen: card() }
            ),
            Err(Refusal::BookingsStaleAskStaff)
        );
        assert_eq!(
            run(&setup, &mut state, &now, issue(Some(card()), false)),
            Err(Refusal::BookingsStaleAskStaff)
        );
        let events = run(&setup, &mut state, &now, issue(Some(card()), true)).unwrap();
        assert!(matches!(
            &events[..],
            [Event::TicketIssued {
                channel: Channel::Staff,
                ..
            }]
        ));
        let current = Command::MarkBookings {
            stale: false,
            last_pull_ms: None,
        };
        run(&setup, &mut state, &now, current).unwrap();
        assert_eq!(
            run(&setup, &mut state, &now, issue(Some(card()), true)),
            Err(Refusal::AppointmentOnly("CRJ".into())),
            "a current list: by appointment only again"
        );
    }
}
