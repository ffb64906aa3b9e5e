//! A card laid on the kiosk's reader, as the hall node answers it. The kiosk sends what the reader
//! decoded; the hall node alone hashes the number, decides whether the card takes a ticket for the
//! service the kiosk waits for or checks in a booking, and says what happened in words the kiosk
//! can show without knowing whose card it was.

use serde::{Deserialize, Serialize};

use super::command::Command;
use super::day;
use super::state::HallState;
use super::ticket::{Appointment, AppointmentState, CitizenCard};
use crate::config::HallSetup;
use crate::identity::{CardRead, HallKey};

/// One card tap at a kiosk.
#[derive(Debug, Clone)]
pub struct CardTap {
    /// The number and name as the reader decoded them; dropped (and wiped) once hashed.
    pub card: CardRead,
    /// The service the kiosk waits for a card for, or `None` for a booking's check-in.
    pub service: Option<String>,
    /// The card's validity ended before today (by the kiosk's clock).
    pub expired: bool,
}

/// What the hall keeps of a card: its number hashed with the hall key, its name masked.
pub fn citizen_card(card: &CardRead, key: &HallKey) -> CitizenCard {
    CitizenCard {
        id_hash: card.id_hash(key),
        masked_name: card.masked_name(),
        birth_date: card.birth_date,
    }
}

/// The command a tap stands for: a ticket for the service waited for, or else a check-in.
pub fn command_for(service: Option<&str>, card: CitizenCard) -> Command {
    match service {
        Some(service) => Command::IssueTicket {
            service: service.to_string(),
            citizen: Some(card),
            by_staff: false,
        },
        None => Command::CheckIn { citizen: card },
    }
}

/// A booked slot as a citizen reads it, with the times check-in opens and closes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotWords {
    pub slot: String,
    pub check_in_from: String,
    pub check_in_until: String,
}

/// What a kiosk needs to word a tap's refusal, found on the hall node from the card's hash.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TapDetail {
    /// The service the refusal concerns: the one waited for, or the booking's.
    pub service: Option<String>,
    /// The number of the open ticket the card already holds for that service.
    pub held_ticket: Option<String>,
    /// The card's earliest open booking, for an early or late check-in.
    pub slot: Option<SlotWords>,
}

/// The earliest open booking of `id_hash`, in words; `None` when the card has none.
pub fn booking_of(setup: &HallSetup, state: &HallState, id_hash: &str) -> Option<SlotWords> {
    let booking = earliest_booking(state, id_hash)?;
    let hm = |ms: i64| day::local_time(setup, ms).format("%H:%M").to_string();
    let policy = setup.policy();
    Some(SlotWords {
        slot: format!("{}–{}", hm(booking.start_ms), hm(booking.end_ms)),
        check_in_from: hm(booking.start_ms - i64::from(policy.checkin_before_minutes) * 60_000),
        check_in_until: hm(booking.start_ms + i64::from(policy.checkin_after_minutes) * 60_000),
    })
}

fn earliest_booking<'a>(state: &'a HallState, id_hash: &str) -> Option<&'a Appointment> {
    state
        .appointments
        .values()
        .filter(|a| a.state == AppointmentState::Booked && a.id_hash.as_deref() == Some(id_hash))
        .min_by_key(|a| a.start_ms)
}

/// The service an expired card is meant for, when that service does not take one: the one waited
/// for, or else the service of the card's booking.
pub fn service_refusing_expired(
    setup: &HallSetup,
    state: &HallState,
    waiting_for: Option<&str>,
    id_hash: &str,
) -> Option<String> {
    let service = match waiting_for {
        Some(service) => service.to_string(),
        None => earliest_booking(state, id_hash)?.service.clone(),
    };
    let accepts = setup
        .service(&service)
        .is_none_or(|s| s.accepts_expired_id_card);
    (!accepts).then_some(service)
}

/// What the kiosk needs to word the refusal `code` of a tap for `service` by `id_hash`.
pub fn tap_detail(
    setup: &HallSetup,
    state: &HallState,
    code: &str,
    service: Option<&str>,
    id_hash: &str,
) -> TapDetail {
    let held_ticket = (code == "already_holds_ticket")
        .then(|| {
            state.tickets.values().find(|t| {
                t.state.is_open()
                    && Some(t.service.as_str()) == service
                    && t.citizen.as_ref().is_some_and(|c| c.id_hash == id_hash)
            })
        })
        .flatten()
        .map(|t| t.number.clone());
    let slot = matches!(code, "too_early" | "too_late")
        .then(|| booking_of(setup, state, id_hash))
        .flatten();
    TapDetail {
        service: service.map(str::to_string),
        held_ticket,
        slot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booking_words_give_the_check_in_window() {
        let setup = crate::config::example();
        let start = day::instant_of(
            &setup,
            chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
                .unwrap()
                .and_hms_opt(10, 0, 0)
                .unwrap(),
        );
        let mut state = HallState::default();
        state.appointments.insert(
            "b1".into(),
            Appointment {
                id: "b1".into(),
                service: "CRJ".into(),
                business_day: chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
                start_ms: start,
                end_ms: start + 30 * 60_000,
                id_hash: Some("h1".into()),
                masked_name: Some("张*三".into()),
                state: AppointmentState::Booked,
                ticket: None,
                version: 1,
            },
        );
        let words = booking_of(&setup, &state, "h1").unwrap();
        assert_eq!(words.slot, "10:00–10:30");
        assert_eq!(words.check_in_from, "09:30");
        assert_eq!(words.check_in_until, "10:15");
        assert_eq!(booking_of(&setup, &state, "other"), None);
        let detail = tap_detail(&setup, &state, "too_late", None, "h1");
        assert_eq!(detail.slot, Some(words));
        assert_eq!(
            tap_detail(&setup, &state, "no_booking", None, "h1").slot,
            None
        );
    }

    #[test]
    fn only_a_service_that_says_so_refuses_an_expired_card() {
        let mut setup = crate::config::example();
        let state = HallState::default();
        assert_eq!(
            service_refusing_expired(&setup, &state, Some("HJ"), "h"),
            None
        );
        for service in &mut setup.config.services {
            service.accepts_expired_id_card = false;
        }
        assert_eq!(
            service_refusing_expired(&setup, &state, Some("HJ"), "h"),
            Some("HJ".into())
        );
        assert_eq!(service_refusing_expired(&setup, &state, None, "h"), None);
    }
}
