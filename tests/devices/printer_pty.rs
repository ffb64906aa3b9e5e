//! The ticket printer end to end: the real serial driver talks to the printer simulator through a
//! pseudo-terminal pair.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hallq::devices::printer::bench::example_ticket;
use hallq::devices::printer::escpos_ticket::ticket_bytes;
use hallq::devices::printer::sim::interpret::TicketElement;
use hallq::devices::printer::sim::render::{load_font, render};
use hallq::devices::printer::sim::{MidTicketFault, Paper, PrinterSim};
use hallq::devices::printer::{
    PrintError, PrinterConfig, PrinterService, PrinterStatus, SerialEscPosPrinter, TicketPrinter,
    TicketTextConfig,
};
use hallq::devices::{DeviceFault, DeviceKind, DeviceReport};
use tokio::sync::mpsc;

use crate::device_support;
use device_support::{recv, spawn_sim, wait_for};
#[path = "../device_support/failing_flush.rs"]
mod failing_flush;
use failing_flush::FailingFlushPort;

fn printer_for(sim: &PrinterSim) -> SerialEscPosPrinter {
    let config = PrinterConfig {
        port: sim.port_path().to_owned(),
        status_timeout_ms: 300,
        ..PrinterConfig::default()
    };
    SerialEscPosPrinter::new(config, TicketTextConfig::default())
}

/// A printer on the simulator's line whose first flush after a ticket fails once `armed` is set.
fn printer_with_failing_flush(sim: &PrinterSim, armed: &Arc<AtomicBool>) -> SerialEscPosPrinter {
    let config = PrinterConfig {
        port: sim.port_path().to_owned(),
        status_timeout_ms: 300,
        ..PrinterConfig::default()
    };
    let armed = Arc::clone(armed);
    SerialEscPosPrinter::with_port_opener(
        config,
        TicketTextConfig::default(),
        Box::new(move |config: &PrinterConfig| {
            let port = FailingFlushPort::open(&config.port, config.baud, Arc::clone(&armed))?;
            Ok(Box::new(port) as Box<dyn serialport::SerialPort>)
        }),
    )
}

fn health(fault: Option<DeviceFault>) -> DeviceReport {
    DeviceReport::Health {
        device: DeviceKind::TicketPrinter,
        fault,
    }
}

