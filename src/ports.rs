//! The ports the edges meet on. Screens, devices, buttons and voice are written against these
//! traits; the engine in this process and the LAN client each implement the hall port, the printer
//! service implements the ticket output, and the kiosk screen hands out the card input. No edge
//! imports another: the composition root (`node/`) plugs them together.
//!
//! This module depends only on the layers below it (engine, store, queue, config).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use tokio::sync::broadcast;

use crate::config::HallSetup;
pub use crate::engine::CardTapOutcome;
use crate::engine::{EngineError, EngineHandle};
use crate::identity::{CardRead, StaffPin};
use crate::lang::Lang;
use crate::queue::{CardTap, Command, Event, HallState, StoredEvent, Ticket};
use crate::store::Outcome;

/// A future a port returns; boxed so that the ports can be used as trait objects.
pub type PortFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where commands go and events come from: the engine in this process (the hall node, or the demo
/// hall with every role), or the hall node over the LAN (a terminal board). Callers cannot tell the
/// two apart except through the [`LinkState`]: an engine in the process is always there, while the
/// LAN can drop.
pub trait HallPort: Send + Sync {
    /// The hall's configuration as this board knows it.
    fn setup(&self) -> &Arc<HallSetup>;

    /// Runs `command` once: a retry with the same `command_id` returns the first outcome.
    fn execute(
        &self,
        command_id: String,
        command: Command,
    ) -> PortFuture<'_, Result<Outcome, CommandError>>;

    /// The hall's state at once, where the port holds it (an engine in this process); a LAN link
    /// answers `None` and delivers the state through [`HallPort::follow`] when the hall node answers.
    fn snapshot(&self) -> PortFuture<'_, Option<HallState>>;

    /// Delivers the hall's state after every batch of committed events that holds an event of
    /// `interest` (or after events were missed), and the link at every change, until the returned
    /// future is dropped. The first news is the whole state (with no events), so a follower that
    /// joins late starts complete. A follower of a few kinds (calls, issues) thus costs no copy of
    /// the state for the batches it would skip.
    fn follow(
        &self,
        interest: fn(&Event) -> bool,
        deliver: Arc<dyn Fn(HallNews) + Send + Sync>,
    ) -> PortFuture<'static, ()>;

    /// Signs `staff` in at `window`, with the PIN where the hall asks for one. The PIN is checked on
    /// the hall node, which keeps only the verdict; a wrong or locked one comes back as a refusal.
    fn sign_in(
        &self,
        window: u16,
        staff: String,
        pin: Option<StaffPin>,
    ) -> PortFuture<'_, Result<Outcome, CommandError>>;

    /// A card laid on the kiosk's reader, answered by the hall node, which alone holds the hall key:
    /// it hashes the number, issues the ticket or checks the booking in under `command_id`, and
    /// says what happened.
    fn tap_card(
        &self,
        command_id: String,
        tap: CardTap,
    ) -> PortFuture<'_, Result<CardTapOutcome, CommandError>>;

    /// Runs `command` under a fresh command id: for a caller that does not retry by itself.
    fn send(&self, command: Command) -> PortFuture<'_, Result<Outcome, CommandError>> {
        self.execute(uuid::Uuid::now_v7().to_string(), command)
    }
}

/// A shared hall port: what the composition root hands to every edge.
pub type Hall = Arc<dyn HallPort>;

impl From<EngineHandle> for Hall {
    fn from(engine: EngineHandle) -> Hall {
        Arc::new(engine)
    }
}

/// What a follower of the hall learns.
#[derive(Debug, Clone)]
pub enum HallNews {
    /// The state after `events` were committed (none for the first news).
    State {
        state: Arc<HallState>,
        events: Vec<Arc<StoredEvent>>,
    },
    /// Whether the hall can be reached changed.
    Link(LinkState),
    /// Whether the hall node has been cut off from the platform for longer than its config allows
    /// changed, as a terminal on the LAN hears it (a board running the link watches it itself).
    PlatformCutOff(bool),
}

/// Whether the hall node can be reached, as a terminal's screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Nothing tried yet.
    Unknown,
    Connected,
    /// The last attempt failed; the link keeps retrying.
    Lost {
        reason: String,
    },
    /// The hall node answers but no longer knows this terminal's token (revoked, or the hall's
    /// database replaced): only pairing again helps. The link keeps trying in case it is restored.
    Unpaired {
        reason: String,
    },
}

