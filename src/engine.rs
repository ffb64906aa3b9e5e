//! The single writer: commands in, events out.
//!
//! One thread owns the store and the live state. Commands reach it over a channel; whatever has queued up
//! while the previous batch was being written is decided and written together in one transaction (group
//! commit), so a slow SD card costs one fsync per batch rather than per command. Only after the commit
//! are callers answered and events broadcast: nobody ever sees an event that could still be lost.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use tokio::sync::{broadcast, mpsc, oneshot};

use crate::clock::Clock;
use crate::config::HallSetup;
use crate::identity::{HallKey, StaffPin};
use crate::queue::card_tap::{self, CardTap, TapDetail};
use crate::queue::day::{self, HallTime};
use crate::queue::{
    Command, Drawn, Event, HallState, Recorded, Refusal, StaffProof, StoredEvent, day_opening,
    decide, reply_for,
};
use crate::store::{
    self, CommandDigest, CommandResult, Outcome, PinLimits, Pruned, Retention, StaffBookError,
    Store, StoreError,
};

/// Most commands written in one transaction.
const MAX_BATCH: usize = 256;
/// The longest command id the engine keeps. Terminals on the LAN get less: see `lan::api`.
pub const MAX_COMMAND_ID_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("the engine has stopped")]
    Stopped,
    #[error("the store failed, nothing was recorded: {0}")]
    Storage(String),
    #[error("a command id is 1 to {MAX_COMMAND_ID_LEN} printable ASCII characters")]
    BadCommandId,
    #[error("command id {0} was already used for a different command")]
    CommandIdReused(String),
    /// The hall node cannot hash a card: its key file is unreadable. Nothing was recorded.
    #[error("the hall key cannot be read: {0}")]
    HallKey(String),
}

/// What a card tap came to: the command's outcome (a ticket, or a refusal), and what the kiosk needs
/// to word a refusal without learning whose card it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardTapOutcome {
    pub outcome: Outcome,
    pub detail: TapDetail,
}

enum Request {
    Execute {
        command_id: String,
        command: Command,
        reply: oneshot::Sender<Result<Outcome, EngineError>>,
    },
    State {
        reply: oneshot::Sender<HallState>,
    },
    /// One bounded step of retention (see `store::retention`).
    Prune {
        reply: oneshot::Sender<Result<Pruned, EngineError>>,
    },
}

/// Rows of each kind one retention step may remove: a step is a short transaction, and commands
/// queued meanwhile wait for one such step at most.
pub const PRUNE_STEP_ROWS: usize = 500;

/// The pause between two retention steps, in which commands from the LAN go first.
const PRUNE_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// How often retention runs after the run at start.
pub const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Counters of the writer's work, for `/metrics` and for checking that group commit happens.
#[derive(Debug, Default)]
pub struct EngineCounters {
    /// Transactions committed.
    pub batches: AtomicU64,
    /// Commands decided and committed (retries answered from the store are not counted).
    pub commands: AtomicU64,
    /// Of those, the refused ones.
    pub refused: AtomicU64,
    pub events: AtomicU64,
    /// Batches the store failed to write.
    pub failed_batches: AtomicU64,
    /// CPU time the writer spent deciding, writing and committing batches, in nanoseconds; counted
    /// before a batch's callers are answered, so a caller reading it after its answer sees its own.
    pub writer_cpu_ns: AtomicU64,
}

/// A cheap, cloneable way to talk to the engine.
#[derive(Clone)]
pub struct EngineHandle {
    counters: Arc<EngineCounters>,
    requests: mpsc::Sender<Request>,
    events: broadcast::Sender<Arc<StoredEvent>>,
    setup: Arc<HallSetup>,
    /// Shared, not owned: the handle is cloned for every LAN request.
    db_path: Arc<Path>,
    clock: Arc<dyn Clock>,
    /// The hall key, read (or made) beside the database at the first card tap.
    hall_key: Arc<std::sync::OnceLock<HallKey>>,
}

/// The engine's thread; joining it waits until every handle is dropped and the last batch is written.
pub struct EngineThread {
    writer: JoinHandle<()>,
    checkpointer: store::Checkpointer,
}

impl EngineThread {
    pub fn join(self) {
        let _ = self.writer.join();
        self.checkpointer.stop();
    }
}

/// Opens the store at `db_path`, loads the live state and starts the writer thread.
pub fn start(
    setup: Arc<HallSetup>,
    db_path: &Path,
    clock: Arc<dyn Clock>,
) -> Result<(EngineHandle, EngineThread), StoreError> {
    start_with_wal_limit(setup, db_path, clock, store::WAL_LIMIT_BYTES)
}

