//! The hall's puller of bookings: asks the platform for the bookings changed since its cursor, turns
//! each change into a command for the engine, and moves the cursor once the engine has committed
//! them all.
//!
//! A new booking becomes `Book`, a changed one `RescheduleBooking`, a cancelled one
//! `CancelBooking`, each under a command id made of the booking's id and version: a page pulled
//! again (its cursor write lost to a crash, or the platform sending it twice) answers from the
//! engine's kept results and changes nothing. A page that does not read as one (bad JSON, out of
//! order, another hall's, a name unmasked) is dropped whole before any of it reaches the engine.
//!
//! The pull that fails waits like the uploader (backoff with jitter, `Retry-After` obeyed). When
//! none has succeeded for `stale_after`, the puller records so through the engine
//! (`MarkBookings`), and the next successful pull records that the list is current again: the
//! domain sees the staleness only as those recorded facts. The time of the last successful pull is
//! kept in `hall_meta` (`BookingsCursor::record_pull`), so the wait runs on across a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::booking_wire::{BOOKINGS_PATH, BookingChange, BookingPage, BookingStatus};
use super::exchange::{Failed, PlatformClient, exchange, refusal};
use super::signing;
use super::uplink::{MAX_RETRY_AFTER, UplinkError, UplinkSettings, platform_client};
use crate::config::PlatformConfig;
use crate::engine::{EngineError, EngineHandle};
use crate::ports::PlatformFailure;
use crate::queue::{Booking, Command};
use crate::store::{BookingsCursor, CommandResult, StoreError};

/// Changes asked for in one request: a full page stays well under the answer limit.
pub const BOOKINGS_PAGE: usize = 100;

/// A longer answer is no page: reading stops there and the pull counts as failed.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// What the puller needs to know.
#[derive(Debug, Clone)]
pub struct DownlinkSettings {
    /// The platform, the hall and its secret, as the uploader has them.
    pub link: UplinkSettings,
    /// The wait between pulls that succeeded.
    pub pull_every: Duration,
    /// No successful pull for this long makes the list stale.
    pub stale_after: Duration,
    pub page_size: usize,
}

impl DownlinkSettings {
    /// The settings of the hall's `[platform]` table.
    pub fn from_config(
        config: &PlatformConfig,
        hall_id: &str,
    ) -> Result<DownlinkSettings, UplinkError> {
        Ok(DownlinkSettings {
            link: UplinkSettings::from_config(config, hall_id)?,
            pull_every: Duration::from_secs(u64::from(config.bookings_pull_s)),
            stale_after: Duration::from_secs(u64::from(config.bookings_stale_after_minutes) * 60),
            page_size: BOOKINGS_PAGE,
        })
    }
}

/// How the puller fares, for tests and the node's log.
#[derive(Debug, Default)]
pub struct BookingsSync {
    /// Pulls that read every page to the end and committed it.
    pub pulls: AtomicU64,
    /// Pulls that failed, whatever the reason.
    pub failures: AtomicU64,
    /// Changes the engine refused (a booking unknown, closed, for a past day …): taken, not retried.
    pub refused: AtomicU64,
    /// The cursor as last written.
    pub after: AtomicU64,
    /// Whether the puller last recorded the list as stale.
    pub stale: AtomicBool,
}

/// A running puller; stops when dropped or with [`Downlink::stop`].
pub struct Downlink {
    task: JoinHandle<()>,
    status: Arc<BookingsSync>,
}

impl Downlink {
    /// Starts pulling for `engine`'s hall. Must be called inside a tokio runtime.
    pub fn start(
        engine: &EngineHandle,
        settings: DownlinkSettings,
    ) -> Result<Downlink, UplinkError> {
        let cursor = BookingsCursor::open(engine.db_path())?;
        let base = settings.link.url.trim_end_matches('/').to_string();
        let client = platform_client(&settings.link)?;
        let status = Arc::new(BookingsSync::default());
        let puller = Puller {
            engine: engine.clone(),
            cursor: Arc::new(std::sync::Mutex::new(cursor)),
            client,
            base,
            settings,
            status: Arc::clone(&status),
        };
        Ok(Downlink {
            task: tokio::spawn(puller.run()),
            status,
        })
    }

    pub fn status(&self) -> &Arc<BookingsSync> {
        &self.status
    }

    /// Stops at once; a page in flight is asked for again by the next start.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for Downlink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Puller {
    engine: EngineHandle,
    cursor: Arc<std::sync::Mutex<BookingsCursor>>,
    client: PlatformClient,
    base: String,
    settings: DownlinkSettings,
    status: Arc<BookingsSync>,
}