/// Why a command has no outcome.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The hall node answered and said no (bad token, wrong role, bad request): retrying cannot help.
    #[error("{0}")]
    Refused(String),
    /// The hall node was not reached in time; the command may or may not have been executed, and
    /// sending it again with the same id finds out without acting twice.
    #[error("{0}")]
    NotReached(String),
}

impl HallPort for EngineHandle {
    fn setup(&self) -> &Arc<HallSetup> {
        EngineHandle::setup(self)
    }

    fn execute(
        &self,
        command_id: String,
        command: Command,
    ) -> PortFuture<'_, Result<Outcome, CommandError>> {
        Box::pin(async move { Ok(EngineHandle::execute(self, command_id, command).await?) })
    }

    fn sign_in(
        &self,
        window: u16,
        staff: String,
        pin: Option<StaffPin>,
    ) -> PortFuture<'_, Result<Outcome, CommandError>> {
        let command_id = uuid::Uuid::now_v7().to_string();
        Box::pin(
            async move { Ok(EngineHandle::sign_in(self, command_id, window, staff, pin).await?) },
        )
    }

    fn tap_card(
        &self,
        command_id: String,
        tap: CardTap,
    ) -> PortFuture<'_, Result<CardTapOutcome, CommandError>> {
        Box::pin(async move { Ok(EngineHandle::tap_card(self, command_id, tap).await?) })
    }

    fn snapshot(&self) -> PortFuture<'_, Option<HallState>> {
        Box::pin(async move { self.state().await.ok() })
    }

    fn follow(
        &self,
        interest: fn(&Event) -> bool,
        deliver: Arc<dyn Fn(HallNews) + Send + Sync>,
    ) -> PortFuture<'static, ()> {
        let engine = self.clone();
        Box::pin(follow_engine(engine, interest, deliver))
    }
}

/// Every event: for a follower that shows the whole hall.
pub fn every_event(_: &Event) -> bool {
    true
}

/// Whether a follower of `interest` is to hear of `batch`; an empty batch stands for missed events.
pub fn concerns(interest: fn(&Event) -> bool, batch: &[Arc<StoredEvent>]) -> bool {
    batch.is_empty() || batch.iter().any(|stored| interest(&stored.event))
}

async fn follow_engine(
    engine: EngineHandle,
    interest: fn(&Event) -> bool,
    deliver: Arc<dyn Fn(HallNews) + Send + Sync>,
) {
    // Subscribe before reading the state, so no event falls between the two.
    let mut events = engine.subscribe();
    deliver(HallNews::Link(LinkState::Connected));
    let Ok(state) = engine.state().await else {
        return;
    };
    deliver(HallNews::State {
        state: Arc::new(state),
        events: Vec::new(),
    });
    loop {
        let mut batch = match events.recv().await {
            Ok(event) => vec![event],
            // Missed events are only missed animations: the state fetched below is complete.
            Err(broadcast::error::RecvError::Lagged(_)) => Vec::new(),
            Err(broadcast::error::RecvError::Closed) => return,
        };
        while let Ok(event) = events.try_recv() {
            batch.push(event);
        }
        if !concerns(interest, &batch) {
            continue;
        }
        let Ok(state) = engine.state().await else {
            return;
        };
        deliver(HallNews::State {
            state: Arc::new(state),
            events: batch,
        });
    }
}

/// The kiosk's printer as its faults are named in the hall state: the screens watch for it, the
/// printer driver reports under it.
pub const TICKET_PRINTER: &str = "ticket_printer";
/// The kiosk's ID-card reader, named as [`TICKET_PRINTER`] is.
pub const IDCARD_READER: &str = "idcard_reader";

/// Told where the kiosk takes card reads once its screen is bound.
pub type OnKioskBound = Arc<dyn Fn(Arc<dyn CardInput>) + Send + Sync>;

/// Where the kiosk's tickets go: a printer, a simulator, or nowhere (the kiosk then shows the number
/// on screen).
pub trait TicketOutput: Send + Sync {
    /// Prints `job`, blocking until the printer has it or has failed; the error says why in words
    /// staff can act on.
    fn print(&self, job: &PrintJob) -> Result<(), String>;
}

