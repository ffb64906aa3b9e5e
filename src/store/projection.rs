//! Keeping the state tables in step with the event log, inside the batch that appends the event.

use super::batch::Batch;
use super::error::StoreError;
use crate::queue::state::closed_at_day_end;
use crate::queue::{Event, HallState};

/// Rows to write before `event` is applied to `state`: the day's tickets in their final form, since
/// opening a new business day drops them from the live state.
pub fn project_before(batch: &Batch, state: &HallState, event: &Event) -> Result<(), StoreError> {
    if let Event::BusinessDayOpened { .. } = event {
        for ticket in state.tickets.values() {
            let closed = closed_at_day_end(ticket);
            if closed != *ticket {
                batch.write_ticket(&closed)?;
            }
        }
    }
    Ok(())
}

/// Rows `event` changed, written from `state` after the event was applied.
pub fn project_after(batch: &Batch, event: &Event, state: &HallState) -> Result<(), StoreError> {
    if let Event::BusinessDayOpened { day, .. } = event {
        for window in state.windows.values() {
            batch.write_window(window)?;
        }
        // Yesterday's results stay, so a terminal retrying across the day boundary still gets its answer.
        batch.forget_commands_before(*day - chrono::Days::new(1))?;
        return batch.drop_appointments_before(*day);
    }
    let (tickets, windows) = HallState::touched(event);
    for id in tickets {
        if let Some(ticket) = state.tickets.get(&id) {
            batch.write_ticket(ticket)?;
        }
    }
    for number in windows {
        if let Some(window) = state.windows.get(&number) {
            batch.write_window(window)?;
        }
    }
    match event {
        Event::AppointmentBooked { appointment } => batch.write_appointment(appointment),
        Event::AppointmentCheckedIn { appointment, .. }
        | Event::AppointmentCancelled { appointment }
        | Event::AppointmentRescheduled { appointment, .. } => {
            match state.appointments.get(appointment) {
                Some(a) => batch.write_appointment(a),
                None => Ok(()),
            }
        }
        Event::DeviceFaulted { device, fault } => batch.write_fault(device, Some(fault)),
        Event::DeviceRecovered { device } => batch.write_fault(device, None),
        _ => Ok(()),
    }
}
