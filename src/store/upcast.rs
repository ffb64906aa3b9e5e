//! Reading events stored in an older shape.
//!
//! Each event kind has its own version, stored beside its payload in the `event_version` column. When a
//! kind's shape changes, its version goes up by one step written here: a function from the JSON at
//! one version to the JSON at the next. Every read of the log goes through [`read_event`], which runs
//! a stored payload through the steps up to today's version before serde sees it, so the domain type
//! has one shape only and old rows need no rewrite (the log is append-only).
//!
//! The version is a column rather than a field in the payload: the payload stays exactly what serde
//! writes for the domain event, the version is known without parsing it, and the migration that
//! introduced versions gave every row already stored version 1 without touching the rows.

use serde_json::Value;

use super::error::StoreError;
use super::lean;
use crate::queue::{Event, Recorded, StoredEvent};

pub use super::lean::EVENT_COLUMNS;

/// A row of [`EVENT_COLUMNS`] as today's [`StoredEvent`].
pub fn stored_event_from_row(r: &rusqlite::Row) -> Result<StoredEvent, StoreError> {
    let seq = r.get::<_, i64>(0)? as u64;
    let event_id: Vec<u8> = r.get(1)?;
    let kind: String = r.get(11)?;
    let payload = lean::unpack(r.get_ref(4)?, || format!("event {seq}"))?;
    Ok(StoredEvent {
        seq,
        event_id: lean::event_id_of(seq, &event_id)?,
        hall_id: r.get(2)?,
        command_id: lean::command_id_of(r.get_ref(3)?, || format!("event {seq}"))?,
        recorded: Recorded {
            wall_ms: r.get(5)?,
            hall_ms: r.get(6)?,
            boot_id: r.get(7)?,
            mono_ms: r.get(8)?,
            clock_trusted: r.get(9)?,
            business_day: lean::day_of(r.get(10)?, || format!("event {seq}"))?,
        },
        event: read_event(seq, &kind, r.get(12)?, &payload)?,
    })
}

/// One step in the life of a kind's stored shape: JSON of `kind` at version `from` in, JSON at
/// version `from + 1` out.
struct Upcaster {
    kind: &'static str,
    from: u32,
    step: fn(Value) -> Result<Value, String>,
}

/// Every shape change, oldest first within a kind. A kind with no entry is at version 1.
const UPCASTERS: &[Upcaster] = &[Upcaster {
    kind: "ticket_print_failed",
    from: 1,
    step: print_failure_detail_optional,
}];

/// ticket_print_failed 1 → 2: `detail` became optional, as it is in the kiosk's report. Version 1
/// recorded a report without a detail as an empty text, which the trail could not tell from a printer
/// that said nothing; an empty detail now reads as none.
fn print_failure_detail_optional(mut json: Value) -> Result<Value, String> {
    let event = json.as_object_mut().ok_or("not a JSON object")?;
    match event.get("detail") {
        Some(Value::String(detail)) if detail.is_empty() => {
            event.remove("detail");
        }
        Some(Value::String(_)) => {}
        other => return Err(format!("`detail` is not a text: {other:?}")),
    }
    Ok(json)
}

/// The version events of `kind` are written at today.
pub fn current_version(kind: &str) -> u32 {
    version_after(UPCASTERS, kind)
}

/// The event stored at `seq` as `kind` in the shape of `version`, read as today's [`Event`].
pub fn read_event(seq: u64, kind: &str, version: u32, payload: &str) -> Result<Event, StoreError> {
    read_through(UPCASTERS, seq, kind, version, payload)
}

fn version_after(upcasters: &[Upcaster], kind: &str) -> u32 {
    1 + upcasters.iter().filter(|u| u.kind == kind).count() as u32
}

