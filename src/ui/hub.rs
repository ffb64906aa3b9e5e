//! The screens' shared core, living on the UI thread: the latest hall state, the screen language, the
//! link to the hall node, and the bridge to the engine (in this process or over the LAN).
//!
//! UI callbacks never wait: they hand a job to a worker task on tokio (`try_send`), the worker runs the
//! engine command, and the continuation comes back to the UI thread through
//! `slint::invoke_from_event_loop`. Engine events follow the same road. Continuations must be `Send`,
//! so they name the hub by id and find it again here, on the UI thread.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDateTime;
use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::config::{HallSetup, Lang};
use crate::identity::StaffPin;
use crate::ports::{CardInput, CommandError, Hall, HallNews, LinkState, PlatformSync, every_event};
use crate::queue::{Command, HallState, StoredEvent, day};
use crate::store::Outcome;

/// Work for the UI thread, produced off it.
pub type UiTask = Box<dyn FnOnce(&Rc<Hub>) + Send>;
type Job = Pin<Box<dyn Future<Output = UiTask> + Send>>;

/// Taps queued beyond this are dropped (with a log line) rather than piling up behind a stuck engine.
const JOB_QUEUE: usize = 64;

static NEXT_HUB_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static HUBS: RefCell<HashMap<u64, Weak<Hub>>> = RefCell::default();
}

/// A screen bound to the hub: it re-renders from the hall state and follows the language.
pub trait Screen {
    fn refresh(&self, hub: &Rc<Hub>);
    /// Events just committed, after `refresh` has seen the state they produced.
    fn on_events(&self, _hub: &Rc<Hub>, _events: &[Arc<StoredEvent>]) {}
    /// The language changed: set the screen's reading direction before the refresh.
    fn set_direction(&self, right_to_left: bool);
}

/// Where the ID-card reader's cards go: the kiosk, once one is bound.
pub trait CardTaker {
    fn take_card(&self, hub: &Rc<Hub>, card: crate::identity::CardRead, expired: bool);
    fn take_unreadable_card(&self);
}

pub struct Hub {
    id: u64,
    hall: Hall,
    clock: Arc<dyn Clock>,
    /// Whether the hall node answers; an engine in this process always does.
    link: RefCell<LinkState>,
    jobs: mpsc::Sender<Job>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    lang: Cell<Lang>,
    state: RefCell<Arc<HallState>>,
    screens: RefCell<Vec<Rc<dyn Screen>>>,
    /// The screens' controllers, in binding order, for their callbacks to find by type.
    controllers: RefCell<Vec<Rc<dyn Any>>>,
    card_taker: RefCell<Option<Rc<dyn CardTaker>>>,
    /// The platform link shown on the panels and after how many minutes without an acknowledgement
    /// they mark it; by default the node's own link and its `[platform]` table.
    platform: RefCell<Option<(Arc<PlatformSync>, u32)>>,
    /// What the hall node last said of its platform link, for a board that does not run it.
    platform_cut_off_at_hall_node: Cell<bool>,
}

impl Hub {
    /// Starts the worker and the event follower on `runtime`. Call on the UI thread.
    ///
    /// A terminal's screens open at once, empty and saying the hall node is not reached, and fill in
    /// when it answers.
    pub fn start(hall: Hall, clock: Arc<dyn Clock>, runtime: &tokio::runtime::Handle) -> Rc<Hub> {
        let id = NEXT_HUB_ID.fetch_add(1, Ordering::Relaxed);
        let (jobs, queue) = mpsc::channel(JOB_QUEUE);
        let mut tasks = vec![runtime.spawn(run_jobs(id, queue))];
        let state = runtime.block_on(hall.snapshot());
        // An engine in this process answers at once; a terminal's screens open empty and say the
        // hall node is not reached until its first news.
        let link = match state {
            Some(_) => LinkState::Connected,
            None => LinkState::Unknown,
        };
        let follower = hall.follow(
            every_event,
            Arc::new(move |news| {
                deliver(
                    id,
                    Box::new(move |hub: &Rc<Hub>| match news {
                        HallNews::State { state, events } => hub.update(state, &events),
                        HallNews::Link(link) => hub.set_link(link),
                        HallNews::PlatformCutOff(cut_off) => {
                            hub.set_platform_cut_off_at_hall_node(cut_off)
                        }
                    }),
                )
            }),
        );
        tasks.push(runtime.spawn(follower));
        let lang = hall
            .setup()
            .config
            .hall
            .languages
            .first()
            .copied()
            .unwrap_or(Lang::Zh);
        let hub = Rc::new(Hub {
            id,
            hall,
            clock,
            link: RefCell::new(link),
            jobs,
            tasks,
            lang: Cell::new(lang),
            state: RefCell::new(Arc::new(state.unwrap_or_default())),
            screens: RefCell::default(),
            controllers: RefCell::default(),
            card_taker: RefCell::default(),
            platform: RefCell::default(),
            platform_cut_off_at_hall_node: Cell::new(false),
        });
        HUBS.with(|hubs| hubs.borrow_mut().insert(id, Rc::downgrade(&hub)));
        hub
    }

