//! A configured hall's kiosk opens the printer and reader named in its config.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use hallq::clock::ManualClock;
use hallq::devices::demo::KioskLink;
use hallq::devices::kiosk::{KioskDevices, load_or_create_key};
use hallq::devices::printer::sim::{Paper, PrinterSim};
use hallq::queue::Event;

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
    let _devices = KioskDevices::start(
        engine.clone(),
        &dir.path().join("idcard.key"),
        KioskLink::default(),
    )
    .unwrap();
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