impl Puller {
    async fn run(self) {
        // Staleness runs from the last pull that succeeded, kept across restarts; only a hall
        // that never pulled counts from its start.
        let kept = match self.with_cursor(|c| c.last_pull_ms()).await {
            Ok(kept) => kept,
            Err(failed) => {
                tracing::warn!(
                    "the time of the last bookings pull is unreadable: {}",
                    failed.why
                );
                None
            }
        };
        let mut last_success_wall = kept;
        let mut stale_at =
            Instant::now() + self.settings.stale_after.saturating_sub(self.since(kept));
        // Unknown at start: the first outcome is recorded either way (the engine records nothing
        // when the state already says so).
        let mut recorded_stale: Option<bool> = None;
        let mut delays: Option<crate::retry::Delays> = None;
        loop {
            let wait = match self.pull_to_the_end().await {
                Ok(()) => {
                    self.status.pulls.fetch_add(1, Ordering::Relaxed);
                    stale_at = Instant::now() + self.settings.stale_after;
                    let wall_ms = self.engine.clock().read().wall_ms;
                    last_success_wall = Some(wall_ms);
                    if let Err(failed) = self.with_cursor(move |c| c.record_pull(wall_ms)).await {
                        // The pull stands; only a restart before the next one would wait afresh.
                        tracing::warn!(
                            "the time of this bookings pull is not kept: {}",
                            failed.why
                        );
                    }
                    delays = None;
                    if recorded_stale != Some(false) && self.mark(false, None).await {
                        recorded_stale = Some(false);
                    }
                    self.settings.pull_every
                }
                Err(failed) => {
                    self.status.failures.fetch_add(1, Ordering::Relaxed);
                    let backoff = delays
                        .get_or_insert_with(|| self.settings.link.backoff.delays())
                        .next_delay();
                    let wait = failed
                        .retry_after
                        .map_or(backoff, |asked| asked.min(MAX_RETRY_AFTER));
                    tracing::warn!(
                        kind = failed.kind.name(),
                        wait_ms = wait.as_millis() as u64,
                        "bookings from the platform: {}",
                        failed.why
                    );
                    let until_stale = stale_at.saturating_duration_since(Instant::now());
                    let stale = until_stale.is_zero();
                    if stale
                        && recorded_stale != Some(true)
                        && self.mark(true, last_success_wall).await
                    {
                        recorded_stale = Some(true);
                    }
                    // Wake when the list turns stale, whatever the backoff says.
                    if stale { wait } else { wait.min(until_stale) }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// How long ago, by the board's wall clock, the pull kept at `kept` succeeded; zero for none,
    /// and for one the clock now reads as later (set back since).
    fn since(&self, kept: Option<i64>) -> Duration {
        let now = self.engine.clock().read().wall_ms;
        kept.and_then(|at| u64::try_from(now - at).ok())
            .map_or(Duration::ZERO, Duration::from_millis)
    }

    /// Records through the engine whether the list is stale; true once recorded.
    async fn mark(&self, stale: bool, last_pull_ms: Option<i64>) -> bool {
        let command = Command::MarkBookings {
            stale,
            last_pull_ms,
        };
        let id = format!(
            "bookings-{}-{}",
            if stale { "stale" } else { "current" },
            uuid::Uuid::now_v7()
        );
        match self.engine.execute(id, command).await {
            Ok(_) => {
                self.status.stale.store(stale, Ordering::Relaxed);
                if stale {
                    tracing::warn!(
                        "the hall's bookings are stale: no pull has succeeded for {:?}",
                        self.settings.stale_after
                    );
                }
                true
            }
            Err(e) => {
                tracing::error!("recording whether bookings are stale failed: {e}");
                false
            }
        }
    }

    async fn with_cursor<T: Send + 'static>(
        &self,
        work: impl FnOnce(&BookingsCursor) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Failed> {
        let cursor = Arc::clone(&self.cursor);
        tokio::task::spawn_blocking(move || {
            let cursor = cursor.lock().unwrap_or_else(|p| p.into_inner());
            work(&cursor)
        })
        .await
        .map_err(|e| Failed::new(PlatformFailure::Store, e.to_string()))?
        .map_err(Failed::from)
    }

    /// Pulls page after page until the platform has no more, committing each before the next.
    async fn pull_to_the_end(&self) -> Result<(), Failed> {
        loop {
            let after = self.with_cursor(|c| c.after()).await?;
            self.status.after.store(after, Ordering::Relaxed);
            let page = self.fetch(after).await?;
            for change in &page.changes {
                self.take(change).await?;
            }
            // Every change of the page is committed (or refused for good): only now the cursor moves.
            let next = page.next_after;
            let now = self.with_cursor(move |c| c.advance(next)).await?;
            self.status.after.store(now, Ordering::Relaxed);
            if !page.more {
                return Ok(());
            }
        }
    }

    async fn fetch(&self, after: u64) -> Result<BookingPage, Failed> {
        let limit = self.settings.page_size;
        let path_and_query = format!("{BOOKINGS_PATH}?after={after}&limit={limit}");
        let uri: hyper::Uri = format!("{}{path_and_query}", self.base)
            .parse()
            .map_err(|e| Failed::new(PlatformFailure::Store, format!("{e}")))?;
        let link = &self.settings.link;
        let timestamp_s = self.engine.clock().read().wall_ms.div_euclid(1000);
        let signature = signing::sign(
            &link.secret,
            "GET",
            &path_and_query,
            &link.hall_id,
            timestamp_s,
            b"",
        );
        let mut request = hyper::Request::get(uri);
        for (name, value) in signature.headers() {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(Bytes::new()))
            .map_err(|e| Failed::new(PlatformFailure::Store, e.to_string()))?;
        let (parts, bytes) =
            exchange(&self.client, request, link.timeout, MAX_ANSWER_BYTES).await?;
        let status = parts.status;
        if !status.is_success() {
            return Err(refusal(&parts, &bytes));
        }
        let page: BookingPage = serde_json::from_slice(&bytes).map_err(|e| {
            Failed::new(
                PlatformFailure::MalformedReply,
                format!("{status} without a page of bookings: {e}"),
            )
        })?;
        if let Some(problem) = page.problem(&link.hall_id, after, limit) {
            return Err(Failed::new(
                PlatformFailure::MalformedReply,
                format!("a page of bookings dropped whole: {problem}"),
            ));
        }
        Ok(page)
    }

    /// Hands one change to the engine. A refusal is final (the same change would be refused
    /// again) and only counted; a store that failed stops the pull, the cursor where it was.
    async fn take(&self, change: &BookingChange) -> Result<(), Failed> {
        let booking = Booking {
            id: change.id.clone(),
            service: change.service.clone(),
            day: change.day,
            start: change.start.clone(),
            end: change.end.clone(),
            id_hash: change.id_hash.clone(),
            masked_name: change.masked_name.clone(),
            version: change.version,
        };
        // The platform's booking id may be any text: the command id carries its digest.
        let tag = hex::encode(&Sha256::digest(change.id.as_bytes())[..12]);
        let id = format!("booking-{tag}-v{}", change.version);
        let refused = match change.status {
            BookingStatus::Cancelled => {
                self.execute(
                    id,
                    Command::CancelBooking {
                        id: change.id.clone(),
                    },
                )
                .await?
            }
            BookingStatus::Booked if change.version == 1 => {
                self.execute(id, Command::Book { booking }).await?
            }
            BookingStatus::Booked => {
                let refused = self
                    .execute(
                        id.clone(),
                        Command::RescheduleBooking {
                            booking: booking.clone(),
                        },
                    )
                    .await?;
                // Made and changed between two pulls: the hall meets it in its changed form.
                if refused.as_deref() == Some("unknown_booking") {
                    self.execute(format!("{id}-new"), Command::Book { booking })
                        .await?
                } else {
                    refused
                }
            }
        };
        if let Some(code) = refused {
            self.status.refused.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                booking = change.id,
                version = change.version,
                code,
                "a booking change the hall does not take"
            );
        }
        Ok(())
    }

    /// Runs one command; returns the refusal's code, if refused.
    async fn execute(&self, id: String, command: Command) -> Result<Option<String>, Failed> {
        match self.engine.execute(id, command).await {
            Ok(outcome) => Ok(match outcome.result {
                CommandResult::Done(_) => None,
                CommandResult::Refused(refusal) => Some(refusal.code),
            }),
            // The same id and version with other content: the platform changed a booking without
            // counting the change. The hall keeps what it took first.
            Err(EngineError::CommandIdReused(id)) => Ok(Some(format!("command_id_reused:{id}"))),
            Err(e) => Err(Failed::new(PlatformFailure::Store, e.to_string())),
        }
    }
}
