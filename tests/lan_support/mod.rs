//! A real hall node for LAN tests: the example hall, a SQLite file in a temporary folder, the engine
//! thread, and the LAN server on a free loopback port.
#![allow(dead_code)] // each test file uses its own part of this

use std::net::SocketAddr;
use std::sync::Arc;

use hallq::clock::ManualClock;
use hallq::config::{self, LanConfig};
use hallq::engine::{self, EngineHandle, EngineThread};
use hallq::lan::client::HallClient;
use hallq::lan::{HallServer, Role};

/// Wednesday 2026-11-25, 10:00 in the hall (UTC+8): the example hall is open.
pub const OPEN_HOUR_MS: i64 = 1_795_572_000_000;

pub struct TestHall {
    pub dir: tempfile::TempDir,
    pub engine: EngineHandle,
    pub server: Option<HallServer>,
    pub clock: Arc<ManualClock>,
    lan: LanConfig,
    writer: Option<EngineThread>,
}

impl TestHall {
    /// The example hall over plain HTTP: what most LAN tests look at is not the encryption.
    pub async fn start() -> TestHall {
        TestHall::start_with(config::example()).await
    }

    /// The example hall with TLS on, its certificate made in the test's folder.
    pub async fn start_tls() -> TestHall {
        let mut setup = config::example();
        setup.config.lan.tls = true;
        TestHall::start_configured(setup).await
    }

    /// A hall node of `setup` (the example hall changed as a test needs), over plain HTTP.
    pub async fn start_with(mut setup: config::HallSetup) -> TestHall {
        setup.config.lan.tls = false;
        TestHall::start_configured(setup).await
    }

    /// The example hall over plain HTTP, its LAN server with `lan`'s limits.
    pub async fn start_with_lan(mut lan: LanConfig) -> TestHall {
        lan.tls = false;
        let mut setup = config::example();
        setup.config.lan = lan;
        TestHall::start_configured(setup).await
    }

    /// A hall node of `setup`, its `[lan]` table as it stands.
    pub async fn start_configured(setup: config::HallSetup) -> TestHall {
        // The tests' own HTTP clients build a TLS setup too, and need the process's provider.
        hallq::lan::tls::install_default_provider();
        let dir = tempfile::tempdir().unwrap();
        let lan = setup.config.lan.clone();
        let setup = Arc::new(setup);
        let clock = Arc::new(ManualClock::new(OPEN_HOUR_MS));
        let (engine, writer) =
            engine::start(setup, &dir.path().join("hall.db"), clock.clone()).unwrap();
        let server = HallServer::start(engine.clone(), "127.0.0.1:0".parse().unwrap(), &lan)
            .await
            .unwrap();
        TestHall {
            dir,
            engine,
            server: Some(server),
            clock,
            lan,
            writer: Some(writer),
        }
    }

    pub fn server(&self) -> &HallServer {
        self.server.as_ref().expect("the server is running")
    }

    pub fn url(&self) -> String {
        self.server().url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.server().addr
    }

    /// Pairs a terminal with `role` through the API, as staff would with a code off the hall node.
    pub async fn pair(&self, role: Role) -> HallClient {
        let code = self.server().mint_code(10).unwrap();
        let (client, _) = HallClient::pair(self.url(), &code, &format!("{role:?}"), role)
            .await
            .unwrap();
        client
    }

    /// Takes the hall node off the LAN (the engine keeps running).
    pub async fn unplug(&mut self) -> SocketAddr {
        let server = self.server.take().expect("the server is running");
        let addr = server.addr;
        server.stop().await;
        addr
    }

    /// Puts the hall node back on the LAN at the same address.
    pub async fn plug_in(&mut self, addr: SocketAddr) {
        let server = HallServer::start(self.engine.clone(), addr, &self.lan)
            .await
            .unwrap();
        self.server = Some(server);
    }

    pub async fn last_seq(&self) -> u64 {
        self.engine.state().await.unwrap().last_seq
    }
}

impl Drop for TestHall {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            drop(server);
        }
        // The writer thread ends when every engine handle is gone; the server's handlers hold some, so
        // the thread is left to end with the process rather than joined here.
        drop(self.writer.take());
    }
}

/// A walk-in ticket for `service`, as a kiosk asks for it.
pub fn issue(service: &str) -> hallq::queue::Command {
    hallq::queue::Command::IssueTicket {
        service: service.into(),
        citizen: None,
        by_staff: false,
    }
}

/// Issues `count` walk-in tickets for `service` through `kiosk`.
pub async fn issue_tickets(kiosk: &HallClient, service: &str, count: usize) {
    for _ in 0..count {
        kiosk.execute(issue(service)).await.unwrap();
    }
}

/// Signs a staff member in at `window` through its terminal.
pub async fn sign_in(counter: &HallClient, window: u16) {
    let signed = counter
        .execute(hallq::queue::Command::sign_in_by_number(
            window,
            format!("10{window:02}"),
        ))
        .await
        .unwrap();
    assert!(
        matches!(signed.result, hallq::store::CommandResult::Done(_)),
        "{signed:?}"
    );
}