#[test]
fn issued_ticket_renders_with_number_text_and_a_readable_qr_code() {
    let sim = PrinterSim::start(None).unwrap();
    let mut printer = printer_for(&sim);
    let ticket = example_ticket();
    assert_eq!(printer.print(&ticket), Ok(PrinterStatus::Ready));
    let printed = sim
        .next_ticket(Duration::from_secs(5))
        .expect("a ticket was cut");

    let text = printed.text();
    for expected in [
        "天山区政务服务中心",
        "社会保障",
        "A012",
        "前面还有 7 人",
        "请留意叫号屏幕",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    assert_eq!(printed.text_at_scale(4), ["A012"]);

    let image = render(&printed, &load_font().unwrap()).unwrap();
    let number_at = printed
        .elements
        .iter()
        .position(|e| matches!(e, TicketElement::Line { runs, .. } if runs.iter().any(|r| r.text == "A012")))
        .unwrap();
    let placed = &image.placed[number_at];
    assert!(
        placed.bottom - placed.top >= 96,
        "the number is drawn four lines tall"
    );
    let ink = image.ink_in_rows(placed.top, placed.bottom);
    assert!(ink > 1500, "number rows hold only {ink} dark pixels");

    let png = image.to_png().unwrap();
    // Set HALLQ_TICKET_PNG=/some/file.png to look at the ticket.
    if let Some(path) = std::env::var_os("HALLQ_TICKET_PNG") {
        std::fs::write(path, &png).unwrap();
    }
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    let (_, content) = grids[0].decode().unwrap();
    assert_eq!(content, ticket.status_url);
}

#[test]
fn each_printer_condition_gives_its_status_and_refuses_to_print() {
    let sim = PrinterSim::start(None).unwrap();
    let mut printer = printer_for(&sim);
    let ticket = example_ticket();

    sim.update(|s| s.paper = Paper::NearEnd);
    assert_eq!(printer.status(), PrinterStatus::PaperNearEnd);
    assert_eq!(printer.print(&ticket), Ok(PrinterStatus::PaperNearEnd));
    assert!(sim.next_ticket(Duration::from_secs(5)).is_some());

    let cases = [
        (Paper::Out, false, false, PrinterStatus::PaperOut),
        (Paper::Plenty, true, false, PrinterStatus::CoverOpen),
        (Paper::Plenty, false, true, PrinterStatus::NoAnswer),
    ];
    for (paper, cover_open, silent, expected) in cases {
        sim.update(|s| {
            s.paper = paper;
            s.cover_open = cover_open;
            s.silent = silent;
        });
        assert_eq!(printer.status(), expected);
        assert_eq!(
            printer.print(&ticket),
            Err(PrintError::NotReady(expected.clone()))
        );
        assert!(
            sim.next_ticket(Duration::from_millis(200)).is_none(),
            "{expected}"
        );
    }

    sim.update(|s| s.silent = false);
    assert_eq!(printer.status(), PrinterStatus::Ready);
}

#[test]
fn a_missing_port_is_a_port_failure_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-printer");
    let mut printer = SerialEscPosPrinter::new(
        PrinterConfig {
            port: path.to_string_lossy().into_owned(),
            ..PrinterConfig::default()
        },
        TicketTextConfig::default(),
    );
    match printer.print(&example_ticket()) {
        Err(PrintError::NotReady(PrinterStatus::PortFailed(detail))) => {
            assert!(detail.contains("no-printer"), "{detail}")
        }
        other => panic!("expected a port failure, got {other:?}"),
    }
}

#[test]
fn paper_running_out_mid_ticket_is_one_failed_print_and_a_fault_then_recovery() {
    let sim = PrinterSim::start(None).unwrap();
    let (tx, mut rx) = mpsc::channel(32);
    let service = PrinterService::new(printer_for(&sim), tx);
    assert_eq!(service.check(), PrinterStatus::Ready);
    assert_eq!(recv(&mut rx, Duration::from_secs(1)), Some(health(None)));

    sim.update(|s| s.fails_after = Some((120, MidTicketFault::PaperOut)));
    let outcome = service.print(&example_ticket());
    assert_eq!(
        outcome,
        Err(PrintError::Interrupted(PrinterStatus::PaperOut))
    );
    assert_eq!(
        recv(&mut rx, Duration::from_secs(1)),
        Some(health(Some(DeviceFault::PaperOut)))
    );
    assert_eq!(
        recv(&mut rx, Duration::from_secs(1)),
        Some(DeviceReport::Print {
            ticket_number: "A012".into(),
            outcome: Err(PrintError::Interrupted(PrinterStatus::PaperOut)),
        })
    );
    assert!(sim.next_ticket(Duration::from_millis(200)).is_none());
    assert_eq!(sim.state().tickets_spoiled, 1);

    let monitor = service.spawn_monitor(Duration::from_millis(50)).unwrap();
    sim.update(|s| s.paper = Paper::Plenty);
    assert_eq!(recv(&mut rx, Duration::from_secs(2)), Some(health(None)));
    // The monitor reports changes only: nothing more while the printer stays ready.
    assert_eq!(recv(&mut rx, Duration::from_millis(300)), None);
    drop(monitor);
}