/// [`start`], with the WAL folded back whenever it passes `wal_limit` bytes.
pub fn start_with_wal_limit(
    setup: Arc<HallSetup>,
    db_path: &Path,
    clock: Arc<dyn Clock>,
    wal_limit: u64,
) -> Result<(EngineHandle, EngineThread), StoreError> {
    let mut store = Store::open(db_path, &setup.config.hall.id)?;
    store.set_wal_limit(wal_limit)?;
    // A card too full for the WAL's size still serves the hall: its commits grow the WAL, as before.
    if let Err(e) = store.presize_wal() {
        tracing::warn!("the WAL could not be given its size: {e}");
    }
    let checkpointer = store::Checkpointer::start(db_path)?;
    let state = store.load_state()?;
    let (requests, receiver) = mpsc::channel(4096);
    let (events, _) = broadcast::channel(4096);
    let counters = Arc::new(EngineCounters::default());
    let writer = Writer {
        counters: counters.clone(),
        store,
        live: Live {
            setup: setup.clone(),
            state,
            clock: clock.clone(),
        },
        events: events.clone(),
    };
    let thread = std::thread::Builder::new()
        .name("hallq-engine".into())
        .spawn(move || writer.run(receiver))
        .expect("the engine thread starts");
    let handle = EngineHandle {
        counters,
        requests,
        events,
        setup,
        db_path: Arc::from(db_path),
        clock,
        hall_key: Arc::default(),
    };
    Ok((
        handle,
        EngineThread {
            writer: thread,
            checkpointer,
        },
    ))
}

