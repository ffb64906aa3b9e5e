//! The reference receiver: the platform's side of the link, small enough to read, run in tests and
//! the demo, or run as it is for a prefecture with a few halls (docs/platform.md).
//!
//! It checks each request's signature, stores the batch's events once per (hall id, sequence) in its
//! own SQLite file, and acknowledges the highest sequence up to which it holds every event of the
//! hall, with its own time.

pub mod store;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::booking_wire::{BOOKINGS_PATH, BookingPage, MAX_BOOKINGS_PAGE};
use super::signing::HALL_HEADER;
use super::signing::{PlatformSecret, Verifier};
use super::tls::{ClientCertificate, TlsIdentity, TlsListener};
use super::wire::{
    Ack, EVENTS_PATH, MAX_BATCH_EVENTS, PLATFORM_EVENT_VERSION, PlatformBatch, PlatformError,
};
use crate::clock::Clock;
pub use store::{BookingError, BookingInput};
use store::{ReceiveError, ReceiverStore};

/// Larger bodies are refused with 413: a full batch of 1000 events is well under a megabyte.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

pub struct ReceiverSettings {
    /// The receiver's own database file.
    pub db: PathBuf,
    /// Each hall's secret, by hall id.
    pub secrets: HashMap<String, PlatformSecret>,
    /// How far a request's timestamp may be from `clock`.
    pub max_skew_s: i64,
    pub clock: Arc<dyn Clock>,
    /// Serve HTTPS with this certificate; without it, plain HTTP (tests and the loopback only).
    pub tls: Option<TlsIdentity>,
    /// With HTTPS: the certificates (PEM) a hall's client certificate must chain to, for platforms
    /// that want mutual TLS. A hall without one is refused in the handshake, and a request for a
    /// hall its certificate does not name (as a DNS subject alternative name) with `403`.
    pub client_ca_pem: Option<String>,
}

pub(crate) struct Shared {
    store: Mutex<ReceiverStore>,
    verifier: Verifier,
    clock: Arc<dyn Clock>,
    /// Mutual TLS: each request's hall must be named by the certificate its connection showed.
    certificates_name_halls: bool,
}

/// A running receiver, until [`Receiver::stop`].
pub struct Receiver {
    pub addr: SocketAddr,
    tls: bool,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    shared: Arc<Shared>,
}

impl Receiver {
    /// Opens the database and serves on `listener`.
    pub fn start(listener: TcpListener, settings: ReceiverSettings) -> anyhow::Result<Receiver> {
        let store = ReceiverStore::open(&settings.db)
            .map_err(|e| anyhow::anyhow!("{}: {e}", settings.db.display()))?;
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            verifier: Verifier::new(settings.secrets, settings.max_skew_s),
            clock: settings.clock,
            certificates_name_halls: settings.client_ca_pem.is_some(),
        });
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route(EVENTS_PATH, post(receive))
            .route(BOOKINGS_PATH, get(bookings))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(Arc::clone(&shared))
            .into_make_service_with_connect_info::<ClientCertificate>();
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = async move {
            let _ = stopped.await;
        };
        let tls = settings.tls.is_some();
        if settings.client_ca_pem.is_some() && !tls {
            anyhow::bail!("mutual TLS needs the receiver's own certificate (HTTPS)");
        }
        let task = match settings.tls {
            Some(identity) => {
                let listener = TlsListener::new(
                    listener,
                    &identity,
                    settings.client_ca_pem.as_deref().map(str::as_bytes),
                )?;
                tokio::spawn(async move {
                    let served = axum::serve(listener, app)
                        .with_graceful_shutdown(stopped)
                        .await;
                    if let Err(e) = served {
                        tracing::error!("the platform receiver stopped: {e}");
                    }
                })
            }
            None => tokio::spawn(async move {
                let served = axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await;
                if let Err(e) = served {
                    tracing::error!("the platform receiver stopped: {e}");
                }
            }),
        };
        Ok(Receiver {
            addr,
            tls,
            stop: Some(stop),
            task,
            shared,
        })
    }

    /// The base URL a hall on this machine posts to.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Every event held of `hall_id`: (seq, event id, the event as received).
    pub fn events(&self, hall_id: &str) -> anyhow::Result<Vec<(u64, String, String)>> {
        Ok(self.shared.store.lock().unwrap().events(hall_id)?)
    }

    /// Adds a test booking for `hall_id`; returns its change sequence.
    pub fn add_booking(&self, hall_id: &str, booking: &BookingInput) -> Result<u64, BookingError> {
        self.shared
            .store
            .lock()
            .unwrap()
            .add_booking(hall_id, booking)
    }

    /// Moves a booking of `hall_id` to another service, day or slot.
    pub fn change_booking(
        &self,
        hall_id: &str,
        id: &str,
        service: &str,
        day: chrono::NaiveDate,
        start: &str,
        end: &str,
    ) -> Result<u64, BookingError> {
        self.shared
            .store
            .lock()
            .unwrap()
            .change_booking(hall_id, id, service, day, start, end)
    }

    pub fn cancel_booking(&self, hall_id: &str, id: &str) -> Result<u64, BookingError> {
        self.shared
            .store
            .lock()
            .unwrap()
            .cancel_booking(hall_id, id)
    }

    pub fn acked_through(&self, hall_id: &str) -> anyhow::Result<u64> {
        Ok(self.shared.store.lock().unwrap().acked_through(hall_id)?)
    }

    /// Stops taking requests; those in flight are answered.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