/// One issued ticket as the kiosk asks for it to be printed; the output lays it out.
#[derive(Debug, Clone)]
pub struct PrintJob {
    pub setup: Arc<HallSetup>,
    pub ticket: Ticket,
    /// People waiting ahead of this ticket when it was issued.
    pub people_ahead: u32,
    /// The citizen's language on the kiosk (the ticket's status link opens in it).
    pub lang: Lang,
}

/// Where a read ID card goes: the kiosk's screen, which takes the ticket the citizen is choosing or
/// checks in a booking. Called from the reader's thread.
pub trait CardInput: Send + Sync {
    /// A card was read; `expired` marks a card past its expiry date, which a service that does not
    /// accept expired cards refuses with a notice. The number and name go on to the hall node only.
    fn card_read(&self, card: CardRead, expired: bool);
    /// A card lay on the reader but could not be read: the kiosk tells the citizen what to do.
    fn card_unreadable(&self);
}

/// What the card readers of this process have met: the readers count, `/metrics` shows.
#[derive(Debug)]
pub struct CardCounters {
    /// Card placements the reader could not read, each told to the citizen once.
    pub unreadable: AtomicU64,
}

/// The process's card counters: readers run on their own threads and report into these.
pub static CARD_COUNTERS: CardCounters = CardCounters {
    unreadable: AtomicU64::new(0),
};

/// Why a try to reach the platform failed, as `/metrics` counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformFailure {
    /// No connection, or it broke before the answer was read.
    Connect,
    /// No whole answer within the request's time.
    Timeout,
    /// A 5xx other than 503.
    ServerError,
    /// 429 or 503: the platform asked the hall to come back later.
    Throttled,
    /// A 4xx: the platform refused the batch or its signature, or acknowledged nothing new.
    Refused,
    /// A 2xx whose body is not an acknowledgement.
    MalformedReply,
    /// The hall's own database could not be read or the cursor not written.
    Store,
}

impl PlatformFailure {
    pub const ALL: [PlatformFailure; 7] = [
        PlatformFailure::Connect,
        PlatformFailure::Timeout,
        PlatformFailure::ServerError,
        PlatformFailure::Throttled,
        PlatformFailure::Refused,
        PlatformFailure::MalformedReply,
        PlatformFailure::Store,
    ];

    /// The `kind` label.
    pub fn name(self) -> &'static str {
        match self {
            PlatformFailure::Connect => "connect",
            PlatformFailure::Timeout => "timeout",
            PlatformFailure::ServerError => "server_error",
            PlatformFailure::Throttled => "throttled",
            PlatformFailure::Refused => "refused",
            PlatformFailure::MalformedReply => "malformed_reply",
            PlatformFailure::Store => "store",
        }
    }
}

/// How far the platform link has come: the uploader writes it, `/metrics` reads it. Neither knows
/// the other.
#[derive(Debug, Default)]
pub struct PlatformSync {
    /// The last sequence the platform acknowledged.
    pub acked_seq: AtomicU64,
    /// The log's last sequence, as the uploader last looked.
    pub last_seq: AtomicU64,
    /// When the oldest event not yet acknowledged was recorded (wall ms); 0 when none waits.
    pub oldest_waiting_ms: AtomicI64,
    /// Failed tries, by [`PlatformFailure`] in the order of [`PlatformFailure::ALL`].
    pub failures: [AtomicU64; 7],
    /// The monotonic clock (ms since boot) at the first failed try since the platform last answered
    /// with an acknowledgement; 0 while in touch. Monotonic, so a clock set while the link is down
    /// neither hides nor invents an outage.
    pub failing_since_mono_ms: AtomicI64,
}

impl PlatformSync {
    pub fn count(&self, failure: PlatformFailure) {
        let at = PlatformFailure::ALL
            .iter()
            .position(|f| *f == failure)
            .expect("every failure is listed");
        self.failures[at].fetch_add(1, Ordering::Relaxed);
    }

    pub fn failures_of(&self, failure: PlatformFailure) -> u64 {
        let at = PlatformFailure::ALL
            .iter()
            .position(|f| *f == failure)
            .expect("every failure is listed");
        self.failures[at].load(Ordering::Relaxed)
    }

