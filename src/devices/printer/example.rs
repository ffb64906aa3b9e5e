//! The example hall's ticket, printed by the bench, the simulators' tests and the ticket layout tests.

use chrono::{NaiveDate, NaiveTime};

use super::ticket::{AppointmentSlot, TicketPrint};
use crate::config::printer::TicketTextConfig;
use crate::config::{Lang, localized};

/// The example hall's ticket: an appointment holder for its first service (社会保障, A012).
pub fn example_ticket() -> TicketPrint {
    let hall = crate::config::example().config;
    let service = hall
        .services
        .first()
        .expect("the example hall has services");
    let day = NaiveDate::from_ymd_opt(2026, 11, 27).expect("valid date");
    let number = format!("{}012", service.prefix);
    TicketPrint {
        hall_name: localized(&hall.hall.name, Lang::Zh).to_owned(),
        service_name: localized(&service.name, Lang::Zh).to_owned(),
        status_url: TicketTextConfig::default()
            .status_url(&format!("20261127-{number}-k7q2"), Lang::Zh),
        number,
        people_ahead: 7,
        issued_at: day.and_hms_opt(9, 41, 5).expect("valid time"),
        appointment: Some(AppointmentSlot {
            start: NaiveTime::from_hms_opt(9, 30, 0).expect("valid time"),
            end: NaiveTime::from_hms_opt(10, 0, 0).expect("valid time"),
        }),
        language: Lang::Zh,
    }
}
