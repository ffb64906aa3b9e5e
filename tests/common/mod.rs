//! A hall on a real SQLite file in a temporary directory, with a clock the test sets by hand.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hallq::clock::ManualClock;
use hallq::config::HallSetup;
use hallq::engine::{self, EngineHandle, EngineThread};
use hallq::queue::{CitizenCard, Command, HallState, RefusalWire, Reply, Ticket};
use hallq::store::{CommandResult, Outcome};

/// Friday 2026-11-27 10:00 in the hall (+08:00): inside opening hours.
pub const FRIDAY_10AM: i64 = 1_795_744_800_000;
pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;

pub struct Hall {
    pub engine: EngineHandle,
    thread: Option<EngineThread>,
    pub clock: Arc<ManualClock>,
    pub setup: Arc<HallSetup>,
    pub dir: tempfile::TempDir,
    next_id: AtomicU64,
}

impl Hall {
    pub fn new() -> Hall {
        Hall::with_setup(hallq::config::example())
    }

    pub fn with_policy(change: impl FnOnce(&mut hallq::config::PolicyConfig)) -> Hall {
        let mut setup = hallq::config::example();
        change(&mut setup.config.policy);
        Hall::with_setup(setup)
    }

    pub fn with_setup(setup: HallSetup) -> Hall {
        // HTTP clients a test builds (reqwest, with rustls) need the process's TLS provider.
        hallq::lan::tls::install_default_provider();
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(FRIDAY_10AM));
        let setup = Arc::new(setup);
        let (engine, thread) =
            engine::start(setup.clone(), &dir.path().join("hall.db"), clock.clone()).unwrap();
        Hall {
            engine,
            thread: Some(thread),
            clock,
            setup,
            dir,
            next_id: AtomicU64::new(0),
        }
    }

    pub fn db_path(&self) -> std::path::PathBuf {
        self.dir.path().join("hall.db")
    }

    /// Stops the engine and starts a new one on the same file, as after a restart.
    pub fn restart(&mut self) {
        let (engine, thread) =
            engine::start(self.setup.clone(), &self.db_path(), self.clock.clone()).unwrap();
        let old = std::mem::replace(&mut self.engine, engine);
        drop(old);
        // The new engine's handle is live; the old writer finishes once its last handle is gone.
        if let Some(t) = self.thread.replace(thread) {
            t.join();
        }
    }

    pub fn fresh_id(&self) -> String {
        format!("cmd-{}", self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    pub async fn exec(&self, command: Command) -> Outcome {
        self.engine.execute(self.fresh_id(), command).await.unwrap()
    }

    pub async fn ok(&self, command: Command) -> Reply {
        let described = format!("{command:?}");
        match self.exec(command).await.result {
            CommandResult::Done(reply) => reply,
            CommandResult::Refused(r) => panic!("{described} refused: {}", r.message),
        }
    }

    pub async fn refused(&self, command: Command) -> RefusalWire {
        let described = format!("{command:?}");
        match self.exec(command).await.result {
            CommandResult::Refused(r) => r,
            CommandResult::Done(reply) => panic!("{described} should be refused, got {reply:?}"),
        }
    }

    pub async fn ticket(&self, command: Command) -> Ticket {
        match self.ok(command).await {
            Reply::Ticket { ticket, .. } => *ticket,
            other => panic!("expected a ticket, got {other:?}"),
        }
    }

    pub async fn issue(&self, service: &str) -> Ticket {
        self.ticket(Command::IssueTicket {
            service: service.into(),
            citizen: None,
            by_staff: false,
        })
        .await
    }

    pub async fn issue_for(&self, service: &str, card: CitizenCard) -> Ticket {
        self.ticket(Command::IssueTicket {
            service: service.into(),
            citizen: Some(card),
            by_staff: false,
        })
        .await
    }

    pub async fn sign_in(&self, window: u16) {
        self.ok(Command::sign_in_by_number(window, format!("S{window}")))
            .await;
    }

    pub async fn call(&self, window: u16) -> Ticket {
        self.ticket(Command::CallNext { window }).await
    }

    pub async fn state(&self) -> HallState {
        self.engine.state().await.unwrap()
    }

    /// How far the board's clock is from hall time as staff are shown it, when the two have parted.
    pub async fn clock_gap_ms(&self) -> Option<i64> {
        self.state().await.clock?.disagreement_ms(&self.setup)
    }

    /// Every event in the log, read through a second connection.
    pub fn events(&self) -> Vec<hallq::queue::StoredEvent> {
        let reader = hallq::store::Store::open_reader(&self.db_path()).unwrap();
        reader.events_after(0, usize::MAX >> 1).unwrap()
    }
}

pub fn card(n: u32) -> CitizenCard {
    CitizenCard {
        id_hash: format!("{:064x}", n),
        masked_name: "张*三".into(),
        birth_date: chrono::NaiveDate::from_ymd_opt(1985, 3, 1),
    }
}

pub fn senior_card(n: u32) -> CitizenCard {
    CitizenCard {
        birth_date: chrono::NaiveDate::from_ymd_opt(1950, 1, 1),
        ..card(n)
    }
}