    /// A try failed at monotonic `mono_ms`: the outage starts there unless it started earlier.
    pub fn mark_failing(&self, mono_ms: i64) {
        let _ = self.failing_since_mono_ms.compare_exchange(
            0,
            mono_ms.max(1),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// The platform acknowledged, or nothing waits to be sent: the link is in touch.
    pub fn mark_in_touch(&self) {
        self.failing_since_mono_ms.store(0, Ordering::Relaxed);
    }

    /// How long the hall has been cut off from the platform at monotonic `now_mono_ms`: since the
    /// first failed try with no acknowledgement after it. `None` while in touch.
    pub fn cut_off_for_ms(&self, now_mono_ms: i64) -> Option<i64> {
        match self.failing_since_mono_ms.load(Ordering::Relaxed) {
            0 => None,
            since => Some((now_mono_ms - since).max(0)),
        }
    }

    /// Whether the hall has been cut off from the platform for `mark_after_minutes` or longer at
    /// monotonic `now_mono_ms`: when the window panels mark it.
    pub fn cut_off_beyond(&self, now_mono_ms: i64, mark_after_minutes: u32) -> bool {
        self.cut_off_for_ms(now_mono_ms)
            .is_some_and(|cut_off| cut_off >= i64::from(mark_after_minutes) * 60_000)
    }

    /// Events recorded but not yet acknowledged.
    pub fn behind_events(&self) -> u64 {
        self.last_seq
            .load(Ordering::Relaxed)
            .saturating_sub(self.acked_seq.load(Ordering::Relaxed))
    }

    /// How long the oldest unacknowledged event has waited, at `now_ms`.
    pub fn behind_seconds(&self, now_ms: i64) -> f64 {
        match self.oldest_waiting_ms.load(Ordering::Relaxed) {
            0 => 0.0,
            since => (now_ms - since).max(0) as f64 / 1000.0,
        }
    }
}

/// The platform link of this process, once the node has started one: `/metrics` shows it.
pub static PLATFORM_SYNC: std::sync::OnceLock<Arc<PlatformSync>> = std::sync::OnceLock::new();

/// This process's platform link with the minutes without an acknowledgement after which the hall
/// counts as cut off (`[platform] offline_mark_after_minutes`); `None` when it runs none.
pub fn platform_link_of(setup: &HallSetup) -> Option<(Arc<PlatformSync>, u32)> {
    let limit = setup.config.platform.as_ref()?.offline_mark_after_minutes;
    Some((PLATFORM_SYNC.get()?.clone(), limit))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_follower_hears_only_of_the_batches_it_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let mut setup = crate::config::example();
        setup.open_around_the_clock();
        let clock = Arc::new(crate::clock::ManualClock::new(1_795_572_000_000));
        let (engine, _writer) =
            crate::engine::start(Arc::new(setup), &dir.path().join("hall.db"), clock).unwrap();
        let heard: Arc<Mutex<Vec<Vec<&'static str>>>> = Arc::default();
        let is_call = |event: &Event| crate::queue::policy::call_in(event).is_some();
        let follower = tokio::spawn(engine.follow(is_call, {
            let heard = Arc::clone(&heard);
            Arc::new(move |news| {
                if let HallNews::State { events, .. } = news {
                    let kinds = events.iter().map(|e| e.event.kind()).collect();
                    heard.lock().unwrap().push(kinds);
                }
            })
        }));
        let pause = || tokio::time::sleep(Duration::from_millis(150));
        pause().await;
        let commands = [
            Command::IssueTicket {
                service: "SB".into(),
                citizen: None,
                by_staff: false,
            },
            Command::sign_in_by_number(1, "1001"),
            Command::CallNext { window: 1 },
        ];
        for (i, command) in commands.into_iter().enumerate() {
            HallPort::execute(&engine, format!("c{i}"), command)
                .await
                .unwrap();
            pause().await;
        }
        follower.abort();
        // The whole state first, then only the batch with the call.
        assert_eq!(*heard.lock().unwrap(), [vec![], vec!["ticket_called"]]);
        assert!(concerns(is_call, &[]), "missed events are told");
    }
}
