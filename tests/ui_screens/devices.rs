//! The kiosk joined to the real serial drivers: the ESC/POS printer simulator and the ID-card reader
//! simulator on pty pairs, as the demo hall wires them.

use hallq::devices::idcard::sim::{CardReaderSim, TestCard};
use hallq::devices::idcard::{HallKey, IdCardReaderConfig, spawn_card_reader};
use hallq::devices::link::{KioskLink, KioskPresence, join};
use hallq::devices::printer::sim::{Paper, PrinterSim};
use hallq::devices::printer::{
    PrinterConfig, PrinterService, SerialEscPosPrinter, TicketTextConfig,
};
use hallq::devices::ticket_print;
use tokio::sync::mpsc;

use super::*;

/// A hall whose kiosk prints on the real driver over the simulator's pty, joined to the engine as
/// the demo hall joins it when the kiosk screen runs in the same process.
fn hall_with_serial_printer(sim: &PrinterSim) -> Hall {
    let (reports, rx) = mpsc::channel(16);
    let config = PrinterConfig {
        port: sim.port_path().to_owned(),
        ..PrinterConfig::default()
    };
    let printer = SerialEscPosPrinter::new(config, TicketTextConfig::default());
    let printer = PrinterService::new(printer, reports);
    let link = KioskLink::default();
    let hall = Hall::with(HallOptions {
        printer: Arc::new(printer.clone()),
        on_kiosk: Some(link.on_kiosk()),
        ..HallOptions::default()
    });
    let _entered = hall.runtime.as_ref().unwrap().enter();
    join(
        hall.engine.clone().unwrap(),
        printer,
        rx,
        KioskPresence::Screen(link),
    );
    hall
}

/// Kinds of the events committed so far on `events`.
fn kinds(
    events: &mut tokio::sync::broadcast::Receiver<Arc<hallq::queue::StoredEvent>>,
) -> Vec<&'static str> {
    std::iter::from_fn(|| events.try_recv().ok())
        .map(|e| e.event.kind())
        .collect()
}

#[test]
fn a_kiosk_ticket_prints_once_on_the_serial_printer() {
    on_ui_thread(|| {
        let sim = PrinterSim::start(None).unwrap();
        let hall = hall_with_serial_printer(&sim);
        let mut events = hall.engine.as_ref().unwrap().subscribe();
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        tap(hall.kiosk(), "社会保障");
        hall.wait("the print to be recorded", || {
            hall.state()
                .ticket_by_number("A001")
                .is_some_and(|t| t.print == PrintState::Printed)
        });
        assert!(kiosk.get_printed());
        let paper = sim
            .next_ticket(Duration::from_secs(5))
            .expect("a ticket was cut");
        assert_eq!(paper.text_at_scale(4), ["A001"]);
        let text = paper.text();
        for expected in [
            "天山区政务服务中心",
            "社会保障",
            "前面还有 0 人",
            "取号时间 2026-11-27 10:00",
            "请留意叫号屏幕",
        ] {
            assert!(text.contains(expected), "{expected} missing from\n{text}");
        }
        let ticket = hall.state().ticket_by_number("A001").cloned().unwrap();
        let link = ticket_print(
            &hallq::config::example(),
            &ticket,
            0,
            Lang::Zh,
            &TicketTextConfig::default(),
        )
        .status_url;
        assert_eq!(paper.qr_payloads(), [link.as_str()]);
        assert!(
            sim.next_ticket(Duration::from_millis(500)).is_none(),
            "one ticket on paper"
        );
        let kinds = kinds(&mut events);
        let printed = kinds.iter().filter(|k| **k == "ticket_printed").count();
        assert_eq!(printed, 1, "{kinds:?}");
        assert!(!kinds.contains(&"ticket_print_failed"), "{kinds:?}");
    });
}

#[test]
fn a_printer_out_of_paper_leaves_the_number_on_screen_and_one_failed_print() {
    on_ui_thread(|| {
        let sim = PrinterSim::start(None).unwrap();
        sim.update(|s| s.paper = Paper::Out);
        let hall = hall_with_serial_printer(&sim);
        let mut events = hall.engine.as_ref().unwrap().subscribe();
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        tap(hall.kiosk(), "社会保障");
        hall.wait("the on-screen fallback", || {
            kiosk.get_page() == KioskPage::Issued && !kiosk.get_printed()
        });
        assert_eq!(kiosk.get_number(), "A001");
        assert!(kiosk.get_qr().size().width > 0, "the QR code is on screen");
        hall.wait("the failed print to be recorded", || {
            hall.state()
                .ticket_by_number("A001")
                .is_some_and(|t| t.print == PrintState::Failed)
        });
        assert!(sim.next_ticket(Duration::from_millis(300)).is_none());
        headless::pump_until(Duration::from_millis(300), || false);
        let kinds = kinds(&mut events);
        let failed = kinds
            .iter()
            .filter(|k| **k == "ticket_print_failed")
            .count();
        assert_eq!(failed, 1, "{kinds:?}");
        assert!(!kinds.contains(&"ticket_printed"), "{kinds:?}");
    });
}

#[test]
fn a_card_on_the_reader_goes_to_the_kiosk_waiting_for_it() {
    on_ui_thread(|| {
        let dir = tempfile::tempdir().unwrap();
        let reader_sim =
            CardReaderSim::start(TestCard::examples(), &dir.path().join("idcard")).unwrap();
        let link = KioskLink::default();
        let hall = Hall::with(HallOptions {
            on_kiosk: Some(link.on_kiosk()),
            ..HallOptions::default()
        });
        let (reports, rx) = mpsc::channel(16);
        let (printer_reports, _) = mpsc::channel(1);
        let unused_printer = PrinterService::new(
            SerialEscPosPrinter::new(PrinterConfig::default(), TicketTextConfig::default()),
            printer_reports,
        );
        let config = IdCardReaderConfig {
            port: reader_sim.port_path(),
            poll_ms: 50,
            ..IdCardReaderConfig::default()
        };
        let key = HallKey::from_hex("00112233445566778899aabbccddeeff").unwrap();
        let _reader = spawn_card_reader(config, key, reports).unwrap();
        {
            let _entered = hall.runtime.as_ref().unwrap().enter();
            let engine = hall.engine.clone().unwrap();
            join(engine, unused_printer, rx, KioskPresence::Screen(link));
        }
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        // 户籍办理 needs the card; without a kiosk the card would take a ticket for it by itself.
        tap(hall.kiosk(), "户籍办理");
        hall.wait("the card page", || kiosk.get_page() == KioskPage::Card);
        reader_sim.place(0);
        hall.wait("the issued page", || kiosk.get_page() == KioskPage::Issued);
        assert_eq!(kiosk.get_number(), "C001");
        let state = hall.state();
        let ticket = state.ticket_by_number("C001").unwrap();
        assert_eq!(ticket.citizen.as_ref().unwrap().masked_name, "张*三");
        assert_eq!(
            state.tickets.len(),
            1,
            "the card took one ticket, the kiosk's"
        );
    });
}
