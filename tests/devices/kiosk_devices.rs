//! A configured hall's kiosk opens the printer and reader named in its config, and reports to the
//! engine beside it or to the hall node over the LAN.

use crate::lan_support;

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use hallq::clock::ManualClock;
use hallq::config::HallSetup;
use hallq::devices::idcard::sim::{CardReaderSim, TestCard};
use hallq::devices::idcard::{IdCardReaderConfig, spawn_card_reader};
use hallq::devices::kiosk::KioskDevices;
use hallq::devices::link::{KioskLink, KioskPresence, forward_reports};
use hallq::devices::printer::sim::{Paper, PrinterSim};
use hallq::identity::load_or_create_key;
use hallq::lan::Role;
use hallq::lan::client::HallClient;
use hallq::lan::terminal::LanHall;
use hallq::ports::Hall;
use hallq::queue::{Event, HallState};
use lan_support::TestHall;

/// A kiosk board's hall port: the hall node over the LAN, waiting for it as long as it takes.
fn board_port(client: HallClient, setup: Arc<HallSetup>) -> Hall {
    Arc::new(LanHall::new(client, setup, None))
}

#[test]
fn the_hall_key_is_made_once_private_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idcard.key");
    load_or_create_key(&path).unwrap();
    let first = std::fs::read(&path).unwrap();
    assert_eq!(first.len(), 32);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    load_or_create_key(&path).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        first,
        "a restart keeps the key"
    );
    std::fs::write(&path, b"short").unwrap();
    let err = load_or_create_key(&path).err().unwrap().to_string();
    assert!(
        err.contains("at least 16 bytes") && err.contains("remove it"),
        "{err}"
    );
}

/// A kiosk board's simulated card reader and printer, and the example hall's config pointing at them.
fn board_with_simulators(board: &std::path::Path) -> (CardReaderSim, PrinterSim, HallSetup) {
    let reader_sim = CardReaderSim::start(TestCard::examples(), &board.join("idcard")).unwrap();
    let printer_sim = PrinterSim::start(None).unwrap();
    let mut setup = hallq::config::example();
    setup.config.printer.port = printer_sim.port_path().to_string();
    setup.config.idcard.port = reader_sim.port_path();
    setup.config.idcard.poll_ms = 50;
    (reader_sim, printer_sim, setup)
}

