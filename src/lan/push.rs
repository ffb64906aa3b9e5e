//! The push stream: every committed event, as Server-Sent Events, resumable from any sequence. Each
//! message's data is a [`TerminalEvent`], with personal data only for terminals that may read it.
//!
//! A terminal says where it stopped (`Last-Event-ID`, which browsers send on their own when they
//! reconnect, or `?after=`). The stream subscribes to the engine *before* reading the backlog from the
//! store, so an event committed in between is in one or the other and never in neither; the overlap is
//! dropped by sequence. A subscriber that falls behind the broadcast buffer refills the gap from the
//! store the same way. So a terminal that reconnects misses nothing and sees nothing twice.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::auth::{Registry, TokenHash};
use super::error::ApiError;
use super::extract::Terminal;
use super::shared::Hall;
use super::wire::{self, Audience, TerminalEvent};
use crate::queue::StoredEvent;
use crate::store::{MAX_SEQ, Store};

/// Events read from the store per query while catching up.
const BACKFILL_PAGE: usize = 500;
pub use super::wire::KEEP_ALIVE;
/// An open stream makes no new requests, so it checks this often that its device is still paired: a
/// revoked terminal stops receiving events within this long.
const REVOCATION_CHECK: Duration = Duration::from_secs(2);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Send events after this sequence; without it (and without `Last-Event-ID`), only new ones.
    after: Option<u64>,
    /// For browsers, whose EventSource cannot send an Authorization header (read by [`Terminal`]).
    #[serde(rename = "access_token")]
    _access_token: Option<String>,
}

