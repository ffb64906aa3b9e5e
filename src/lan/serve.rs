//! Serving the LAN API so that a stranger on the LAN cannot stop it.
//!
//! - A request's head must arrive within [`Limits::request_head`]; hyper's timer runs from the moment a
//!   connection waits for a request, so the same limit closes an idle keep-alive socket and one that
//!   writes its head a byte at a time. A push stream is an answer being written, not a wait for a
//!   request, so it is never cut by it.
//! - A request's body must arrive within [`Limits::request_body`] (408).
//! - At most [`Limits::max_connections`] connections are open, kept below the process's open-file
//!   limit, and connections that have not shown a device token hold at most all but
//!   [`Limits::kept_for_terminals`] of them. When a new connection finds no room, the oldest connection
//!   without a token is closed for it: a terminal's connection, which shows its token with its first
//!   request, keeps its slot while strangers crowd the rest.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::counters::LanMetrics;
use super::tls::{CertificatePin, Fingerprint};
use crate::config::LanConfig;

/// Open files the node keeps for itself beside its connections: the database and its WAL, serial
/// ports, voice clips, the log, the listening socket.
const FILES_KEPT_FOR_THE_NODE: u64 = 64;

/// How a hall node's LAN server bounds what one peer can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub request_head: Duration,
    pub request_body: Duration,
    pub max_connections: usize,
    pub kept_for_terminals: usize,
}

impl Limits {
    /// The `[lan]` limits, with `max_connections` lowered to fit the open-file limit `open_files`
    /// (the process's own when `None`).
    pub fn of(lan: &LanConfig, open_files: Option<u64>) -> Limits {
        let configured = lan.max_connections;
        let max_connections = match open_files.or_else(open_file_limit) {
            Some(files) => {
                let room = files.saturating_sub(FILES_KEPT_FOR_THE_NODE) as usize;
                if room < configured {
                    tracing::warn!(
                        open_files = files,
                        "[lan] max_connections = {configured} does not fit the open-file limit; \
                         serving {room} connections at most (raise LimitNOFILE)"
                    );
                }
                configured.min(room)
            }
            None => configured,
        };
        let kept_for_terminals = lan
            .connections_kept_for_terminals
            .min(max_connections / 2)
            .max(1);
        Limits {
            request_head: Duration::from_millis(lan.request_head_timeout_ms),
            request_body: Duration::from_millis(lan.request_body_timeout_ms),
            max_connections: max_connections.max(kept_for_terminals + 1),
            kept_for_terminals,
        }
    }

    fn for_strangers(&self) -> usize {
        self.max_connections - self.kept_for_terminals
    }
}

/// The process's soft limit of open files (`RLIMIT_NOFILE`), or `None` when unlimited or unreadable.
pub fn open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (read == 0 && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// One open connection, as its requests see it (a request extension).
#[derive(Clone)]
pub struct ConnectionSlot(Arc<Slot>);

struct Slot {
    id: u64,
    paired: AtomicBool,
    closed: Notify,
}

impl ConnectionSlot {
    /// A request on this connection showed a valid device token: the connection is a terminal's
    /// and is not closed to make room for strangers.
    pub fn mark_paired(&self) {
        self.0.paired.store(true, Ordering::Relaxed);
    }
}

/// The open connections, oldest first.
#[derive(Default)]
struct Connections {
    next_id: AtomicU64,
    open: Mutex<BTreeMap<u64, Arc<Slot>>>,
}

impl Connections {
    /// A slot for a new connection, closing the oldest stranger's to make room; `None` when every
    /// slot is a terminal's.
    fn admit(&self, limits: &Limits) -> Option<ConnectionSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let strangers = open
            .values()
            .filter(|s| !s.paired.load(Ordering::Relaxed))
            .count();
        if open.len() >= limits.max_connections || strangers >= limits.for_strangers() {
            let oldest_stranger = open
                .iter()
                .find(|(_, s)| !s.paired.load(Ordering::Relaxed))
                .map(|(id, _)| *id)?;
            if let Some(slot) = open.remove(&oldest_stranger) {
                slot.closed.notify_one();
            }
        }
        let slot = Arc::new(Slot {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            paired: AtomicBool::new(false),
            closed: Notify::new(),
        });
        open.insert(slot.id, slot.clone());
        Some(ConnectionSlot(slot))
    }

    fn release(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }
}

/// How a request reached the hall node, for handlers that take personal data only inside TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tls,
    PlainHttp,
}

/// Serves `app` on `listener` within `limits` until `closing` turns true, then lets the connections
/// finish what they are answering.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    metrics: Arc<LanMetrics>,
    mut closing: watch::Receiver<bool>,
) {
    let app = app.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        limits.request_body,
    ));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.request_head);
    let connections = Arc::new(Connections::default());
    let transport = match tls {
        Some(_) => Transport::Tls,
        None => Transport::PlainHttp,
    };
    let mut running = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of files or buffers: wait for connections to close rather than spin.
                    tracing::warn!("the LAN server cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            Some(_) = running.join_next(), if !running.is_empty() => continue,
            _ = closed(&mut closing) => break,
        };
        let Some(slot) = connections.admit(&limits) else {
            metrics.count_closed_for_room();
            tracing::debug!(%peer, "every connection slot is a terminal's; closing a new one");
            continue;
        };
        let open = metrics.connection_opened();
        let metrics = metrics.clone();
        let service = {
            let app = app.clone();
            let slot = slot.clone();
            hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                // Pairing counts wrong codes per source address.
                request.extensions_mut().insert(ConnectInfo(peer));
                request.extensions_mut().insert(slot.clone());
                request.extensions_mut().insert(transport);
                let mut app = app.clone();
                async move {
                    Ok::<_, Infallible>(
                        tower_service::Service::call(&mut app, request)
                            .await
                            .unwrap_or_else(|never| match never {}),
                    )
                }
            })
        };
        let connections = connections.clone();
        let closing = closing.clone();
        let http = http.clone();
        let tls = tls.clone();
        running.spawn(async move {
            match tls {
                // The handshake runs in the connection's own task, within the request-head limit:
                // a client that opens a socket and says nothing holds up no one, and holds its slot
                // no longer than a silent plain-HTTP client would.
                Some(acceptor) => {
                    let handshake = acceptor.accept(stream);
                    match tokio::time::timeout(limits.request_head, handshake).await {
                        Ok(Ok(stream)) => {
                            let connection = http.serve_connection(TokioIo::new(stream), service);
                            run_connection(connection, &slot, &metrics, peer, closing).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, "a TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(%peer, "a TLS handshake took too long"),
                    }
                }
                None => {
                    let connection = http.serve_connection(TokioIo::new(stream), service);
                    run_connection(connection, &slot, &metrics, peer, closing).await;
                }
            }
            connections.release(slot.0.id);
            drop(open);
        });
    }
    drop(listener);
    while running.join_next().await.is_some() {}
}