impl EngineHandle {
    /// Executes `command` once: a second call with the same `command_id` returns the first outcome.
    pub async fn execute(
        &self,
        command_id: impl Into<String>,
        command: Command,
    ) -> Result<Outcome, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Execute {
                command_id: command_id.into(),
                command,
                reply,
            })
            .await
            .map_err(|_| EngineError::Stopped)?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }

    /// Signs `staff` in at `window`. A PIN is checked against the staff book first, on a blocking
    /// thread (an Argon2 check takes tens of milliseconds, which the writer must not wait through),
    /// and only the verdict goes to the writer: the PIN is neither stored nor logged.
    pub async fn sign_in(
        &self,
        command_id: impl Into<String>,
        window: u16,
        staff: String,
        pin: Option<StaffPin>,
    ) -> Result<Outcome, EngineError> {
        let proof = match pin {
            None => StaffProof::NumberOnly,
            Some(pin) => self.check_pin(&staff, pin).await?,
        };
        if matches!(proof, StaffProof::WrongPin | StaffProof::Locked) {
            tracing::warn!(window, staff, ?proof, "a sign-in with a wrong PIN");
        }
        let command = Command::SignIn {
            window,
            staff,
            proof,
        };
        self.execute(command_id, command).await
    }

    async fn check_pin(&self, staff: &str, pin: StaffPin) -> Result<StaffProof, EngineError> {
        let rules = &self.setup.config.staff;
        let limits = PinLimits {
            attempts: rules.pin_attempts,
            lockout_ms: i64::from(rules.lockout_minutes) * 60_000,
        };
        let db_path = self.db_path.clone();
        let hall_id = self.setup.config.hall.id.clone();
        let staff = staff.to_string();
        let now_ms = self.clock.read().wall_ms;
        let storage = |e: &dyn std::fmt::Display| EngineError::Storage(e.to_string());
        tokio::task::spawn_blocking(move || {
            Store::open(&db_path, &hall_id)?
                .into_staff_book()
                .check(&staff, &pin, now_ms, limits)
        })
        .await
        .map_err(|e| storage(&e))?
        .map_err(|e: StaffBookError| storage(&e))
    }

    /// Answers a card tap at a kiosk: hashes the number with the hall key (the number goes no
    /// further than this function, and is wiped with `tap`), refuses an expired card where the
    /// service does not take one, then issues the ticket or checks the booking in under
    /// `command_id`, so a retried tap acts once.
    pub async fn tap_card(
        &self,
        command_id: impl Into<String>,
        tap: CardTap,
    ) -> Result<CardTapOutcome, EngineError> {
        let key = self.hall_key()?;
        let CardTap {
            card,
            service,
            expired,
        } = tap;
        let citizen = card_tap::citizen_card(&card, &key);
        drop(card);
        let id_hash = citizen.id_hash.clone();
        if expired {
            let state = self.state().await?;
            if let Some(refusing) = card_tap::service_refusing_expired(
                &self.setup,
                &state,
                service.as_deref(),
                &id_hash,
            ) {
                tracing::info!(
                    service = %refusing,
                    "an expired ID card was refused: the service does not accept one"
                );
                let refusal = Refusal::CardExpired(refusing.clone());
                return Ok(CardTapOutcome {
                    outcome: Outcome {
                        command_id: command_id.into(),
                        result: CommandResult::Refused(refusal.to_wire()),
                        seq: state.last_seq,
                    },
                    detail: TapDetail {
                        service: Some(refusing),
                        ..TapDetail::default()
                    },
                });
            }
        }
        let command = card_tap::command_for(service.as_deref(), citizen);
        let outcome = self.execute(command_id, command).await?;
        let detail = match &outcome.result {
            CommandResult::Refused(refusal) => {
                let state = self.state().await?;
                card_tap::tap_detail(
                    &self.setup,
                    &state,
                    &refusal.code,
                    service.as_deref(),
                    &id_hash,
                )
            }
            CommandResult::Done(_) => TapDetail::default(),
        };
        Ok(CardTapOutcome { outcome, detail })
    }

    /// The hall key cards are hashed with: `idcard.key` beside the database, made on first use.
    pub fn hall_key(&self) -> Result<HallKey, EngineError> {
        if let Some(key) = self.hall_key.get() {
            return Ok(key.clone());
        }
        let path = crate::identity::key_path_beside(&self.db_path);
        let key = crate::identity::load_or_create_key(&path)
            .map_err(|e| EngineError::HallKey(format!("{e:#}")))?;
        Ok(self.hall_key.get_or_init(|| key).clone())
    }

    /// A copy of the live state, as of the last committed batch.
    pub async fn state(&self) -> Result<HallState, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::State { reply })
            .await
            .map_err(|_| EngineError::Stopped)?;
        answer.await.map_err(|_| EngineError::Stopped)
    }

    /// Runs retention to the end, one bounded step at a time with a pause between steps, and says
    /// what it removed. Only acknowledged events of old business days and their personal data go.
    pub async fn prune(&self) -> Result<Pruned, EngineError> {
        let mut total = Pruned::default();
        loop {
            let (reply, answer) = oneshot::channel();
            self.requests
                .send(Request::Prune { reply })
                .await
                .map_err(|_| EngineError::Stopped)?;
            let step = answer.await.map_err(|_| EngineError::Stopped)??;
            total.add(step);
            if !step.more {
                return Ok(total);
            }
            tokio::time::sleep(PRUNE_PAUSE).await;
        }
    }

    /// Every event committed from now on. A receiver that falls behind is told how much it missed and
    /// can fetch the gap from the store.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.events.subscribe()
    }

    pub fn counters(&self) -> &EngineCounters {
        &self.counters
    }

    pub fn setup(&self) -> &Arc<HallSetup> {
        &self.setup
    }

    /// The database file, for read-only connections beside the engine.
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// The clock the engine decides by, for the parts beside it that keep time (pairing codes).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

struct Writer {
    counters: Arc<EngineCounters>,
    store: Store,
    live: Live,
    events: broadcast::Sender<Arc<StoredEvent>>,
}

/// The live state and what deciding needs besides the store.
struct Live {
    setup: Arc<HallSetup>,
    state: HallState,
    clock: Arc<dyn Clock>,
}

/// Commands decided in one batch (not retries answered from the store), counted once it commits.
#[derive(Default)]
struct Tally {
    decided: u64,
    refused: u64,
}

type Reply = oneshot::Sender<Result<Outcome, EngineError>>;