#[test]
fn monitor_reports_each_change_once() {
    let sim = PrinterSim::start(None).unwrap();
    let (tx, mut rx) = mpsc::channel(32);
    let service = PrinterService::new(printer_for(&sim), tx);
    let monitor = service.spawn_monitor(Duration::from_millis(40)).unwrap();
    assert_eq!(recv(&mut rx, Duration::from_secs(2)), Some(health(None)));
    sim.update(|s| s.cover_open = true);
    assert_eq!(
        recv(&mut rx, Duration::from_secs(2)),
        Some(health(Some(DeviceFault::CoverOpen)))
    );
    sim.update(|s| s.silent = true);
    assert_eq!(
        recv(&mut rx, Duration::from_secs(2)),
        Some(health(Some(DeviceFault::NoAnswer)))
    );
    sim.update(|s| {
        s.silent = false;
        s.cover_open = false;
    });
    assert_eq!(recv(&mut rx, Duration::from_secs(2)), Some(health(None)));
    assert_eq!(recv(&mut rx, Duration::from_millis(300)), None);
    monitor.stop();
}

#[test]
fn a_printed_ticket_reports_success_once() {
    let sim = PrinterSim::start(None).unwrap();
    let (tx, mut rx) = mpsc::channel(32);
    let service = PrinterService::new(printer_for(&sim), tx);
    service.print(&example_ticket()).unwrap();
    assert_eq!(recv(&mut rx, Duration::from_secs(1)), Some(health(None)));
    assert_eq!(
        recv(&mut rx, Duration::from_secs(1)),
        Some(DeviceReport::Print {
            ticket_number: "A012".into(),
            outcome: Ok(())
        })
    );
    assert!(sim.next_ticket(Duration::from_secs(5)).is_some());
    assert_eq!(recv(&mut rx, Duration::from_millis(100)), None);
}

#[test]
fn sim_command_saves_each_ticket_as_text_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("printer");
    let out = dir.path().join("tickets");
    let out_arg = out.to_str().unwrap();
    let sim_process = spawn_sim(&["printer", "--pty", "--out", out_arg], &link);
    let mut printer = SerialEscPosPrinter::new(
        PrinterConfig {
            port: link.to_string_lossy().into_owned(),
            ..PrinterConfig::default()
        },
        TicketTextConfig::default(),
    );
    let printed = printer.print(&example_ticket());
    wait_for(&out.join("ticket-001.txt"));
    std::thread::sleep(Duration::from_millis(100));
    let text = std::fs::read_to_string(out.join("ticket-001.txt")).unwrap();
    let png = std::fs::read(out.join("ticket-001.png")).unwrap();
    drop(sim_process);
    assert_eq!(printed, Ok(PrinterStatus::Ready));
    assert!(text.contains("A012") && text.contains("社会保障"), "{text}");
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn printer_works_again_after_being_unplugged_and_plugged_back() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("printer");
    let sim = PrinterSim::start(Some(&link)).unwrap();
    let mut printer = printer_for(&sim);
    assert_eq!(printer.status(), PrinterStatus::Ready);
    drop(sim);
    assert!(matches!(printer.status(), PrinterStatus::PortFailed(_)));
    assert!(matches!(printer.status(), PrinterStatus::PortFailed(_)));
    let sim = PrinterSim::start(Some(&link)).unwrap();
    assert_eq!(printer.status(), PrinterStatus::Ready);
    assert_eq!(printer.print(&example_ticket()), Ok(PrinterStatus::Ready));
    assert!(sim.next_ticket(Duration::from_secs(5)).is_some());
}

#[test]
fn a_printer_going_silent_mid_ticket_is_an_interrupted_print() {
    let sim = PrinterSim::start(None).unwrap();
    let mut printer = printer_for(&sim);
    sim.update(|s| s.fails_after = Some((150, MidTicketFault::Silent)));
    assert_eq!(
        printer.print(&example_ticket()),
        Err(PrintError::Interrupted(PrinterStatus::NoAnswer))
    );
    assert!(sim.next_ticket(Duration::from_millis(200)).is_none());
    assert_eq!(sim.state().tickets_spoiled, 1);
    // Back on: the next ticket prints whole, nothing of the lost one mixed in.
    sim.update(|s| s.silent = false);
    assert_eq!(printer.print(&example_ticket()), Ok(PrinterStatus::Ready));
    let printed = sim.next_ticket(Duration::from_secs(5)).unwrap();
    assert_eq!(printed.text_at_scale(4), ["A012"]);
    assert!(
        printed.text().starts_with("欢迎光临\n"),
        "{}",
        printed.text()
    );
}

