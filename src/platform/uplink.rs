//! The uploader: sends the hall's event log to the platform from the last acknowledged sequence,
//! oldest first, in signed batches, and moves its cursor only when the platform acknowledges.
//!
//! Whatever goes wrong on the way (no connection, a timeout, a 5xx, a 429 or 503, an answer it cannot
//! read) leaves the cursor where it was; the same events go again after a wait. The platform keeps
//! each event once per (hall id, sequence), so a batch that arrived but whose acknowledgement was
//! lost is stored once. Nothing is skipped: the cursor is on disk before it counts, and a restart
//! starts from it.
//!
//! A live event goes up at once: the uploader wakes on the engine's broadcast of each commit.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::exchange::{Failed, PlatformClient, exchange, refusal};
use super::signing::{self, PlatformSecret};
use super::tls;
use super::wire::{
    Ack, EVENTS_PATH, PLAUSIBLE_PLATFORM_TIME_MS, PlatformBatch, PlatformError, PlatformEvent,
};
use crate::clock::{Clock, ClockReading};
use crate::config::PlatformConfig;
use crate::engine::EngineHandle;
use crate::ports::{PlatformFailure, PlatformSync};
use crate::queue::StoredEvent;
use crate::retry::{Backoff, Delays};
use crate::store::{PlatformClock, PlatformCursor, Store, StoreError};

/// The waits between failed tries: short at first, at most half a minute, so the platform's return
/// is noticed soon but a platform in trouble is not hammered by every hall at once.
pub const PLATFORM_BACKOFF: Backoff = Backoff {
    first: Duration::from_millis(200),
    cap: Duration::from_secs(30),
};

/// The longest `Retry-After` obeyed; a longer one is taken as this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// A longer answer is no acknowledgement: reading stops there and the try counts as failed.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// How often an idle uploader looks at the log even without news from the engine.
const IDLE_LOOK: Duration = Duration::from_secs(5);

/// What the uploader needs to know.
#[derive(Debug, Clone)]
pub struct UplinkSettings {
    /// The platform's base URL.
    pub url: String,
    pub hall_id: String,
    pub secret: PlatformSecret,
    pub batch_size: usize,
    pub timeout: Duration,
    pub backoff: Backoff,
    /// The certificates the platform's must chain to (PEM); https:// needs them.
    pub ca_pem: Option<Vec<u8>>,
    /// Whether a plain http:// URL may be used (the demo and tests on loopback).
    pub allow_plain_http: bool,
    /// The hall's own certificate and key, shown to a platform that asks for one (mutual TLS).
    pub client_identity: Option<tls::TlsIdentity>,
}