    pub fn setup(&self) -> &Arc<HallSetup> {
        self.hall.setup()
    }

    /// True while the hall node cannot be reached (or has not been yet, or refuses this terminal):
    /// the screens say so.
    pub fn hall_unreachable(&self) -> bool {
        *self.link.borrow() != LinkState::Connected
    }

    /// True while the hall node refuses this terminal's token: the screens ask for pairing again.
    pub fn terminal_unpaired(&self) -> bool {
        matches!(*self.link.borrow(), LinkState::Unpaired { .. })
    }

    /// Shows `sync` on the panels, marked after `mark_after_minutes` without an acknowledgement.
    pub fn watch_platform(self: &Rc<Self>, sync: Arc<PlatformSync>, mark_after_minutes: u32) {
        *self.platform.borrow_mut() = Some((sync, mark_after_minutes));
        self.refresh_all();
    }

    /// True while the hall has been cut off from the platform for longer than its config allows.
    /// The board that runs the platform link watches it; a terminal on the LAN shows what the hall
    /// node tells it.
    pub fn platform_cut_off(&self) -> bool {
        let watched = self
            .platform
            .borrow()
            .clone()
            .or_else(|| crate::ports::platform_link_of(self.setup()));
        match watched {
            Some((sync, limit)) => {
                super::views::platform_cut_off(&sync, self.clock.read().mono_ms, limit)
            }
            None => self.platform_cut_off_at_hall_node.get(),
        }
    }

    fn set_platform_cut_off_at_hall_node(self: &Rc<Self>, cut_off: bool) {
        if self.platform_cut_off_at_hall_node.replace(cut_off) != cut_off {
            self.refresh_all();
        }
    }

    fn set_link(self: &Rc<Self>, link: LinkState) {
        if *self.link.borrow() == link {
            return;
        }
        *self.link.borrow_mut() = link;
        self.refresh_all();
    }

    pub fn state(&self) -> Arc<HallState> {
        self.state.borrow().clone()
    }

    pub fn lang(&self) -> Lang {
        self.lang.get()
    }

    /// The hall's local time now, for opening hours and the wall clock.
    pub fn local_now(&self) -> NaiveDateTime {
        day::local_time(self.setup(), self.clock.read().wall_ms)
    }

    pub fn add_screen(self: &Rc<Self>, screen: Rc<dyn Screen>) {
        screen.set_direction(self.lang().is_right_to_left());
        screen.refresh(self);
        self.screens.borrow_mut().push(screen);
    }

    /// Switches every screen to `lang` at once: the bundled translation is process-wide.
    pub fn set_language(self: &Rc<Self>, lang: Lang) {
        if let Err(e) = slint::select_bundled_translation(lang.code()) {
            tracing::warn!(lang = lang.code(), "no translation for the language: {e}");
            return;
        }
        self.lang.set(lang);
        for screen in self.screens() {
            screen.set_direction(lang.is_right_to_left());
            screen.refresh(self);
        }
    }

    /// Runs `command` on the engine and `then` on the UI thread with its outcome.
    pub fn execute(
        &self,
        command: Command,
        then: impl FnOnce(&Rc<Hub>, Result<Outcome, CommandError>) + Send + 'static,
    ) {
        let hall = self.hall.clone();
        let command_id = format!("ui-{}", uuid::Uuid::now_v7().simple());
        self.submit(async move {
            let outcome = hall.execute(command_id, command).await;
            Box::new(move |hub: &Rc<Hub>| then(hub, outcome)) as UiTask
        });
    }

    /// Hands a card tap to the hall port: the hall node hashes the card and says what it came to.
    pub fn tap_card(
        &self,
        tap: crate::queue::CardTap,
        then: impl FnOnce(&Rc<Hub>, Result<crate::ports::CardTapOutcome, CommandError>) + Send + 'static,
    ) {
        let hall = self.hall.clone();
        let command_id = format!("ui-{}", uuid::Uuid::now_v7().simple());
        self.submit(async move {
            let answer = hall.tap_card(command_id, tap).await;
            Box::new(move |hub: &Rc<Hub>| then(hub, answer)) as UiTask
        });
    }

