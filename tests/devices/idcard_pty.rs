//! The ID-card reader end to end: the real SAM driver and polling loop talk to the reader
//! simulator through a pseudo-terminal pair.

use std::time::Duration;

use hallq::devices::idcard::frame::{Command, FrameError, SamStatus};
use hallq::devices::idcard::sim::{CardReaderSim, ReaderFault, TestCard};
use hallq::devices::idcard::{
    CardFacts, CardKind, IdCardReaderConfig, ReaderError, SamReader, spawn_card_reader,
};
use hallq::devices::{DeviceFault, DeviceKind, DeviceReport};
use hallq::identity::mask_name;
use tokio::sync::mpsc;

use crate::device_support;
use device_support::{recv, spawn_sim};

struct Bench {
    sim: CardReaderSim,
    config: IdCardReaderConfig,
    _dir: tempfile::TempDir,
}

fn bench() -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let sim = CardReaderSim::start(TestCard::examples(), &dir.path().join("idcard")).unwrap();
    let config = IdCardReaderConfig {
        port: sim.port_path(),
        poll_ms: 50,
        reply_timeout_ms: 300,
        reconnect_ms: 100,
        same_card_quiet_ms: 1000,
        ..IdCardReaderConfig::default()
    };
    Bench {
        sim,
        config,
        _dir: dir,
    }
}

fn health(fault: Option<DeviceFault>) -> DeviceReport {
    DeviceReport::Health {
        device: DeviceKind::IdCardReader,
        fault,
    }
}

fn expect_card(rx: &mut mpsc::Receiver<DeviceReport>) -> CardFacts {
    match recv(rx, Duration::from_secs(3)) {
        Some(DeviceReport::Card(facts)) => facts,
        other => panic!("expected a card, got {other:?}"),
    }
}

#[test]
fn reads_each_kind_of_card_with_the_driver() {
    let b = bench();
    let mut reader = SamReader::open(&b.config).unwrap();
    reader.reset_sam().unwrap();
    assert_eq!(
        reader.sam_id().unwrap().to_string(),
        "05.01-20261127-0000000042-0000010017"
    );
    assert!(!reader.find_card().unwrap());
    let kinds = [
        CardKind::Resident,
        CardKind::HkMacaoTaiwanPermit,
        CardKind::ForeignPermanent2017,
        CardKind::ForeignPermanent2023,
    ];
    for (index, (card, kind)) in TestCard::examples().into_iter().zip(kinds).enumerate() {
        b.sim.place(index);
        assert!(reader.find_card().unwrap(), "{}", card.label);
        reader.select_card().unwrap();
        let facts = reader.read_card().unwrap();
        assert_eq!(facts.kind, kind);
        assert_eq!(facts.birth_date, Some(card.birth));
        assert_eq!(facts.card.masked_name(), mask_name(&card.display_name()));
        assert_eq!(facts.card.id_number(), card.id_number);
        assert!(!reader.read_extra_address().unwrap());
        // Read once, a card is no longer found while it stays on the reader.
        assert!(!reader.find_card().unwrap());
    }
}

#[test]
fn garbage_before_a_reply_is_skipped() {
    let b = bench();
    let mut reader = SamReader::open(&b.config).unwrap();
    b.sim.place(0);
    b.sim.inject(ReaderFault::Garbage);
    assert!(reader.find_card().unwrap());
}

#[test]
fn each_broken_reply_has_its_error() {
    let b = bench();
    let mut reader = SamReader::open(&b.config).unwrap();
    b.sim.place(0);

    b.sim.inject(ReaderFault::Truncate);
    assert!(matches!(
        reader.find_card(),
        Err(ReaderError::Truncated { command: "find card", got }) if got > 0
    ));
    b.sim.inject(ReaderFault::BadChecksum);
    assert!(matches!(
        reader.find_card(),
        Err(ReaderError::Frame(FrameError::BadChecksum { .. }))
    ));
    b.sim.inject(ReaderFault::Silence);
    assert_eq!(reader.find_card(), Err(ReaderError::NoReply("find card")));

    assert!(reader.find_card().unwrap());
    reader.select_card().unwrap();
    b.sim.inject(ReaderFault::CardRemovedMidRead);
    let error = reader.read_card().unwrap_err();
    assert_eq!(
        error,
        ReaderError::Status {
            command: "read text and photo",
            status: SamStatus::CardOperationFailed
        }
    );
    assert_eq!(
        error.to_string(),
        "read text and photo: the card operation failed; was the card moved away?"
    );
    assert_eq!(
        reader.select_card(),
        Err(ReaderError::Status {
            command: "select card",
            status: SamStatus::SelectFailed
        })
    );
}