fn refuse(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    refuse_with(status, code, message, None, None)
}

fn refuse_with(
    status: StatusCode,
    code: &str,
    message: impl Into<String>,
    acked_through: Option<u64>,
    platform_time_ms: Option<i64>,
) -> Response {
    let body = PlatformError {
        code: code.to_string(),
        message: message.into(),
        acked_through,
        platform_time_ms,
    };
    (status, axum::Json(body)).into_response()
}

/// With mutual TLS, the refusal of a request for a hall its connection's certificate does not name:
/// with one CA for every hall, the certificate alone would let one hall post as another.
fn certificate_refusal(
    shared: &Shared,
    certificate: &ClientCertificate,
    headers: &HeaderMap,
) -> Option<Response> {
    if !shared.certificates_name_halls {
        return None;
    }
    let hall = headers
        .get(HALL_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if certificate.names_hall(hall) {
        return None;
    }
    tracing::warn!("platform receiver: a request for hall {hall:?} on a certificate not naming it");
    Some(refuse(
        StatusCode::FORBIDDEN,
        "certificate_mismatch",
        format!("the client certificate does not name hall \"{hall}\""),
    ))
}

/// Takes a batch of one hall's events, stores each once per (hall id, sequence), and acknowledges.
#[utoipa::path(
    post,
    path = "/v1/events",
    request_body(content = PlatformBatch, description = "Events of one hall, in `seq` order without gaps, at most 1000"),
    params(
        ("X-Hallq-Hall" = String, Header, description = "The hall id"),
        ("X-Hallq-Timestamp" = i64, Header, description = "Seconds since the Unix epoch, from the hall's clock"),
        ("X-Hallq-Nonce" = String, Header, description = "16-64 characters [A-Za-z0-9_-], fresh for every request"),
        ("X-Hallq-Signature" = String, Header, description = "Lowercase hex HMAC-SHA256 of the signed text, keyed by the hall's secret"),
    ),
    responses(
        (status = 200, description = "Every event of the hall up to `acked_through` is held", body = Ack),
        (status = 400, description = "`malformed_batch`, `hall_mismatch` or `not_contiguous`", body = PlatformError),
        (status = 401, description = "`missing_signature`, `unknown_hall`, `stale_timestamp`, `nonce_reused` or `bad_signature`", body = PlatformError),
        (status = 403, description = "`certificate_mismatch`: with mutual TLS, the client certificate does not name the hall", body = PlatformError),
        (status = 409, description = "`gap` (with `acked_through`) or `seq_conflict`", body = PlatformError),
        (status = 413, description = "The body is larger than 8 MiB"),
        (status = 500, description = "`storage`: nothing of the batch is kept", body = PlatformError),
    ),
)]
pub(crate) async fn receive(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(certificate): ConnectInfo<ClientCertificate>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Before the signature, so a refused request spends no nonce.
    if let Some(refusal) = certificate_refusal(&shared, &certificate, &headers) {
        return refusal;
    }
    let now_ms = shared.clock.read().wall_ms;
    let hall_id = match shared.verifier.verify(
        method.as_str(),
        uri.path(),
        |name| headers.get(name).and_then(|v| v.to_str().ok()),
        &body,
        now_ms,
    ) {
        Ok(hall_id) => hall_id,
        Err(refusal) => {
            tracing::warn!("platform receiver: refused a request: {refusal}");
            // The time goes with the refusal: a hall whose clock is off learns the platform's
            // and signs its next request with it.
            return refuse_with(
                StatusCode::UNAUTHORIZED,
                refusal.code(),
                refusal.to_string(),
                None,
                Some(now_ms),
            );
        }
    };
    let batch: PlatformBatch = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, "malformed_batch", e.to_string()),
    };
    if let Some(refusal) = check_batch(&hall_id, &batch) {
        return refusal;
    }
    let stored = tokio::task::spawn_blocking(move || {
        let mut store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
        store.store(&hall_id, &batch.events, now_ms)
    })
    .await;
    match stored {
        Ok(Ok(acked_through)) => axum::Json(Ack {
            acked_through,
            platform_time_ms: now_ms,
        })
        .into_response(),
        Ok(Err(e @ ReceiveError::Gap { acked_through, .. }))
        | Ok(Err(e @ ReceiveError::SeqConflict { acked_through, .. })) => {
            let code = match e {
                ReceiveError::Gap { .. } => "gap",
                _ => "seq_conflict",
            };
            refuse_with(
                StatusCode::CONFLICT,
                code,
                e.to_string(),
                Some(acked_through),
                None,
            )
        }
        Ok(Err(e)) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "storage", e.to_string()),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "storage", e.to_string()),
    }
}

