//! Bookings as the platform sends them down: a page of the hall's booking changes after a cursor.
//!
//! Each add, change or cancellation of a booking takes the hall's next change sequence at the
//! platform, and the booking keeps only its latest; a hall that asks for the changes after the last
//! sequence it took gets every booking that changed since, each once, in its latest form. A booking
//! names its citizen by the keyed ID hash and the masked name only (docs/platform.md, "Bookings
//! down").

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where the hall asks for its bookings, relative to the platform's base URL:
/// `GET /v1/bookings?after=<change sequence>&limit=<changes>`, signed like a batch of events with
/// the path and query as the signed path and an empty body.
pub const BOOKINGS_PATH: &str = "/v1/bookings";

/// The most changes one page holds; a hall asking for more gets this many.
pub const MAX_BOOKINGS_PAGE: usize = 500;

/// One page of the hall's booking changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingPage {
    pub hall_id: String,
    /// In change-sequence order, every one after the request's `after`.
    pub changes: Vec<BookingChange>,
    /// The cursor for the next request: the last change's sequence, or `after` for an empty page.
    pub next_after: u64,
    /// More changes wait after this page.
    pub more: bool,
    /// The platform's clock, ms since the Unix epoch, as in an acknowledgement of events.
    pub platform_time_ms: i64,
}

/// A booking as it stands after its latest change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingChange {
    /// The hall's change sequence at the platform, from 1, rising through the page.
    pub change_seq: u64,
    pub id: String,
    /// The booking's own change count: 1 when made, one more at each change or cancellation.
    pub version: u32,
    pub status: BookingStatus,
    pub service: String,
    pub day: NaiveDate,
    /// Slot start and end in the hall's local time, `HH:MM`.
    pub start: String,
    pub end: String,
    /// The keyed hash of the citizen's ID number (64 lower-case hex digits), never the number.
    pub id_hash: String,
    /// E.g. 张*三.
    pub masked_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Booked,
    Cancelled,
}

impl BookingPage {
    /// What makes this page unusable for a request of hall `hall_id` after `after` for at most
    /// `limit` changes, if anything does. A page that fails here is dropped whole.
    pub fn problem(&self, hall_id: &str, after: u64, limit: usize) -> Option<String> {
        if self.hall_id != hall_id {
            return Some(format!(
                "the page is for hall {}, not {hall_id}",
                self.hall_id
            ));
        }
        if self.changes.len() > limit {
            return Some(format!(
                "{} changes where at most {limit} were asked for",
                self.changes.len()
            ));
        }
        let mut last = after;
        for change in &self.changes {
            if change.change_seq <= last {
                return Some(format!(
                    "change {} does not come after {last}",
                    change.change_seq
                ));
            }
            last = change.change_seq;
            if change.version == 0 {
                return Some(format!("booking {} has version 0", change.id));
            }
            if !crate::identity::is_id_hash(&change.id_hash) {
                return Some(format!(
                    "booking {} does not carry a keyed ID hash",
                    change.id
                ));
            }
            if !crate::identity::is_masked_name(&change.masked_name) {
                return Some(format!("booking {} carries an unmasked name", change.id));
            }
        }
        if self.next_after != last {
            return Some(format!(
                "next_after is {}, but the page ends at {last}",
                self.next_after
            ));
        }
        if self.more && self.changes.is_empty() {
            return Some("an empty page says more changes wait".into());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(seq: u64) -> BookingChange {
        BookingChange {
            change_seq: seq,
            id: format!("B{seq}"),
            version: 1,
            status: BookingStatus::Booked,
            service: "SB".into(),
            day: NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
            start: "09:00".into(),
            end: "09:30".into(),
            id_hash: "ab".repeat(32),
            masked_name: "张*三".into(),
        }
    }

    fn page(changes: Vec<BookingChange>, next_after: u64) -> BookingPage {
        BookingPage {
            hall_id: "hall-1".into(),
            changes,
            next_after,
            more: false,
            platform_time_ms: 0,
        }
    }

    #[test]
    fn a_page_in_order_after_the_cursor_is_taken() {
        assert_eq!(
            page(vec![change(4), change(7)], 7).problem("hall-1", 3, 10),
            None
        );
        assert_eq!(page(Vec::new(), 3).problem("hall-1", 3, 10), None);
    }

    #[test]
    fn a_page_out_of_order_for_another_hall_or_with_personal_data_is_dropped() {
        let mut unmasked = change(4);
        unmasked.masked_name = "张三丰".into();
        let mut number = change(4);
        number.id_hash = "11010519491231002X".into();
        for (bad, words) in [
            (page(vec![change(3)], 3), "does not come after"),
            (page(vec![change(5), change(4)], 4), "does not come after"),
            (page(vec![change(4)], 9), "next_after"),
            (page(vec![unmasked], 4), "unmasked"),
            (page(vec![number], 4), "keyed ID hash"),
            (page(vec![change(4), change(5)], 5), "at most 1"),
        ] {
            let limit = if words == "at most 1" { 1 } else { 10 };
            let problem = bad.problem("hall-1", 3, limit).expect(words);
            assert!(problem.contains(words), "{problem}");
        }
        let mut other = page(Vec::new(), 3);
        other.hall_id = "hall-2".into();
        assert!(other.problem("hall-1", 3, 10).is_some());
    }
}