#[test]
fn polling_loop_reports_each_card_once_while_it_stays() {
    let b = bench();
    b.sim.update(|s| s.finds_read_cards = true);
    let (tx, mut rx) = mpsc::channel(32);
    let _reader = spawn_card_reader(b.config.clone(), tx).unwrap();
    assert_eq!(recv(&mut rx, Duration::from_secs(2)), Some(health(None)));

    for (index, card) in TestCard::examples().iter().enumerate() {
        b.sim.place(index);
        let facts = expect_card(&mut rx);
        assert_eq!(facts.kind, card.kind);
        // The reader keeps finding the card; it must not be reported again.
        assert_eq!(
            recv(&mut rx, Duration::from_millis(400)),
            None,
            "{}",
            card.label
        );
    }
}

#[test]
fn polling_loop_retries_a_broken_reply_and_still_reads_the_card() {
    let b = bench();
    let (tx, mut rx) = mpsc::channel(32);
    let _reader = spawn_card_reader(b.config.clone(), tx).unwrap();
    assert_eq!(recv(&mut rx, Duration::from_secs(2)), Some(health(None)));
    b.sim.update(|s| {
        s.failing_finds = 1;
        s.faults.extend([
            ReaderFault::Garbage,
            ReaderFault::BadChecksum,
            ReaderFault::Truncate,
        ]);
    });
    b.sim.place(3);
    assert_eq!(expect_card(&mut rx).kind, CardKind::ForeignPermanent2023);
}

#[test]
fn card_pulled_away_mid_read_is_reported_as_unreadable() {
    let b = bench();
    let (tx, mut rx) = mpsc::channel(32);
    let _reader = spawn_card_reader(b.config.clone(), tx).unwrap();
    assert_eq!(recv(&mut rx, Duration::from_secs(2)), Some(health(None)));
    b.sim.inject(ReaderFault::CardRemovedMidRead);
    b.sim.place(0);
    assert_eq!(
        recv(&mut rx, Duration::from_secs(3)),
        Some(DeviceReport::CardRejected(ReaderError::Status {
            command: "read text and photo",
            status: SamStatus::CardOperationFailed
        }))
    );
    b.sim.place(0);
    assert_eq!(expect_card(&mut rx).kind, CardKind::Resident);
}

#[test]
fn polling_loop_survives_unplug_and_replug() {
    let mut b = bench();
    let (tx, mut rx) = mpsc::channel(32);
    let _reader = spawn_card_reader(b.config.clone(), tx).unwrap();
    assert_eq!(recv(&mut rx, Duration::from_secs(2)), Some(health(None)));

    b.sim.unplug();
    match recv(&mut rx, Duration::from_secs(3)) {
        Some(DeviceReport::Health {
            device: DeviceKind::IdCardReader,
            fault: Some(DeviceFault::Disconnected(_)),
        }) => {}
        other => panic!("expected a disconnect, got {other:?}"),
    }
    b.sim.replug().unwrap();
    assert_eq!(recv(&mut rx, Duration::from_secs(3)), Some(health(None)));
    b.sim.place(1);
    assert_eq!(expect_card(&mut rx).kind, CardKind::HkMacaoTaiwanPermit);
}