/// Where the hall node's own API listens, and the certificate it serves when the LAN runs TLS: what
/// the watchdog needs to ask it as a terminal would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiAddress {
    pub addr: SocketAddr,
    pub certificate: Option<Fingerprint>,
}

impl ApiAddress {
    /// An API over plain HTTP.
    pub fn plain(addr: SocketAddr) -> ApiAddress {
        ApiAddress {
            addr,
            certificate: None,
        }
    }
}

/// Whether the API at `api` answers `/healthz` within `within`, as a terminal would reach it (over
/// loopback when it listens on every address, over TLS pinned to its certificate when it has one);
/// why not, when it does not.
pub async fn api_answers(api: ApiAddress, within: Duration) -> Result<(), String> {
    let mut addr = api.addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let scheme = if api.certificate.is_some() {
        "https"
    } else {
        "http"
    };
    let client = super::tls::lan_http_builder(api.certificate.map(CertificatePin::Full))
        .map_err(|e| e.to_string())?
        .timeout(within)
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    match client
        .get(format!("{scheme}://{addr}/healthz"))
        .send()
        .await
    {
        Ok(answer) if answer.status().is_success() => Ok(()),
        Ok(answer) => Err(format!("the LAN API answers {}", answer.status())),
        Err(e) if e.is_timeout() => Err(format!("the LAN API did not answer within {within:?}")),
        Err(e) => Err(format!("the LAN API cannot be reached: {e}")),
    }
}

/// Serves one connection until it ends, is closed to make room, or the server closes.
async fn run_connection<C>(
    connection: C,
    slot: &ConnectionSlot,
    metrics: &LanMetrics,
    peer: SocketAddr,
    mut closing: watch::Receiver<bool>,
) where
    C: std::future::Future + GracefulConnection,
{
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        // Dropping the connection closes its socket.
        _ = slot.0.closed.notified() => {
            metrics.count_closed_for_room();
            tracing::debug!(%peer, "closed a connection without a token to make room");
        }
        _ = closed(&mut closing) => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// A hyper connection that can be asked to finish what it is answering and close.
trait GracefulConnection {
    fn graceful_shutdown(self: std::pin::Pin<&mut Self>);
}

impl<I, S> GracefulConnection for hyper::server::conn::http1::Connection<I, S>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    S: hyper::service::HttpService<Incoming>,
    S::ResBody: hyper::body::Body + 'static,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn graceful_shutdown(self: std::pin::Pin<&mut Self>) {
        hyper::server::conn::http1::Connection::graceful_shutdown(self)
    }
}

async fn closed(closing: &mut watch::Receiver<bool>) {
    let _ = closing.wait_for(|closing| *closing).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize, kept: usize) -> Limits {
        Limits {
            request_head: Duration::from_secs(1),
            request_body: Duration::from_secs(1),
            max_connections: max,
            kept_for_terminals: kept,
        }
    }

    #[test]
    fn strangers_make_room_for_each_other_but_never_take_a_terminals_slot() {
        let limits = limits(4, 2);
        let open = Connections::default();
        let terminal = open.admit(&limits).unwrap();
        terminal.mark_paired();
        let first_stranger = open.admit(&limits).unwrap();
        let _second = open.admit(&limits).unwrap();
        // A third stranger would pass the strangers' share: the oldest stranger makes room.
        let _third = open.admit(&limits).unwrap();
        let ids: Vec<u64> = open.open.lock().unwrap().keys().copied().collect();
        assert!(!ids.contains(&first_stranger.0.id), "{ids:?}");
        assert!(ids.contains(&terminal.0.id), "{ids:?}");
        assert_eq!(ids.len(), 3);
    }

    #[test]
    fn when_terminals_hold_every_slot_a_new_connection_is_refused() {
        let limits = limits(3, 1);
        let open = Connections::default();
        for _ in 0..3 {
            open.admit(&limits).unwrap().mark_paired();
        }
        assert!(open.admit(&limits).is_none());
    }

    #[test]
    fn connections_stay_below_the_open_file_limit() {
        let lan = LanConfig::default();
        let fitted = Limits::of(&lan, Some(256));
        assert_eq!(
            fitted.max_connections,
            256 - FILES_KEPT_FOR_THE_NODE as usize
        );
        assert!(fitted.kept_for_terminals < fitted.max_connections);
        let roomy = Limits::of(&lan, Some(1 << 20));
        assert_eq!(roomy.max_connections, lan.max_connections);
        assert_eq!(roomy.kept_for_terminals, lan.connections_kept_for_terminals);
        assert!(open_file_limit().is_some_and(|files| files > 0));
    }
}