impl Writer {
    fn run(mut self, mut receiver: mpsc::Receiver<Request>) {
        while let Some(first) = receiver.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            self.write_batch(batch);
        }
    }

    fn write_batch(&mut self, requests: Vec<Request>) {
        let cpu_at_start = crate::clock::thread_cpu_time();
        // The replies are kept apart from the commands, so that a batch failing part-way still answers
        // every caller with the storage error rather than leaving some to see a dropped reply.
        let mut commands = Vec::new();
        let mut replies: Vec<Reply> = Vec::new();
        let mut state_readers = Vec::new();
        let mut pruners = Vec::new();
        for request in requests {
            match request {
                Request::State { reply } => state_readers.push(reply),
                Request::Prune { reply } => pruners.push(reply),
                Request::Execute {
                    command_id,
                    command,
                    reply,
                } => {
                    commands.push((command_id, command));
                    replies.push(reply);
                }
            }
        }
        let mut outcomes = Vec::with_capacity(commands.len());
        let mut new_events = Vec::new();
        let written = self.decide_all(commands, &mut outcomes, &mut new_events);
        let cpu = crate::clock::thread_cpu_time().saturating_sub(cpu_at_start);
        self.counters
            .writer_cpu_ns
            .fetch_add(cpu.as_nanos() as u64, Ordering::Relaxed);
        match written {
            Ok(tally) => {
                let c = &self.counters;
                c.batches.fetch_add(1, Ordering::Relaxed);
                c.events
                    .fetch_add(new_events.len() as u64, Ordering::Relaxed);
                c.commands.fetch_add(tally.decided, Ordering::Relaxed);
                c.refused.fetch_add(tally.refused, Ordering::Relaxed);
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
                for event in new_events {
                    let _ = self.events.send(Arc::new(event));
                }
            }
            Err(e) => {
                self.counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                tracing::error!("batch of {} commands not recorded: {e}", replies.len());
                // The live state may hold events that were never committed: start again from the store.
                match self.store.load_state() {
                    Ok(state) => self.live.state = state,
                    Err(reload) => {
                        tracing::error!("reloading state after a failed batch: {reload}")
                    }
                }
                for reply in replies {
                    let _ = reply.send(Err(EngineError::Storage(e.to_string())));
                }
            }
        }
        for reader in state_readers {
            let _ = reader.send(self.live.state.clone());
        }
        for pruner in pruners {
            let _ = pruner.send(self.prune_step());
        }
        // After the answers, so no caller of this batch waits for the fold.
        if let Err(e) = self.store.keep_wal_bounded() {
            tracing::warn!("the WAL could not be folded back: {e}");
        }
    }

    /// One step of retention, after the batch's commands. The live state holds only today's tickets
    /// and today's and later bookings, which retention never reaches, so it stays as it is.
    fn prune_step(&mut self) -> Result<Pruned, EngineError> {
        let Some(today) = self.live.state.business_day else {
            return Ok(Pruned::default());
        };
        let rules = Retention::of(&self.live.setup.config.store);
        self.store
            .prune_step(rules, today, PRUNE_STEP_ROWS)
            .inspect_err(|e| tracing::error!("retention step failed, nothing removed: {e}"))
            .map_err(|e| EngineError::Storage(e.to_string()))
    }

    /// Decides `commands` in order inside one transaction, pushing one outcome each; an error leaves
    /// the transaction uncommitted.
    fn decide_all(
        &mut self,
        commands: Vec<(String, Command)>,
        outcomes: &mut Vec<Result<Outcome, EngineError>>,
        new_events: &mut Vec<StoredEvent>,
    ) -> Result<Tally, StoreError> {
        let mut tally = Tally::default();
        let batch = self.store.begin()?;
        // Commands earlier in this same batch, not yet visible through the store.
        let mut in_batch: HashMap<String, (CommandDigest, Outcome)> = HashMap::new();
        for (command_id, command) in commands {
            let outcome = if !valid_command_id(&command_id) {
                Err(EngineError::BadCommandId)
            } else {
                let digest = CommandDigest::of(&command)?;
                if let Some((earlier, outcome)) = in_batch.get(&command_id) {
                    if *earlier == digest {
                        Ok(outcome.clone())
                    } else {
                        Err(EngineError::CommandIdReused(command_id))
                    }
                } else if let Some(kept) = batch.kept_result(&command_id)? {
                    if kept.digest == digest {
                        Ok(batch.outcome_of(&kept)?)
                    } else {
                        Err(EngineError::CommandIdReused(command_id))
                    }
                } else {
                    let (outcome, day) =
                        self.live
                            .execute(&batch, &command_id, &command, new_events)?;
                    tally.decided += 1;
                    if let CommandResult::Refused(_) = outcome.result {
                        tally.refused += 1;
                    }
                    batch.keep_result(digest, &outcome, day)?;
                    in_batch.insert(command_id, (digest, outcome.clone()));
                    Ok(outcome)
                }
            };
            outcomes.push(outcome);
        }
        if !new_events.is_empty() {
            batch.write_meta(&self.live.state)?;
        }
        batch.commit()?;
        Ok(tally)
    }
}