#[test]
fn a_refusing_security_module_is_a_reader_fault() {
    let b = bench();
    b.sim
        .update(|s| s.sam_fault = Some(SamStatus::SamNotAuthorised));
    let (tx, mut rx) = mpsc::channel(32);
    let _reader = spawn_card_reader(b.config.clone(), tx).unwrap();
    assert_eq!(
        recv(&mut rx, Duration::from_secs(2)),
        Some(health(Some(DeviceFault::SamFailure(
            "the security module is not authorised".into()
        ))))
    );
    b.sim.update(|s| s.sam_fault = None);
    assert_eq!(recv(&mut rx, Duration::from_secs(2)), Some(health(None)));
}

#[test]
fn a_card_with_a_bad_check_character_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut forged = TestCard::resident();
    let last = if forged.id_number.ends_with('1') {
        "2"
    } else {
        "1"
    };
    forged.id_number.replace_range(17.., last);
    let sim = CardReaderSim::start(vec![forged], &dir.path().join("idcard")).unwrap();
    let config = IdCardReaderConfig {
        port: sim.port_path(),
        poll_ms: 50,
        reply_timeout_ms: 300,
        ..IdCardReaderConfig::default()
    };
    let (tx, mut rx) = mpsc::channel(32);
    let _reader = spawn_card_reader(config, tx).unwrap();
    assert_eq!(recv(&mut rx, Duration::from_secs(2)), Some(health(None)));
    sim.place(0);
    assert_eq!(
        recv(&mut rx, Duration::from_secs(3)),
        Some(DeviceReport::CardRejected(ReaderError::CardText(
            hallq::devices::idcard::CardTextError::BadCheckCharacter
        )))
    );
}

#[test]
fn sim_command_serves_the_card_it_was_told_to_place() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("idcard");
    let sim_process = spawn_sim(
        &["idcard", "--pty", "--cards", "i,y", "--place", "y"],
        &link,
    );
    let config = IdCardReaderConfig {
        port: link.to_string_lossy().into_owned(),
        ..IdCardReaderConfig::default()
    };
    let read = (|| {
        let mut reader = SamReader::open(&config)?;
        assert!(reader.find_card()?);
        reader.select_card()?;
        reader.read_card()
    })();
    drop(sim_process);
    assert_eq!(read.unwrap().kind, CardKind::ForeignPermanent2023);
}

#[test]
fn an_unknown_status_byte_is_named_in_the_error() {
    let b = bench();
    b.sim
        .update(|s| s.sam_fault = Some(SamStatus::Unrecognised(0x77)));
    let mut reader = SamReader::open(&b.config).unwrap();
    let error = reader.reset_sam().unwrap_err();
    assert_eq!(
        error.to_string(),
        "reset SAM: unrecognised status byte 0x77"
    );
}

#[test]
fn a_hung_security_module_is_reset_on_connect() {
    let b = bench();
    b.sim.update(|s| s.sam_hung = true);
    let (tx, mut rx) = mpsc::channel(32);
    let _reader = spawn_card_reader(b.config.clone(), tx).unwrap();
    assert_eq!(recv(&mut rx, Duration::from_secs(2)), Some(health(None)));
    let seen = b.sim.update(|s| s.commands_seen.clone());
    assert_eq!(
        seen[..3],
        [Command::SamStatus, Command::ResetSam, Command::SamStatus]
    );
}

#[test]
fn a_reply_lost_during_the_read_is_a_card_error_not_a_reader_fault() {
    let b = bench();
    let (tx, mut rx) = mpsc::channel(32);
    let _reader = spawn_card_reader(b.config.clone(), tx).unwrap();
    assert_eq!(recv(&mut rx, Duration::from_secs(2)), Some(health(None)));
    // Find and select answer; the read's reply is lost after the card was read. Laid and
    // armed at once, so no empty-reader find uses up a fault.
    b.sim.update(|s| {
        s.on_reader = Some(2);
        s.read_since_placed = false;
        s.faults.extend([
            ReaderFault::Garbage,
            ReaderFault::Garbage,
            ReaderFault::Silence,
        ]);
    });
    assert_eq!(
        recv(&mut rx, Duration::from_secs(3)),
        Some(DeviceReport::CardRejected(ReaderError::NoReply(
            "read text and photo"
        )))
    );
    assert_eq!(recv(&mut rx, Duration::from_millis(300)), None);
}