fn read_through(
    upcasters: &[Upcaster],
    seq: u64,
    kind: &str,
    version: u32,
    payload: &str,
) -> Result<Event, StoreError> {
    let current = version_after(upcasters, kind);
    let corrupt =
        |why: String| StoreError::Corrupt(format!("event {seq} ({kind} v{version}): {why}"));
    if version > current {
        return Err(StoreError::EventTooNew {
            seq,
            kind: kind.to_string(),
            found: version,
            supported: current,
        });
    }
    if version == 0 {
        return Err(corrupt("versions start at 1".into()));
    }
    let event: Event = if version == current {
        serde_json::from_str(payload).map_err(|e| corrupt(e.to_string()))?
    } else {
        let mut json: Value = serde_json::from_str(payload).map_err(|e| corrupt(e.to_string()))?;
        for from in version..current {
            let upcaster = upcasters
                .iter()
                .find(|u| u.kind == kind && u.from == from)
                .ok_or_else(|| corrupt(format!("no step from version {from}")))?;
            json = (upcaster.step)(json).map_err(corrupt)?;
        }
        serde_json::from_value(json).map_err(|e| corrupt(e.to_string()))?
    };
    if event.kind() != kind {
        return Err(corrupt(format!("its payload is a {}", event.kind())));
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use strum::VariantNames;

    use super::*;

    #[test]
    fn every_kind_steps_from_version_1_without_a_gap() {
        for kind in Event::VARIANTS {
            let froms: Vec<u32> = UPCASTERS
                .iter()
                .filter(|u| u.kind == *kind)
                .map(|u| u.from)
                .collect();
            let expected: Vec<u32> = (1..current_version(kind)).collect();
            assert_eq!(froms, expected, "{kind}");
        }
        for upcaster in UPCASTERS {
            assert!(
                Event::VARIANTS.contains(&upcaster.kind),
                "{} is no event kind",
                upcaster.kind
            );
        }
    }

    #[test]
    fn every_event_written_today_reads_back_as_itself() {
        for event in crate::queue::event::tests::one_of_each() {
            let json = serde_json::to_string(&event).unwrap();
            let back = read_event(1, event.kind(), current_version(event.kind()), &json).unwrap();
            assert_eq!(back, event);
        }
    }

    #[test]
    fn a_print_failure_of_version_1_without_detail_reads_as_no_detail() {
        let read = |detail: &str| {
            let json = format!(r#"{{"type":"ticket_print_failed","ticket":7,"detail":{detail}}}"#);
            read_event(3, "ticket_print_failed", 1, &json)
        };
        assert_eq!(
            read(r#""""#).unwrap(),
            Event::TicketPrintFailed {
                ticket: 7,
                detail: None
            }
        );
        assert_eq!(
            read(r#""paper jam""#).unwrap(),
            Event::TicketPrintFailed {
                ticket: 7,
                detail: Some("paper jam".into())
            }
        );
        let err = read("5").unwrap_err().to_string();
        assert!(
            err.contains("event 3 (ticket_print_failed v1): `detail` is not a text"),
            "{err}"
        );
    }

    /// ticket_printed as it might have lived: v1 named the ticket `id`, v2 `ticket_id`, v3 `ticket`.
    fn renamed(mut json: Value, from: &str, to: &str) -> Result<Value, String> {
        let event = json.as_object_mut().ok_or("not a JSON object")?;
        let value = event.remove(from).ok_or(format!("no `{from}`"))?;
        event.insert(to.into(), value);
        Ok(json)
    }
    fn id_to_ticket_id(json: Value) -> Result<Value, String> {
        renamed(json, "id", "ticket_id")
    }
    fn ticket_id_to_ticket(json: Value) -> Result<Value, String> {
        renamed(json, "ticket_id", "ticket")
    }
    fn never(_: Value) -> Result<Value, String> {
        Err("the step of another kind ran".into())
    }
    /// Out of order on purpose: steps are found by kind and version, not by place.
    const A_LONGER_HISTORY: &[Upcaster] = &[
        Upcaster {
            kind: "window_paused",
            from: 1,
            step: never,
        },
        Upcaster {
            kind: "ticket_printed",
            from: 2,
            step: ticket_id_to_ticket,
        },
        Upcaster {
            kind: "ticket_printed",
            from: 1,
            step: id_to_ticket_id,
        },
    ];

    #[test]
    fn an_event_two_versions_old_goes_through_both_steps_in_order() {
        let read = |version, payload| {
            read_through(A_LONGER_HISTORY, 5, "ticket_printed", version, payload)
        };
        let today = Event::TicketPrinted { ticket: 8 };
        assert_eq!(version_after(A_LONGER_HISTORY, "ticket_printed"), 3);
        assert_eq!(
            read(1, r#"{"type":"ticket_printed","id":8}"#).unwrap(),
            today
        );
        assert_eq!(
            read(2, r#"{"type":"ticket_printed","ticket_id":8}"#).unwrap(),
            today
        );
        assert_eq!(
            read(3, r#"{"type":"ticket_printed","ticket":8}"#).unwrap(),
            today
        );
        let err = read(1, r#"{"type":"ticket_printed","ticket":8}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "corrupt record in the store: event 5 (ticket_printed v1): no `id`"
        );
        let err = read(4, r#"{"type":"ticket_printed","ticket":8}"#).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::EventTooNew {
                    found: 4,
                    supported: 3,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_version_newer_than_this_hallq_is_refused_by_name() {
        let err = read_event(
            9,
            "ticket_printed",
            2,
            r#"{"type":"ticket_printed","ticket":1}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "event 9 (ticket_printed) is stored at version 2, newer than this hallq reads (1)"
        );
    }

    #[test]
    fn a_payload_of_another_kind_than_its_row_says_is_corrupt() {
        let err = read_event(
            4,
            "ticket_printed",
            1,
            r#"{"type":"window_paused","window":1}"#,
        )
        .unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
        let err = read_event(
            4,
            "ticket_printed",
            0,
            r#"{"type":"ticket_printed","ticket":1}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("versions start at 1"), "{err}");
    }
}
