//! `/metrics` in the Prometheus text format, and `/healthz`.
//!
//! Queue figures are computed from the live state on each scrape (a scrape every few seconds costs one
//! state copy); LAN figures are counters kept as requests pass.

use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

pub use super::counters::{LanMetrics, OpenStream};
use super::shared::Hall;
use super::wire::Health;
use crate::queue::{HallState, TicketState};

/// Prometheus metrics.
///
/// hallq_tickets{state}, hallq_tickets_issued{service}, hallq_longest_wait_seconds{service},
/// hallq_wait_to_call_seconds (summary), hallq_device_faults, hallq_device_fault{device,code},
/// hallq_event_seq, hallq_sync_lag_events, hallq_lan_commands_total{result},
/// hallq_lan_auth_failures_total, hallq_lan_push_streams, hallq_lan_push_refills_total,
/// hallq_lan_connections, hallq_lan_connections_closed_for_room_total,
/// hallq_lan_paired_terminals.
#[utoipa::path(
    get,
    path = "/metrics",
    security(()),
    responses(
        (status = 200, description = "Text exposition format 0.0.4.", content_type = "text/plain", body = String),
        (status = 503, description = "The engine has stopped.", content_type = "text/plain", body = String),
    )
)]
pub async fn metrics(State(hall): State<Hall>) -> Response {
    let Ok(state) = hall.engine.state().await else {
        return (StatusCode::SERVICE_UNAVAILABLE, "the engine has stopped\n").into_response();
    };
    let registry = hall.registry.clone();
    let paired = tokio::task::spawn_blocking(move || registry.paired_count())
        .await
        .unwrap_or(0);
    let now_ms = chrono::Utc::now().timestamp_millis();
    let text = render(&hall, &state, paired, now_ms);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A metric with one value and no labels.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// Longest label value shown: a device names its own faults, at any length, and a scrape must stay
/// small.
const MAX_LABEL_CHARS: usize = 120;

/// Label values are service codes, device names and fault codes from the config and devices: cut to
/// [`MAX_LABEL_CHARS`] and escaped, so neither a long text nor a stray quote breaks the scrape.
fn label(value: &str) -> String {
    let shown = match value.char_indices().nth(MAX_LABEL_CHARS) {
        Some((cut, _)) => &value[..cut],
        None => value,
    };
    shown
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn render(hall: &Hall, state: &HallState, paired: u64, now_ms: i64) -> String {
    let mut out = String::new();
    let setup = hall.engine.setup();

    family(
        &mut out,
        "hallq_tickets",
        "gauge",
        "Tickets of the business day by state.",
    );
    for (name, ticket_state) in [
        ("waiting", TicketState::Waiting),
        ("called", TicketState::Called),
        ("serving", TicketState::Serving),
        ("finished", TicketState::Finished),
        ("no_show", TicketState::NoShow),
    ] {
        let n = state
            .tickets
            .values()
            .filter(|t| t.state == ticket_state)
            .count();
        let _ = writeln!(out, "hallq_tickets{{state=\"{name}\"}} {n}");
    }

    family(
        &mut out,
        "hallq_tickets_issued",
        "gauge",
        "Tickets issued in the business day, by service.",
    );
    for service in &setup.config.services {
        let n = state
            .tickets
            .values()
            .filter(|t| t.service == service.code)
            .count();
        let _ = writeln!(
            out,
            "hallq_tickets_issued{{service=\"{}\"}} {n}",
            label(&service.code)
        );
    }

    family(
        &mut out,
        "hallq_longest_wait_seconds",
        "gauge",
        "How long the longest-waiting ticket of each service has waited.",
    );
    for service in &setup.config.services {
        let longest = state
            .tickets
            .values()
            .filter(|t| t.service == service.code && t.state == TicketState::Waiting)
            .map(|t| (now_ms - t.queue_ms).max(0))
            .max()
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "hallq_longest_wait_seconds{{service=\"{}\"}} {:.3}",
            label(&service.code),
            longest as f64 / 1000.0
        );
    }

    let waits: Vec<i64> = state
        .tickets
        .values()
        .filter_map(|t| Some(t.first_called_ms? - t.issued_ms))
        .collect();
    family(
        &mut out,
        "hallq_wait_to_call_seconds",
        "summary",
        "Time from issue to first call, over the business day's called tickets.",
    );
    let _ = writeln!(
        out,
        "hallq_wait_to_call_seconds_sum {:.3}\nhallq_wait_to_call_seconds_count {}",
        waits.iter().sum::<i64>() as f64 / 1000.0,
        waits.len()
    );

    single(
        &mut out,
        "hallq_device_faults",
        "gauge",
        "Devices currently in fault.",
        state.faults.len(),
    );
    family(
        &mut out,
        "hallq_device_fault",
        "gauge",
        "1 for each device in fault, with its fault code.",
    );
    for (device, fault) in &state.faults {
        let _ = writeln!(
            out,
            "hallq_device_fault{{device=\"{}\",code=\"{}\"}} 1",
            label(device),
            label(&fault.code)
        );
    }

    single(
        &mut out,
        "hallq_idcard_unreadable_total",
        "counter",
        "ID cards placed on this node's reader that could not be read, once per placement.",
        crate::ports::CARD_COUNTERS
            .unreadable
            .load(Ordering::Relaxed),
    );

    single(
        &mut out,
        "hallq_event_seq",
        "counter",
        "The last sequence of the event log.",
        state.last_seq,
    );
    let platform = crate::ports::PLATFORM_SYNC.get();
    let acked = match platform {
        Some(sync) => sync.acked_seq.load(Ordering::Relaxed),
        None => hall.metrics.sync_acked_seq.load(Ordering::Relaxed),
    };
    single(
        &mut out,
        "hallq_sync_lag_events",
        "gauge",
        "Events recorded but not yet acknowledged by the platform.",
        state.last_seq.saturating_sub(acked),
    );
    if let Some(sync) = platform {
        render_platform(&mut out, sync, state.last_seq, now_ms);
    }

    let m = &hall.metrics;
    family(
        &mut out,
        "hallq_lan_commands_total",
        "counter",
        "Commands received over the LAN.",
    );
    let _ = writeln!(
        out,
        "hallq_lan_commands_total{{result=\"done\"}} {}\nhallq_lan_commands_total{{result=\"refused\"}} {}",
        m.commands_done.load(Ordering::Relaxed),
        m.commands_refused.load(Ordering::Relaxed)
    );
    single(
        &mut out,
        "hallq_lan_auth_failures_total",
        "counter",
        "Requests refused for a missing or unknown token, a wrong role or a bad pairing code.",
        m.auth_failures.load(Ordering::Relaxed),
    );
    single(
        &mut out,
        "hallq_lan_push_streams",
        "gauge",
        "Terminals following the event stream.",
        m.push_streams.load(Ordering::Relaxed),
    );
    single(
        &mut out,
        "hallq_lan_push_refills_total",
        "counter",
        "Times a push stream fell behind the live events and caught up from the store.",
        m.push_refills.load(Ordering::Relaxed),
    );
    single(
        &mut out,
        "hallq_lan_connections",
        "gauge",
        "Open LAN connections.",
        m.connections.load(Ordering::Relaxed),
    );
    single(
        &mut out,
        "hallq_lan_connections_closed_for_room_total",
        "counter",
        "Connections without a device token closed, or new ones turned away, because every slot was taken.",
        m.connections_closed_for_room.load(Ordering::Relaxed),
    );
    single(
        &mut out,
        "hallq_lan_paired_terminals",
        "gauge",
        "Terminals paired with this hall node.",
        paired,
    );
    out
}

/// The platform link's progress, when this node runs one.
fn render_platform(
    out: &mut String,
    sync: &crate::ports::PlatformSync,
    last_seq: u64,
    now_ms: i64,
) {
    let acked = sync.acked_seq.load(Ordering::Relaxed);
    single(
        out,
        "hallq_platform_acked_seq",
        "gauge",
        "The last event sequence the platform acknowledged.",
        acked,
    );
    single(
        out,
        "hallq_platform_behind_events",
        "gauge",
        "Events recorded but not yet acknowledged by the platform.",
        last_seq.saturating_sub(acked),
    );
    single(
        out,
        "hallq_platform_behind_seconds",
        "gauge",
        "How long the oldest event not yet acknowledged has waited.",
        format!("{:.3}", sync.behind_seconds(now_ms)),
    );
    family(
        out,
        "hallq_platform_failures_total",
        "counter",
        "Failed tries to send events to the platform, by kind.",
    );
    for kind in crate::ports::PlatformFailure::ALL {
        let _ = writeln!(
            out,
            "hallq_platform_failures_total{{kind=\"{}\"}} {}",
            kind.name(),
            sync.failures_of(kind)
        );
    }
}

/// Healthy when the engine answers within 2 s.
#[utoipa::path(
    get,
    path = "/healthz",
    security(()),
    responses(
        (status = 200, description = "The engine answers.", body = Health),
        (status = 503, description = "The engine is not answering.", body = Health),
    )
)]
pub async fn healthz(State(hall): State<Hall>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), hall.engine.state()).await {
        Ok(Ok(state)) => axum::Json(Health {
            status: "ok".into(),
            seq: Some(state.last_seq),
            platform: hall.platform_link(),
        })
        .into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(Health {
                status: "engine not answering".into(),
                seq: None,
                platform: hall.platform_link(),
            }),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod label_tests {
    #[test]
    fn a_label_is_cut_to_its_limit_on_a_character_boundary_and_escaped() {
        let long = "纸".repeat(500);
        assert_eq!(super::label(&long).chars().count(), super::MAX_LABEL_CHARS);
        assert_eq!(super::label("jam \"A\"\n"), "jam \\\"A\\\"\\n");
        assert_eq!(super::label("paper_out"), "paper_out");
    }
}