impl Live {
    /// Decides one command and, if accepted, appends its events and applies them to the live state.
    /// Returns the outcome and the business day it was decided in, which its result is kept under:
    /// the hall's day, even when a refusal left that day unopened, so opening it does not forget the
    /// result a retry must get.
    fn execute(
        &mut self,
        batch: &store::Batch,
        command_id: &str,
        command: &Command,
        new_events: &mut Vec<StoredEvent>,
    ) -> Result<(Outcome, chrono::NaiveDate), StoreError> {
        let reading = self.clock.read();
        let now = day::judge(&self.setup, self.state.clock.as_ref(), &reading);
        // Logged when the clocks part, not on every command while they stay apart; staff see it from
        // the clock anchor the state keeps.
        let apart_before = self
            .state
            .clock
            .as_ref()
            .is_some_and(|a| a.disagreement_ms(&self.setup).is_some());
        if let (Some(d), false) = (now.disagreement, apart_before) {
            tracing::warn!(
                wall_ms = reading.wall_ms,
                hall_ms = now.hall_ms,
                kind = ?d.kind,
                "the wall clock disagrees with the hall's time; the hall keeps its own"
            );
        }
        let recorded = Recorded {
            wall_ms: reading.wall_ms,
            hall_ms: now.hall_ms,
            boot_id: reading.boot_id,
            mono_ms: reading.mono_ms,
            clock_trusted: now.trusted,
            business_day: now.business_day,
        };
        let drawn = draw_for_decide();
        let opening = day_opening(&self.state, &now);
        let decided = match &opening {
            Some(open) => {
                // Decide against the new day without touching the live state: a refused command
                // records nothing, the day opening included.
                let mut scratch = self.state.clone();
                scratch.apply_stored(&self.stored(command_id, &recorded, open.clone(), &scratch));
                decide(&self.setup, &scratch, &now, command, &drawn)
            }
            None => decide(&self.setup, &self.state, &now, command, &drawn),
        };
        let result = match decided {
            Err(refusal) => CommandResult::Refused(refusal.to_wire()),
            Ok(events) => {
                let events: Vec<Event> = opening.into_iter().chain(events).collect();
                for event in &events {
                    self.append(batch, command_id, &recorded, event.clone(), new_events)?;
                }
                CommandResult::Done(reply_for(
                    &self.setup,
                    &self.state,
                    now.hall_ms,
                    command,
                    &events,
                ))
            }
        };
        let outcome = Outcome {
            command_id: command_id.to_string(),
            result,
            seq: self.state.last_seq,
        };
        Ok((outcome, now.business_day))
    }

    fn stored(
        &self,
        command_id: &str,
        recorded: &Recorded,
        event: Event,
        after: &HallState,
    ) -> StoredEvent {
        StoredEvent {
            seq: after.last_seq + 1,
            event_id: uuid::Uuid::now_v7(),
            hall_id: self.setup.config.hall.id.clone(),
            command_id: Some(command_id.to_string()),
            recorded: recorded.clone(),
            event,
        }
    }

    fn append(
        &mut self,
        batch: &store::Batch,
        command_id: &str,
        recorded: &Recorded,
        event: Event,
        new_events: &mut Vec<StoredEvent>,
    ) -> Result<(), StoreError> {
        let stored = self.stored(command_id, recorded, event, &self.state);
        store::project_before(batch, &self.state, &stored.event)?;
        self.state.apply_stored(&stored);
        store::project_after(batch, &stored.event, &self.state)?;
        batch.append(&stored)?;
        new_events.push(stored);
        Ok(())
    }
}

/// Runs retention at start and then once a day, for as long as the engine runs.
pub async fn keep_pruned(engine: EngineHandle) {
    loop {
        match engine.prune().await {
            Ok(pruned) => tracing::info!(
                events_dropped = pruned.events_dropped,
                events_purged = pruned.events_purged,
                tickets_dropped = pruned.tickets_dropped,
                tickets_purged = pruned.tickets_purged,
                "retention ran"
            ),
            Err(EngineError::Stopped) => return,
            Err(e) => tracing::warn!("retention did not run to the end: {e}"),
        }
        tokio::time::sleep(PRUNE_EVERY).await;
    }
}

/// The random values a command may need, drawn here so the domain stays pure and a retried command
/// answers from the store with what was drawn the first time.
fn draw_for_decide() -> Drawn {
    Drawn {
        status_token: crate::identity::draw_status_token(),
    }
}

/// 1 to [`MAX_COMMAND_ID_LEN`] printable ASCII characters.
pub fn valid_command_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_COMMAND_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The hall's time for a reading against the live state, for callers that show it (e.g. stats).
pub fn hall_time(setup: &HallSetup, state: &HallState, clock: &dyn Clock) -> HallTime {
    day::judge(setup, state.clock.as_ref(), &clock.read())
}