impl UplinkSettings {
    /// The settings of the hall's `[platform]` table, its secret read from its file.
    pub fn from_config(
        config: &PlatformConfig,
        hall_id: &str,
    ) -> Result<UplinkSettings, UplinkError> {
        let ca_pem = match &config.ca_file {
            Some(file) => {
                Some(std::fs::read(file).map_err(|e| UplinkError::Tls(format!("{file}: {e}")))?)
            }
            None => None,
        };
        let client_identity = match (&config.client_cert_file, &config.client_key_file) {
            (Some(cert), Some(key)) => Some(
                tls::TlsIdentity::load(std::path::Path::new(cert), std::path::Path::new(key))
                    .map_err(|e| UplinkError::Tls(e.to_string()))?,
            ),
            _ => None,
        };
        Ok(UplinkSettings {
            url: config.url.clone(),
            hall_id: hall_id.to_string(),
            secret: PlatformSecret::load(std::path::Path::new(&config.secret_file))?,
            batch_size: config.batch_size,
            timeout: Duration::from_millis(config.timeout_ms),
            backoff: PLATFORM_BACKOFF,
            ca_pem,
            allow_plain_http: config.insecure_http_for_tests,
            client_identity,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UplinkError {
    #[error("the platform link cannot read the hall's database: {0}")]
    Store(#[from] StoreError),
    #[error("the platform URL {url} is not usable: {why}")]
    BadUrl { url: String, why: String },
    #[error("the platform link's TLS: {0}")]
    Tls(String),
    #[error(transparent)]
    Secret(#[from] signing::SecretError),
}

/// A running uploader; stops when dropped or with [`Uplink::stop`].
pub struct Uplink {
    task: JoinHandle<()>,
    status: Arc<PlatformSync>,
}

impl Uplink {
    /// Starts sending the log of `engine`'s hall. Must be called inside a tokio runtime.
    pub fn start(engine: &EngineHandle, settings: UplinkSettings) -> Result<Uplink, UplinkError> {
        // Subscribed before the first read, so no commit falls between the two unnoticed.
        let news = engine.subscribe();
        Uplink::start_with(engine.db_path(), news, Arc::clone(engine.clock()), settings)
    }

    /// [`Uplink::start`] from its parts: the database, the news of commits, and the clock that
    /// dates the signatures.
    pub fn start_with(
        db_path: &std::path::Path,
        news: broadcast::Receiver<Arc<StoredEvent>>,
        clock: Arc<dyn Clock>,
        settings: UplinkSettings,
    ) -> Result<Uplink, UplinkError> {
        let outbox = Outbox {
            cursor: PlatformCursor::open(db_path)?,
            log: Store::open_reader(db_path)?,
        };
        let platform_clocks = outbox.cursor.platform_clocks()?;
        let endpoint = format!("{}{EVENTS_PATH}", settings.url.trim_end_matches('/'));
        let bad_url = |why: String| UplinkError::BadUrl {
            url: settings.url.clone(),
            why,
        };
        let endpoint: hyper::Uri = endpoint.parse().map_err(|e| bad_url(format!("{e}")))?;
        let client = platform_client(&settings)?;
        let status = Arc::new(PlatformSync::default());
        let sender = Sender {
            outbox: Arc::new(Mutex::new(outbox)),
            client,
            endpoint,
            settings,
            clock,
            status: Arc::clone(&status),
            platform_clocks: Mutex::new(platform_clocks),
            platform_offset_ms: Mutex::new(None),
            asked_time_in: Mutex::new(None),
        };
        let task = tokio::spawn(sender.run(news));
        Ok(Uplink { task, status })
    }

    /// How far the link has come.
    pub fn status(&self) -> &Arc<PlatformSync> {
        &self.status
    }

    /// Stops at once; a batch in flight is sent again by the next start.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for Uplink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The client both directions of the link use: the platform's certificate pinned for https:// (and
/// the hall's own shown when asked), plain http:// only where the settings allow it.
pub(super) fn platform_client(settings: &UplinkSettings) -> Result<PlatformClient, UplinkError> {
    let bad_url = |why: &str| UplinkError::BadUrl {
        url: settings.url.clone(),
        why: why.to_string(),
    };
    let url: hyper::Uri = settings.url.parse().map_err(|e| bad_url(&format!("{e}")))?;
    let tls = match (url.scheme_str(), &settings.ca_pem) {
        (Some("https"), Some(pem)) => {
            tls::pinned_client_config(pem, settings.client_identity.as_ref())
                .map_err(|e| UplinkError::Tls(e.to_string()))?
        }
        (Some("https"), None) => {
            return Err(bad_url(
                "https:// needs the platform's certificate (ca_file)",
            ));
        }
        (Some("http"), _) if settings.allow_plain_http => tls::trusting_nothing(),
        (Some("http"), _) => {
            return Err(bad_url(
                "plain http:// is for the demo and tests only (insecure_http_for_tests)",
            ));
        }
        _ => return Err(bad_url("not an http:// or https:// URL")),
    };
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(settings.timeout.min(Duration::from_secs(5))));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(HyperClient::builder(TokioExecutor::new()).build(connector))
}

/// The uploader's two connections: its cursor, and the log it reads.
struct Outbox {
    cursor: PlatformCursor,
    log: Store,
}

struct Sender {
    outbox: Arc<Mutex<Outbox>>,
    client: HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    endpoint: hyper::Uri,
    settings: UplinkSettings,
    clock: Arc<dyn Clock>,
    status: Arc<PlatformSync>,
    /// The platform's clock as kept for each boot (see [`PlatformClock`]).
    platform_clocks: Mutex<HashMap<String, PlatformClock>>,
    /// The platform's time less the board's, from the last reply that told it: requests are signed
    /// with the platform's time while the board's clock is not vouched for.
    platform_offset_ms: Mutex<Option<i64>>,
    /// The boot in which the platform has answered a request for its time.
    asked_time_in: Mutex<Option<String>>,
}

impl Sender {
    async fn run(self, mut news: broadcast::Receiver<Arc<StoredEvent>>) {
        let mut delays: Option<Delays> = None;
        loop {
            match self.send_next().await {
                Ok(Sent::Nothing) => {
                    self.status.mark_in_touch();
                    delays = None;
                    wait_for_news(&mut news).await;
                }
                Ok(Sent::Acknowledged) => {
                    self.status.mark_in_touch();
                    delays = None;
                }
                Err(failed) => {
                    if let Some(holds) = failed.platform_holds
                        && self.rewind_to(holds).await
                    {
                        self.status.count(failed.kind);
                        continue;
                    }
                    self.status.count(failed.kind);
                    self.status.mark_failing(self.clock.read().mono_ms);
                    let backoff = delays
                        .get_or_insert_with(|| self.settings.backoff.delays())
                        .next_delay();
                    let wait = failed
                        .retry_after
                        .map_or(backoff, |asked| asked.min(MAX_RETRY_AFTER));
                    tracing::warn!(
                        kind = failed.kind.name(),
                        wait_ms = wait.as_millis() as u64,
                        "platform link: {}",
                        failed.why
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// A platform that answers `gap` holds less than it acknowledged before: it lost events (a
    /// restore from an older backup). The hall sends them again from what the platform holds, if its
    /// log still has every one of them; events the hall has already let go after their
    /// acknowledgement (`[store] keep_acknowledged_days`) cannot be sent again, and the link stays
    /// refused until the platform restores them. Returns whether the cursor moved back.
    async fn rewind_to(&self, holds: u64) -> bool {
        let rewound = self
            .with_outbox(move |outbox| {
                let cursor = outbox.cursor.acked_through()?;
                if holds >= cursor {
                    return Ok(None);
                }
                let first_held = outbox.log.events_after(holds, 1)?.first().map(|e| e.seq);
                if first_held != Some(holds + 1) {
                    return Ok(Some(Err((cursor, first_held))));
                }
                Ok(Some(Ok(outbox.cursor.rewind(holds)?)))
            })
            .await;
        match rewound {
            Ok(Some(Ok(now))) => {
                tracing::warn!(
                    platform_holds = holds,
                    "platform link: the platform lost events it had acknowledged; sending again from event {}",
                    now + 1
                );
                self.status.acked_seq.store(now, Ordering::Relaxed);
                true
            }
            Ok(Some(Err((cursor, first_held)))) => {
                tracing::error!(
                    platform_holds = holds,
                    hall_acked_through = cursor,
                    first_held_by_the_hall = first_held,
                    "platform link: the platform lost events the hall no longer holds (pruned after \
                     their acknowledgement); they must be restored at the platform"
                );
                false
            }
            Ok(None) => false,
            Err(failed) => {
                tracing::warn!("platform link: {}", failed.why);
                false
            }
        }
    }

    /// Runs `read` on the uploader's connection, off the runtime's threads.
    async fn with_outbox<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Outbox) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Failed> {
        let outbox = Arc::clone(&self.outbox);
        tokio::task::spawn_blocking(move || {
            let outbox = outbox.lock().unwrap_or_else(|p| p.into_inner());
            read(&outbox)
        })
        .await
        .map_err(|e| Failed::new(PlatformFailure::Store, e.to_string()))?
        .map_err(|e| Failed::new(PlatformFailure::Store, e.to_string()))
    }

    /// Sends the oldest unacknowledged batch, if any, and moves the cursor by the answer.
    async fn send_next(&self) -> Result<Sent, Failed> {
        let batch_size = self.settings.batch_size;
        let (cursor, batch, last_seq) = self
            .with_outbox(move |outbox| {
                let cursor = outbox.cursor.acked_through()?;
                let batch = outbox.log.events_after(cursor, batch_size)?;
                Ok((cursor, batch, outbox.log.last_seq()?))
            })
            .await?;
        self.status.acked_seq.store(cursor, Ordering::Relaxed);
        self.status.last_seq.store(last_seq, Ordering::Relaxed);
        self.status.oldest_waiting_ms.store(
            batch.first().map_or(0, |e| e.recorded.wall_ms.max(1)),
            Ordering::Relaxed,
        );
        let Some(last) = batch.last() else {
            return Ok(Sent::Nothing);
        };
        let sent_through = last.seq;
        self.learn_platform_clock_before(&batch).await?;
        let body = {
            let clocks = self
                .platform_clocks
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            serde_json::to_vec(&PlatformBatch {
                hall_id: self.settings.hall_id.clone(),
                events: batch
                    .iter()
                    .map(|e| {
                        PlatformEvent::for_platform_corrected(e, clocks.get(&e.recorded.boot_id))
                    })
                    .collect(),
            })
        }
        .map_err(|e| Failed::new(PlatformFailure::Store, e.to_string()))?;
        let ack = self.post(body).await?;
        // An acknowledgement past what was sent is the platform holding events from an earlier
        // send: the cursor goes only as far as this batch, and the next one starts after it.
        let target = ack.acked_through.min(sent_through);
        if target <= cursor {
            return Err(Failed::new(
                PlatformFailure::Refused,
                format!(
                    "the platform acknowledged through {} for a batch of {}..={sent_through}",
                    ack.acked_through,
                    cursor + 1
                ),
            ));
        }
        let now = self
            .with_outbox(move |outbox| outbox.cursor.acknowledge(target))
            .await?;
        self.status.acked_seq.store(now, Ordering::Relaxed);
        Ok(Sent::Acknowledged)
    }

    /// Events recorded in this boot while its clock was not vouched for go up with their wall time
    /// corrected, so the platform's time must be known first: an empty batch asks for it, once a
    /// boot. A reply whose time is unusable leaves the events as they were read.
    async fn learn_platform_clock_before(&self, batch: &[StoredEvent]) -> Result<(), Failed> {
        let boot_id = self.clock.read().boot_id;
        let unvouched_in_this_boot = batch
            .iter()
            .any(|e| !e.recorded.clock_trusted && e.recorded.boot_id == boot_id);
        let known = self
            .platform_clocks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&boot_id);
        let asked = self
            .asked_time_in
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_deref()
            == Some(boot_id.as_str());
        if !unvouched_in_this_boot || known || asked {
            return Ok(());
        }
        let probe = serde_json::to_vec(&PlatformBatch {
            hall_id: self.settings.hall_id.clone(),
            events: Vec::new(),
        })
        .map_err(|e| Failed::new(PlatformFailure::Store, e.to_string()))?;
        self.post(probe).await?;
        *self.asked_time_in.lock().unwrap_or_else(|p| p.into_inner()) = Some(boot_id);
        Ok(())
    }

    /// Takes the platform's time from a reply: the offset for signing, and for this boot, if none is
    /// kept yet, the platform's clock against the monotonic clock. A time outside the plausible range
    /// is a broken reply and changes nothing.
    async fn learn_platform_time(
        &self,
        platform_ms: i64,
        sent: &ClockReading,
        answered: &ClockReading,
    ) -> Result<(), Failed> {
        if !PLAUSIBLE_PLATFORM_TIME_MS.contains(&platform_ms) {
            tracing::warn!(
                platform_ms,
                "platform link: the platform's time is not plausible; ignored"
            );
            return Ok(());
        }
        if sent.boot_id != answered.boot_id {
            return Ok(());
        }
        let halfway_wall = sent.wall_ms + (answered.wall_ms - sent.wall_ms) / 2;
        let halfway_mono = sent.mono_ms + (answered.mono_ms - sent.mono_ms) / 2;
        *self
            .platform_offset_ms
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(platform_ms - halfway_wall);
        let known = self
            .platform_clocks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&answered.boot_id);
        if known {
            return Ok(());
        }
        let reading = PlatformClock {
            mono_ms: halfway_mono,
            platform_ms,
        };
        let boot_id = answered.boot_id.clone();
        let kept = self
            .with_outbox({
                let boot_id = boot_id.clone();
                move |outbox| outbox.cursor.record_platform_clock(&boot_id, reading)
            })
            .await?;
        tracing::info!(
            boot_id,
            off_by_ms = platform_ms - halfway_wall,
            "platform link: the platform's clock is kept for this boot"
        );
        self.platform_clocks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(boot_id, kept);
        Ok(())
    }

    async fn post(&self, body: Vec<u8>) -> Result<Ack, Failed> {
        let sent = self.clock.read();
        let offset = if sent.trusted {
            0
        } else {
            self.platform_offset_ms
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .unwrap_or(0)
        };
        let timestamp_s = (sent.wall_ms + offset).div_euclid(1000);
        let signature = signing::sign(
            &self.settings.secret,
            "POST",
            self.endpoint.path(),
            &self.settings.hall_id,
            timestamp_s,
            &body,
        );
        let mut request = hyper::Request::post(self.endpoint.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json");
        for (name, value) in signature.headers() {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| Failed::new(PlatformFailure::Store, e.to_string()))?;
        let (parts, bytes) = exchange(
            &self.client,
            request,
            self.settings.timeout,
            MAX_ANSWER_BYTES,
        )
        .await?;
        let answered = self.clock.read();
        let status = parts.status;
        // Refusals carry the platform's time too: a board whose clock is off learns it from the
        // 401 its stale timestamp earned.
        if !status.is_success() {
            let said = serde_json::from_slice::<PlatformError>(&bytes).ok();
            if let Some(platform_ms) = said.and_then(|e| e.platform_time_ms) {
                self.learn_platform_time(platform_ms, &sent, &answered)
                    .await?;
            }
            return Err(refusal(&parts, &bytes));
        }
        let ack = serde_json::from_slice::<Ack>(&bytes).map_err(|e| {
            Failed::new(
                PlatformFailure::MalformedReply,
                format!("{status} without an acknowledgement: {e}"),
            )
        })?;
        self.learn_platform_time(ack.platform_time_ms, &sent, &answered)
            .await?;
        Ok(ack)
    }
}

enum Sent {
    /// Nothing waited.
    Nothing,
    /// The cursor moved forward.
    Acknowledged,
}

/// Returns at the engine's next commit, or after a while without one.
async fn wait_for_news(news: &mut broadcast::Receiver<Arc<StoredEvent>>) {
    tokio::select! {
        received = news.recv() => {
            if let Err(broadcast::error::RecvError::Closed) = received {
                // The engine is gone: what it committed is still to be sent, at the idle pace.
                tokio::time::sleep(IDLE_LOOK).await;
            }
            // The commits that came together are one wake.
            while news.try_recv().is_ok() {}
        }
        _ = tokio::time::sleep(IDLE_LOOK) => {}
    }
}