/// The real reader driver on `reader_sim`, polling fast; returns the reader's thread and the channel
/// its reports come on.
fn headless_reader(
    reader_sim: &CardReaderSim,
) -> (
    hallq::devices::worker::DeviceThread,
    tokio::sync::mpsc::Receiver<hallq::devices::DeviceReport>,
) {
    let (reports_tx, reports) = tokio::sync::mpsc::channel(16);
    let config = IdCardReaderConfig {
        port: reader_sim.port_path(),
        poll_ms: 50,
        ..IdCardReaderConfig::default()
    };
    (spawn_card_reader(config, reports_tx).unwrap(), reports)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_printer_port_is_watched_and_its_faults_reach_the_engine() {
    let sim = PrinterSim::start(None).unwrap();
    sim.state_handle().lock().unwrap().paper = Paper::Out;
    let dir = tempfile::tempdir().unwrap();
    let mut setup = hallq::config::example();
    setup.config.printer.port = sim.port_path().to_string();
    setup.config.printer.status_poll_seconds = 1;
    setup.config.idcard.port = dir.path().join("no-reader").to_string_lossy().into_owned();
    let clock = Arc::new(ManualClock::new(1_795_744_800_000));
    let (engine, _writer) =
        hallq::engine::start(Arc::new(setup), &dir.path().join("hall.db"), clock).unwrap();
    let mut events = engine.subscribe();
    let _devices = KioskDevices::start(engine.clone().into(), KioskLink::default()).unwrap();
    let mut faulted = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while faulted.len() < 2 && tokio::time::Instant::now() < deadline {
        if let Ok(Ok(stored)) =
            tokio::time::timeout(Duration::from_millis(500), events.recv()).await
            && let Event::DeviceFaulted { device, fault } = &stored.event
        {
            faulted.push((device.clone(), fault.code.clone()));
        }
    }
    assert!(
        faulted
            .iter()
            .any(|(d, code)| d == "ticket_printer" && code.contains("paper")),
        "{faulted:?}"
    );
    assert!(
        faulted.iter().any(|(d, _)| d == "idcard_reader"),
        "the missing reader is reported: {faulted:?}"
    );
}

/// A kiosk board's config: the example hall with the printer on `printer_port` and the reader on a
/// port that does not exist.
fn kiosk_board_setup(printer_port: &str, dir: &std::path::Path) -> Arc<HallSetup> {
    let mut setup = hallq::config::example();
    setup.config.printer.port = printer_port.to_string();
    setup.config.printer.status_poll_seconds = 1;
    setup.config.idcard.port = dir.join("no-reader").to_string_lossy().into_owned();
    Arc::new(setup)
}

/// Reads the hall node's state over the LAN until `done` holds or 15 s pass.
async fn wait_for_state(reader: &HallClient, done: impl Fn(&HallState) -> bool) -> HallState {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let state = reader.state().await.unwrap();
        if done(&state) || tokio::time::Instant::now() >= deadline {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_board_reports_its_device_faults_to_the_hall_node_over_the_lan() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let staff = hall.pair(Role::Admin).await;
    let sim = PrinterSim::start(None).unwrap();
    sim.state_handle().lock().unwrap().paper = Paper::Out;
    let board = tempfile::tempdir().unwrap();
    let setup = kiosk_board_setup(sim.port_path(), board.path());
    let _devices = KioskDevices::start(board_port(kiosk, setup), KioskLink::default()).unwrap();

    let state = wait_for_state(&staff, |s| s.faults.len() >= 2).await;
    let printer = state.faults.get("ticket_printer");
    assert!(
        printer.is_some_and(|f| f.code.contains("paper")),
        "{:?}",
        state.faults
    );
    assert!(
        state.faults.contains_key("idcard_reader"),
        "the missing reader is reported: {:?}",
        state.faults
    );

    sim.state_handle().lock().unwrap().paper = Paper::Plenty;
    let state = wait_for_state(&staff, |s| !s.faults.contains_key("ticket_printer")).await;
    assert!(
        !state.faults.contains_key("ticket_printer"),
        "the refilled printer's recovery reaches the hall node too: {:?}",
        state.faults
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_kiosk_screen_a_card_takes_a_ticket_through_the_hall_node() {
    // The card's number goes to the hall node inside TLS only.
    let hall = TestHall::start_tls().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let staff = hall.pair(Role::Admin).await;
    let board = tempfile::tempdir().unwrap();
    let reader_sim =
        CardReaderSim::start(TestCard::examples(), &board.path().join("idcard")).unwrap();
    let (_reader, reports) = headless_reader(&reader_sim);
    let setup = Arc::new(hallq::config::example());
    tokio::spawn(forward_reports(
        board_port(kiosk, setup),
        reports,
        KioskPresence::Headless,
    ));

    reader_sim.place(0);
    let state = wait_for_state(&staff, |s| !s.tickets.is_empty()).await;
    let tickets: Vec<_> = state.tickets.values().collect();
    assert_eq!(tickets.len(), 1, "one card, one ticket: {tickets:?}");
    let ticket = tickets[0];
    // 户籍办理 (C) is the example hall's first walk-in service that needs the ID card.
    assert_eq!(ticket.number, "C001");
    assert_eq!(
        ticket.citizen.as_ref().map(|c| c.masked_name.as_str()),
        Some("张*三")
    );
}

/// A kiosk board's reader runs with no hall key at all, and the board makes none: the hall node
/// hashes the cards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_board_reads_cards_without_a_hall_key_and_makes_none() {
    let hall = TestHall::start_tls().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let staff = hall.pair(Role::Admin).await;
    let board = tempfile::tempdir().unwrap();
    let (reader_sim, _printer_sim, setup) = board_with_simulators(board.path());
    let _devices =
        KioskDevices::start(board_port(kiosk, Arc::new(setup)), KioskLink::default()).unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let state = staff.state().await.unwrap();
    assert!(
        !state.faults.contains_key("idcard_reader"),
        "the reader runs: {:?}",
        state.faults
    );
    reader_sim.place(0);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        reader_sim.update(|s| !s.commands_seen.is_empty()),
        "the reader is polled"
    );
    assert!(
        !board.path().join("idcard.key").exists(),
        "the board made no key of its own"
    );
}

/// A card the reader cannot read is counted in the hall node's `/metrics`, once per placement
/// however often the reader retries it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_cards_are_counted_in_metrics_once_per_placement() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let board = tempfile::tempdir().unwrap();
    let mut bad = TestCard::resident();
    let check = bad.id_number.pop().unwrap();
    bad.id_number.push(if check == '0' { '1' } else { '0' });
    let reader_sim = CardReaderSim::start(vec![bad], &board.path().join("idcard")).unwrap();
    reader_sim.update(|s| s.finds_read_cards = true);
    let (_reader, reports) = headless_reader(&reader_sim);
    tokio::spawn(forward_reports(
        board_port(kiosk, Arc::new(hallq::config::example())),
        reports,
        KioskPresence::Headless,
    ));
    let scrape = || async {
        let text = reqwest::get(format!("{}/metrics", hall.url()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("hallq_idcard_unreadable_total "))
            .expect("the counter is in /metrics")
            .parse::<u64>()
            .unwrap()
    };
    let before = scrape().await;
    reader_sim.place(0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        reader_sim.update(|s| s.commands_seen.len()) > 20,
        "the reader kept retrying"
    );
    assert_eq!(scrape().await - before, 1);
}