/// The event log as Server-Sent Events, resumable.
///
/// Each message has `id:` the event's sequence, `event:` its type (e.g. `ticket_called`) and `data:`
/// one `TerminalEvent` as JSON (see the schema of that name). The stream starts after `Last-Event-ID`
/// if sent (browsers send it when they reconnect), else after `?after=`, else with new events only.
/// Past events come from the store, then live ones follow without gap or repeat. A comment line every
/// 5 s keeps the link alive; a terminal that hears nothing for 15 s should reconnect. A display's
/// events carry no `personal` data.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    params(
        ("after" = Option<u64>, Query, description = "Send events after this sequence.", minimum = 0, maximum = 9223372036854775807_i64),
        ("access_token" = Option<String>, Query, description = "The device token, for EventSource, which cannot set headers."),
        ("Last-Event-ID" = u64, Header, description = "The last sequence received; wins over `after`.", minimum = 0, maximum = 9223372036854775807_i64),
    ),
    responses(
        (status = 200, description = "An endless stream of events; each `data:` is a `TerminalEvent`.", content_type = "text/event-stream", body = String,
         example = "id: 42\nevent: ticket_called\ndata: {\"v\":1,\"seq\":42,\"event_id\":\"0193a7c4-2f7e-7cc1-9a51-2f0c1f6b9e10\",\"hall_id\":\"demo\",\"command_id\":null,\"recorded\":{\"wall_ms\":1795572000000,\"hall_ms\":1795572000000,\"boot_id\":\"b1\",\"mono_ms\":5000,\"clock_trusted\":true,\"business_day\":\"2026-11-25\"},\"event\":{\"type\":\"ticket_called\",\"ticket\":17,\"window\":3,\"staff\":\"1003\",\"at_ms\":1795572000000}}\n\n"),
        (status = 400, description = "A resume point that is not a sequence number or is above 2^63-1 (`bad_last_event_id`, `bad_after`), or an unknown query parameter (`bad_query`).", body = ApiError),
        (status = 401, description = "No token, or one the hall node does not know.", body = ApiError),
        (status = 503, description = "The event log cannot be read now.", body = ApiError),
    )
)]
pub async fn events(
    State(hall): State<Hall>,
    Terminal(device, _, token): Terminal,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text()))?;
    let last_event_id = match headers.get("last-event-id") {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|seq| *seq <= MAX_SEQ)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "bad_last_event_id",
                        format!("Last-Event-ID must be an event sequence number, 0 to {MAX_SEQ}"),
                    )
                })?,
        ),
        None => None,
    };
    if let Some(after) = query.after
        && after > MAX_SEQ
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_after",
            format!("after must be an event sequence number, 0 to {MAX_SEQ}"),
        ));
    }
    let db_path = hall.engine.db_path().to_path_buf();
    // The browser's reconnect header is newer than the URL it first connected with.
    let after = match last_event_id.or(query.after) {
        Some(after) => after,
        None => read_store(db_path.clone(), |store| store.last_seq()).await?,
    };
    let (sender, receiver) = mpsc::channel(256);
    let live = hall.engine.subscribe();
    let audience = wire::audience_of(device.role);
    let streams = hall.metrics.push_stream_opened();
    tokio::spawn(async move {
        let _open = streams;
        let mut feed = Feed {
            sender,
            db_path,
            after,
            audience,
            metrics: hall.metrics.clone(),
        };
        let mut closing = hall.closing.clone();
        tokio::select! {
            ended = feed.run(live) => if let Err(stop) = ended {
                tracing::debug!("push stream ended: {stop}");
            },
            _ = closing.wait_for(|closing| *closing) => {}
            _ = revoked(hall.registry.clone(), token) => {
                tracing::info!(device = %device.name, "push stream closed: the device was revoked");
            }
        }
    });
    Ok(Sse::new(ReceiverStream::new(receiver)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// Returns once the device holding `token` is no longer paired.
async fn revoked(registry: Registry, token: TokenHash) {
    let mut checks = tokio::time::interval(REVOCATION_CHECK);
    // The first tick is immediate, and the request was let in a moment ago.
    checks.tick().await;
    loop {
        checks.tick().await;
        let registry = registry.clone();
        let token = token.clone();
        let paired = tokio::task::spawn_blocking(move || registry.device_by(&token).is_some())
            .await
            .unwrap_or(true);
        if !paired {
            return;
        }
    }
}

/// Why a feed stopped: its terminal went away, or the store could not be read.
#[derive(Debug, thiserror::Error)]
enum Stop {
    #[error("the terminal disconnected")]
    Gone,
    #[error("{0}")]
    Store(String),
}

impl From<ApiError> for Stop {
    fn from(e: ApiError) -> Stop {
        Stop::Store(e.message)
    }
}

struct Feed {
    sender: mpsc::Sender<Result<SseEvent, Infallible>>,
    db_path: PathBuf,
    /// The last sequence sent.
    after: u64,
    audience: Audience,
    metrics: Arc<super::counters::LanMetrics>,
}

impl Feed {
    async fn run(&mut self, mut live: broadcast::Receiver<Arc<StoredEvent>>) -> Result<(), Stop> {
        self.backfill().await?;
        loop {
            match live.recv().await {
                Ok(event) if event.seq <= self.after => {}
                Ok(event) if event.seq == self.after + 1 => self.send(&event).await?,
                // A gap can only mean events this receiver never got: fetch them, then go on.
                Ok(event) => {
                    self.backfill().await?;
                    if event.seq > self.after {
                        self.send(&event).await?;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "push stream fell behind; refilling from the store");
                    self.metrics.count_push_refill();
                    self.backfill().await?;
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            }
        }
    }

    /// Sends everything the store holds after `self.after`.
    async fn backfill(&mut self) -> Result<(), Stop> {
        loop {
            let after = self.after;
            let page = read_store(self.db_path.clone(), move |store| {
                store.events_after(after, BACKFILL_PAGE)
            })
            .await?;
            if page.is_empty() {
                return Ok(());
            }
            for event in &page {
                self.send(event).await?;
            }
        }
    }

    async fn send(&mut self, event: &StoredEvent) -> Result<(), Stop> {
        let sent = TerminalEvent::for_terminals(event, self.audience);
        let data = serde_json::to_string(&sent).map_err(|e| Stop::Store(e.to_string()))?;
        let sse = SseEvent::default()
            .id(event.seq.to_string())
            .event(event.event.kind())
            .data(data);
        self.sender.send(Ok(sse)).await.map_err(|_| Stop::Gone)?;
        self.after = event.seq;
        Ok(())
    }
}

/// Runs a read on its own read-only connection, off the async threads.
async fn read_store<T: Send + 'static>(
    db_path: PathBuf,
    read: impl FnOnce(&Store) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || {
        let store = Store::open_reader(Path::new(&db_path))?;
        read(&store)
    })
    .await
    .map_err(|_| ApiError::unavailable("reading the event log was interrupted"))?
    .map_err(|e| ApiError::unavailable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records `n` more events through `engine`.
    async fn toggle_printer(engine: &crate::engine::EngineHandle, from: usize, n: usize) {
        for i in from..from + n {
            let fault = (i % 2 == 0).then(|| crate::queue::DeviceFault {
                code: "jam".into(),
                message: "jammed".into(),
            });
            let command = crate::queue::Command::ReportDevice {
                device: "printer".into(),
                fault,
            };
            engine.execute(format!("t{i}"), command).await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_feed_that_lags_behind_the_broadcast_refills_from_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("hall.db");
        let setup = Arc::new(crate::config::example());
        let clock = Arc::new(crate::clock::ManualClock::new(1_795_572_000_000));
        let (engine, _writer) = crate::engine::start(setup, &db_path, clock).unwrap();
        toggle_printer(&engine, 0, 10).await;

        // A broadcast buffer of 4 standing in for the engine's, so a burst overflows it.
        let (live, receiver) = broadcast::channel(4);
        let (sender, mut out) = mpsc::channel(100);
        let metrics = Arc::new(super::super::counters::LanMetrics::default());
        let mut feed = Feed {
            sender,
            db_path: db_path.clone(),
            after: 0,
            audience: Audience::Staff,
            metrics: metrics.clone(),
        };
        let running = tokio::spawn(async move {
            feed.run(receiver).await.unwrap();
            feed.after
        });
        // The day's opening and ten toggles: the feed catches up with them and waits for live events.
        for _ in 0..11 {
            let _caught_up = out.recv().await.unwrap();
        }
        // Twenty more are committed and broadcast at once: the buffer keeps only the last four.
        toggle_printer(&engine, 10, 20).await;
        let stored = Store::open_reader(&db_path)
            .unwrap()
            .events_after(11, 100)
            .unwrap();
        for event in stored {
            live.send(Arc::new(event)).unwrap();
        }
        drop(live);
        assert_eq!(
            running.await.unwrap(),
            31,
            "the feed reached the last event"
        );
        let mut more = 0;
        while out.try_recv().is_ok() {
            more += 1;
        }
        assert_eq!(more, 20, "events 12 to 31, each once");
        assert_eq!(metrics.push_refills(), 1);
    }
}