/// `GET /v1/bookings?after=&limit=`: the hall's booking changes after its cursor, signed like a
/// batch with the path and query signed and an empty body.
#[utoipa::path(
    get,
    path = "/v1/bookings",
    params(
        ("after" = u64, Query, description = "The last change sequence the hall holds; 0 at first"),
        ("limit" = usize, Query, description = "The most changes wanted (at most 500 are given)"),
        ("X-Hallq-Hall" = String, Header, description = "The hall id"),
        ("X-Hallq-Timestamp" = i64, Header, description = "Seconds since the Unix epoch, from the hall's clock"),
        ("X-Hallq-Nonce" = String, Header, description = "16-64 characters [A-Za-z0-9_-], fresh for every request"),
        ("X-Hallq-Signature" = String, Header, description = "As for a batch, over the path with its query and an empty body"),
    ),
    responses(
        (status = 200, description = "The hall's booking changes after `after`, oldest first", body = BookingPage),
        (status = 400, description = "`malformed_query`", body = PlatformError),
        (status = 401, description = "`missing_signature`, `unknown_hall`, `stale_timestamp`, `nonce_reused` or `bad_signature`", body = PlatformError),
        (status = 403, description = "`certificate_mismatch`: with mutual TLS, the client certificate does not name the hall", body = PlatformError),
        (status = 500, description = "`storage`", body = PlatformError),
    ),
)]
pub(crate) async fn bookings(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(certificate): ConnectInfo<ClientCertificate>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Before the signature, so a refused request spends no nonce.
    if let Some(refusal) = certificate_refusal(&shared, &certificate, &headers) {
        return refusal;
    }
    let now_ms = shared.clock.read().wall_ms;
    let signed_path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string());
    let hall_id = match shared.verifier.verify(
        method.as_str(),
        &signed_path,
        |name| headers.get(name).and_then(|v| v.to_str().ok()),
        &body,
        now_ms,
    ) {
        Ok(hall_id) => hall_id,
        Err(refusal) => {
            tracing::warn!("platform receiver: refused a bookings request: {refusal}");
            return refuse(
                StatusCode::UNAUTHORIZED,
                refusal.code(),
                refusal.to_string(),
            );
        }
    };
    let Some((after, limit)) = bookings_query(uri.query().unwrap_or("")) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "malformed_query",
            "the query is after=<change sequence>&limit=<1 or more>",
        );
    };
    let limit = limit.min(MAX_BOOKINGS_PAGE);
    let read = tokio::task::spawn_blocking(move || {
        let store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
        store
            .booking_changes(&hall_id, after, limit)
            .map(|(changes, more)| BookingPage {
                next_after: changes.last().map_or(after, |c| c.change_seq),
                hall_id,
                changes,
                more,
                platform_time_ms: now_ms,
            })
    })
    .await;
    match read {
        Ok(Ok(page)) => axum::Json(page).into_response(),
        Ok(Err(e)) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "storage", e.to_string()),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "storage", e.to_string()),
    }
}

/// `after` and `limit` from the query, both required, nothing else.
fn bookings_query(query: &str) -> Option<(u64, usize)> {
    let (mut after, mut limit) = (None, None);
    for pair in query.split('&') {
        match pair.split_once('=')? {
            ("after", v) if after.is_none() => after = Some(v.parse::<u64>().ok()?),
            ("limit", v) if limit.is_none() => limit = Some(v.parse::<usize>().ok()?),
            _ => return None,
        }
    }
    let limit = limit.filter(|l| *l >= 1)?;
    Some((after?, limit))
}

/// What serde cannot check: the batch's size, version, hall and order.
fn check_batch(hall_id: &str, batch: &PlatformBatch) -> Option<Response> {
    if batch.events.len() > MAX_BATCH_EVENTS {
        return Some(refuse(
            StatusCode::BAD_REQUEST,
            "malformed_batch",
            format!("a batch holds at most {MAX_BATCH_EVENTS} events"),
        ));
    }
    if let Some(event) = batch.events.iter().find(|e| e.v != PLATFORM_EVENT_VERSION) {
        return Some(refuse(
            StatusCode::BAD_REQUEST,
            "malformed_batch",
            format!(
                "event {} is of version {}; this receiver reads {PLATFORM_EVENT_VERSION}",
                event.seq, event.v
            ),
        ));
    }
    if batch.hall_id != hall_id || batch.events.iter().any(|e| e.hall_id != hall_id) {
        return Some(refuse(
            StatusCode::BAD_REQUEST,
            "hall_mismatch",
            format!("the request is signed for hall {hall_id}; the batch names another"),
        ));
    }
    let first = batch.events.first().map_or(1, |e| e.seq);
    let in_order = batch
        .events
        .iter()
        .enumerate()
        .all(|(i, e)| Some(e.seq) == first.checked_add(i as u64));
    if first == 0 || !in_order {
        return Some(refuse(
            StatusCode::BAD_REQUEST,
            "not_contiguous",
            "a batch's events run in sequence order from 1 up, without gaps",
        ));
    }
    None
}