    /// Signs staff in through the hall port, which checks the PIN on the hall node.
    pub fn sign_in(
        &self,
        window: u16,
        staff: String,
        pin: Option<StaffPin>,
        then: impl FnOnce(&Rc<Hub>, Result<Outcome, CommandError>) + Send + 'static,
    ) {
        let hall = self.hall.clone();
        self.submit(async move {
            let outcome = hall.sign_in(window, staff, pin).await;
            Box::new(move |hub: &Rc<Hub>| then(hub, outcome)) as UiTask
        });
    }

    /// Runs blocking device work (e.g. printing) off the UI thread, then `then` on it.
    pub fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
        then: impl FnOnce(&Rc<Hub>, Option<T>) + Send + 'static,
    ) {
        self.submit(async move {
            let result = tokio::task::spawn_blocking(work).await.ok();
            Box::new(move |hub: &Rc<Hub>| then(hub, result)) as UiTask
        });
    }

    fn submit(&self, job: impl Future<Output = UiTask> + Send + 'static) {
        if self.jobs.try_send(Box::pin(job)).is_err() {
            tracing::warn!("the screens' worker is busy; a tap was dropped");
        }
    }

    fn screens(&self) -> Vec<Rc<dyn Screen>> {
        self.screens.borrow().clone()
    }

    fn update(self: &Rc<Self>, state: Arc<HallState>, events: &[Arc<StoredEvent>]) {
        *self.state.borrow_mut() = state;
        for screen in self.screens() {
            screen.refresh(self);
            screen.on_events(self, events);
        }
    }

    /// Keeps a screen's controller for the screen's callbacks to find with [`Hub::controllers`].
    pub(crate) fn keep_controller<T: 'static>(&self, controller: Rc<T>) {
        self.controllers.borrow_mut().push(controller);
    }

    /// Keeps `controller` as the only one of its type (a node has one kiosk).
    pub(crate) fn replace_controller<T: 'static>(&self, controller: Rc<T>) {
        let mut controllers = self.controllers.borrow_mut();
        controllers.retain(|kept| !(**kept).is::<T>());
        controllers.push(controller);
    }

    /// The controllers of type `T`, in binding order.
    pub(crate) fn controllers<T: 'static>(&self) -> Vec<Rc<T>> {
        self.controllers
            .borrow()
            .iter()
            .filter_map(|kept| kept.clone().downcast::<T>().ok())
            .collect()
    }

    /// Sends the ID-card reader's cards to `taker` from now on.
    pub(crate) fn set_card_taker(&self, taker: Rc<dyn CardTaker>) {
        *self.card_taker.borrow_mut() = Some(taker);
    }

    /// A handle the ID-card reader's thread uses to put a card on the kiosk.
    pub fn card_reader(&self) -> CardReaderHandle {
        CardReaderHandle { hub_id: self.id }
    }

    /// Re-renders every screen, e.g. when the clock passes an opening time.
    pub fn refresh_all(self: &Rc<Self>) {
        for screen in self.screens() {
            screen.refresh(self);
        }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        // The tasks hold engine handles; the engine thread only stops once every handle is gone.
        for task in &self.tasks {
            task.abort();
        }
        let id = self.id;
        let _ = HUBS.try_with(|hubs| hubs.borrow_mut().remove(&id));
    }
}

/// Sends card taps from any thread to the kiosk on the UI thread.
#[derive(Debug, Clone, Copy)]
pub struct CardReaderHandle {
    hub_id: u64,
}

impl CardReaderHandle {
    /// A citizen's card was read: it takes the ticket the kiosk is waiting for, or checks in a booking.
    pub fn card_tapped(&self, card: crate::identity::CardRead) {
        self.card_read(card, false);
    }
}

impl CardInput for CardReaderHandle {
    fn card_read(&self, card: crate::identity::CardRead, expired: bool) {
        deliver(
            self.hub_id,
            Box::new(move |hub: &Rc<Hub>| {
                let taker = hub.card_taker.borrow().clone();
                if let Some(taker) = taker {
                    taker.take_card(hub, card, expired);
                }
            }),
        );
    }

    fn card_unreadable(&self) {
        deliver(
            self.hub_id,
            Box::new(move |hub: &Rc<Hub>| {
                let taker = hub.card_taker.borrow().clone();
                if let Some(taker) = taker {
                    taker.take_unreadable_card();
                }
            }),
        );
    }
}

fn deliver(hub_id: u64, task: UiTask) {
    let posted = slint::invoke_from_event_loop(move || {
        let hub = HUBS.with(|hubs| hubs.borrow().get(&hub_id).and_then(Weak::upgrade));
        if let Some(hub) = hub {
            task(&hub);
        }
    });
    if posted.is_err() {
        tracing::debug!("the screens' event loop has stopped");
    }
}

async fn run_jobs(hub_id: u64, mut queue: mpsc::Receiver<Job>) {
    while let Some(job) = queue.recv().await {
        let task = job.await;
        deliver(hub_id, task);
    }
}