#[test]
fn a_reply_outside_the_status_pattern_is_garbled() {
    use serialport::SerialPort;
    use std::io::{Read, Write};
    let (mut master, slave) = serialport::TTYPort::pair().unwrap();
    let path = slave.name().unwrap();
    let answerer = std::thread::spawn(move || {
        let mut buf = [0u8; 3];
        master.set_timeout(Duration::from_secs(2)).unwrap();
        // A device at the wrong baud rate answers with noise.
        if master.read_exact(&mut buf).is_ok() {
            master.write_all(&[0xFF]).unwrap();
        }
        std::thread::sleep(Duration::from_millis(200));
    });
    let mut printer = SerialEscPosPrinter::new(
        PrinterConfig {
            port: path,
            ..PrinterConfig::default()
        },
        TicketTextConfig::default(),
    );
    let status = printer.status();
    assert_eq!(status, PrinterStatus::Garbled(0xFF));
    assert_eq!(
        status.fault().unwrap().to_string(),
        "device error: unrecognised status byte 0xff; check the baud rate"
    );
    answerer.join().unwrap();
    drop(slave);
}

/// Has the simulator turn `fault` right after the example ticket's last byte: past the three
/// status queries (three bytes each) before it and the whole ticket.
fn fault_after_the_whole_ticket(sim: &PrinterSim, fault: MidTicketFault) {
    let ticket = ticket_bytes(
        &example_ticket(),
        &TicketTextConfig::default(),
        &PrinterConfig::default(),
    )
    .unwrap();
    let status_queries = 3 * 3;
    sim.update(|s| s.fails_after = Some((status_queries + ticket.len(), fault)));
}

#[test]
fn a_failed_flush_after_the_whole_ticket_is_a_print_when_the_printer_answers_ready() {
    let sim = PrinterSim::start(None).unwrap();
    let armed = Arc::new(AtomicBool::new(true));
    let (tx, mut rx) = mpsc::channel(32);
    let service = PrinterService::new(printer_with_failing_flush(&sim, &armed), tx);
    assert_eq!(service.print(&example_ticket()), Ok(()));
    assert!(!armed.load(Ordering::SeqCst), "the flush never failed");
    assert_eq!(recv(&mut rx, Duration::from_secs(1)), Some(health(None)));
    assert_eq!(
        recv(&mut rx, Duration::from_secs(1)),
        Some(DeviceReport::Print {
            ticket_number: "A012".into(),
            outcome: Ok(())
        })
    );
    let printed = sim.next_ticket(Duration::from_secs(5)).unwrap();
    assert_eq!(printed.text_at_scale(4), ["A012"]);
}

#[test]
fn a_failed_flush_then_no_answer_is_a_failed_print() {
    let sim = PrinterSim::start(None).unwrap();
    let armed = Arc::new(AtomicBool::new(true));
    let mut printer = printer_with_failing_flush(&sim, &armed);
    // The printer dies before it can answer the queries after the ticket.
    fault_after_the_whole_ticket(&sim, MidTicketFault::Silent);
    assert_eq!(
        printer.print(&example_ticket()),
        Err(PrintError::Interrupted(PrinterStatus::NoAnswer))
    );
    assert!(!armed.load(Ordering::SeqCst), "the flush never failed");
}

#[test]
fn a_failed_flush_then_paper_out_is_a_failed_print() {
    let sim = PrinterSim::start(None).unwrap();
    let armed = Arc::new(AtomicBool::new(true));
    let mut printer = printer_with_failing_flush(&sim, &armed);
    fault_after_the_whole_ticket(&sim, MidTicketFault::PaperOut);
    assert_eq!(
        printer.print(&example_ticket()),
        Err(PrintError::Interrupted(PrinterStatus::PaperOut))
    );
    assert!(!armed.load(Ordering::SeqCst), "the flush never failed");
}
