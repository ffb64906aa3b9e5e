//! The kiosk joined to the real serial drivers: the ESC/POS printer simulator and the ID-card reader
//! simulator on pty pairs, as the demo hall wires them.

use hallq::devices::idcard::sim::{CardReaderSim, TestCard};
use hallq::devices::idcard::{IdCardReaderConfig, spawn_card_reader};
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
    hall_of_setup_with_serial_printer(hallq::config::example(), sim)
}

/// The same with the hall's own config, its `[ticket]` table going to the driver as `hallq run`
/// passes it.
fn hall_of_setup_with_serial_printer(setup: hallq::config::HallSetup, sim: &PrinterSim) -> Hall {
    let (reports, rx) = mpsc::channel(16);
    let config = PrinterConfig {
        port: sim.port_path().to_owned(),
        ..PrinterConfig::default()
    };
    let printer = SerialEscPosPrinter::new(config, setup.config.ticket.clone());
    let printer = PrinterService::new(printer, reports);
    let link = KioskLink::default();
    let hall = Hall::with(HallOptions {
        setup,
        printer: Arc::new(printer.clone()),
        on_kiosk: Some(link.on_kiosk()),
        ..HallOptions::default()
    });
    let _entered = hall.runtime.as_ref().unwrap().enter();
    join(
        hall.engine.clone().unwrap().into(),
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
        let link = ticket_print(&hallq::config::example(), &ticket, 0, Lang::Zh).status_url;
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

/// The one QR code on a ticket image as the simulator draws it, read back as a phone would.
fn qr_on_paper(paper: &hallq::devices::printer::sim::interpret::PrintedTicket) -> String {
    use hallq::devices::printer::sim::render::{load_font, render};
    let png = render(paper, &load_font().unwrap())
        .unwrap()
        .to_png()
        .unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the ticket");
    grids[0].decode().expect("a readable QR code").1
}

/// The status link on paper and on screen is the hall's (`[ticket] status_base_url`) with the
/// ticket's own random token and the citizen's language, never the example address.
#[test]
fn the_ticket_qr_code_leads_to_the_halls_status_page_with_the_tickets_token() {
    on_ui_thread(|| {
        const BASE: &str = "https://zwfw.tianshan.example/status/";
        let mut setup = hallq::config::example();
        setup.config.ticket.status_base_url = BASE.into();
        let sim = PrinterSim::start(None).unwrap();
        let hall = hall_of_setup_with_serial_printer(setup, &sim);
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        tap(hall.kiosk(), "English");
        let mut tokens = Vec::new();
        for number in ["A001", "A002"] {
            tap(hall.kiosk(), "Social insurance");
            hall.wait("the print to be recorded", || {
                hall.state()
                    .ticket_by_number(number)
                    .is_some_and(|t| t.print == PrintState::Printed)
            });
            let paper = sim
                .next_ticket(Duration::from_secs(5))
                .expect("a ticket was cut");
            let on_paper = qr_on_paper(&paper);
            let ticket = hall.state().ticket_by_number(number).cloned().unwrap();
            let token = ticket.status_token.clone().expect("the ticket has a token");
            assert_eq!(on_paper, format!("{BASE}{token}?lang=en"));
            let qr = kiosk.get_qr().to_rgb8().expect("an RGB QR image");
            let mut image = rqrr::PreparedImage::prepare_from_greyscale(
                qr.width() as usize,
                qr.height() as usize,
                |x, y| qr.as_slice()[y * qr.width() as usize + x].r,
            );
            let (_, on_screen) = image.detect_grids()[0].decode().unwrap();
            assert_eq!(on_screen, on_paper, "the screen shows the printed link");
            tap(hall.kiosk(), "Done");
            tokens.push(token);
        }
        let same = tokens[0]
            .bytes()
            .zip(tokens[1].bytes())
            .filter(|(a, b)| a == b)
            .count();
        assert!(
            tokens[0].len() == 32 && same <= 12,
            "{tokens:?}: two tickets' tokens look alike"
        );
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

/// A hall whose kiosk takes cards from the reader simulator through the real driver, as
/// `hallq run` joins them. The reader thread stops when the returned handle drops.
fn hall_with_card_reader(
    setup: hallq::config::HallSetup,
    cards: Vec<TestCard>,
    dir: &std::path::Path,
) -> (Hall, CardReaderSim, hallq::devices::worker::DeviceThread) {
    let reader_sim = CardReaderSim::start(cards, &dir.join("idcard")).unwrap();
    let link = KioskLink::default();
    let hall = Hall::with(HallOptions {
        setup,
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
    let reader = spawn_card_reader(config, reports).unwrap();
    {
        let _entered = hall.runtime.as_ref().unwrap().enter();
        let engine = hall.engine.clone().unwrap();
        join(
            engine.into(),
            unused_printer,
            rx,
            KioskPresence::Screen(link),
        );
    }
    (hall, reader_sim, reader)
}

#[test]
fn a_card_on_the_reader_goes_to_the_kiosk_waiting_for_it() {
    on_ui_thread(|| {
        let dir = tempfile::tempdir().unwrap();
        let (hall, reader_sim, _reader) =
            hall_with_card_reader(hallq::config::example(), TestCard::examples(), dir.path());
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

/// A resident card whose ID number ends in the wrong check character: the reader reads it, the
/// card text is refused.
fn card_with_a_bad_check_character() -> TestCard {
    let mut card = TestCard::resident();
    let check = card.id_number.pop().unwrap();
    card.id_number.push(if check == '0' { '1' } else { '0' });
    card
}

/// `card` as if it ran out in 2024.
fn expired(mut card: TestCard) -> TestCard {
    card.valid_to = chrono::NaiveDate::from_ymd_opt(2024, 5, 1);
    card
}

/// The citizen learns, in their language, that the card could not be read and what to do; once
/// for a card left lying on a reader that retries it every poll.
#[test]
fn a_card_that_cannot_be_read_is_told_to_the_citizen_once_per_placement() {
    on_ui_thread(|| {
        let dir = tempfile::tempdir().unwrap();
        let (hall, reader_sim, _reader) = hall_with_card_reader(
            hallq::config::example(),
            vec![card_with_a_bad_check_character()],
            dir.path(),
        );
        // Some readers keep finding a card after reading it: every poll reads it again.
        reader_sim.update(|s| s.finds_read_cards = true);
        let counted_before = hallq::ports::CARD_COUNTERS
            .unreadable
            .load(std::sync::atomic::Ordering::Relaxed);
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        tap(hall.kiosk(), "English");
        tap(hall.kiosk(), "Household registration");
        hall.wait("the card page", || kiosk.get_page() == KioskPage::Card);
        reader_sim.place(0);
        hall.wait("the notice", || kiosk.get_page() == KioskPage::Notice);
        assert_eq!(kiosk.get_notice(), KioskNotice::CardUnreadable);
        let told = visible_texts(hall.kiosk());
        assert!(
            told.iter().any(|t| t.contains("could not be read")
                && t.contains("place it flat")
                && t.contains("ask the staff")),
            "{told:?}"
        );
        tap(hall.kiosk(), "Back");
        hall.wait("home", || kiosk.get_page() == KioskPage::Home);
        // The card still lies there, read and refused about twenty times a second.
        headless::pump_until(Duration::from_millis(1500), || false);
        assert_eq!(kiosk.get_page(), KioskPage::Home, "told once, not per poll");
        let polls = reader_sim.update(|s| s.commands_seen.len());
        assert!(polls > 20, "the reader kept polling the card: {polls}");
        let counted = hallq::ports::CARD_COUNTERS
            .unreadable
            .load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(counted - counted_before, 1, "one placement, counted once");
        assert!(hall.state().tickets.is_empty());
    });
}

/// A service that does not accept expired cards refuses one with a notice naming the service; the
/// hall's other services (the default) take it, as renewals need.
#[test]
fn an_expired_card_takes_a_number_only_where_the_service_accepts_it() {
    on_ui_thread(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut setup = hallq::config::example();
        for service in &mut setup.config.services {
            if service.code == "HJ" {
                service.accepts_expired_id_card = false;
            }
        }
        let (hall, reader_sim, _reader) = hall_with_card_reader(
            setup,
            vec![
                expired(TestCard::resident()),
                expired(TestCard::hk_macao_taiwan_permit()),
            ],
            dir.path(),
        );
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        tap(hall.kiosk(), "户籍办理");
        hall.wait("the card page", || kiosk.get_page() == KioskPage::Card);
        reader_sim.place(0);
        hall.wait("the notice", || kiosk.get_page() == KioskPage::Notice);
        assert_eq!(kiosk.get_notice(), KioskNotice::CardExpired);
        assert_eq!(kiosk.get_notice_arg1(), "户籍办理");
        assert!(
            visible_texts(hall.kiosk())
                .iter()
                .any(|t| t.contains("已过期") && t.contains("户籍办理")),
            "{:?}",
            visible_texts(hall.kiosk())
        );
        assert!(
            hall.state().tickets.is_empty(),
            "no ticket for the expired card"
        );

        tap(hall.kiosk(), "返回");
        reader_sim.remove_card();
        tap(hall.kiosk(), "不动产登记");
        hall.wait("the card page", || kiosk.get_page() == KioskPage::Card);
        reader_sim.place(1);
        hall.wait("the issued page", || kiosk.get_page() == KioskPage::Issued);
        assert_eq!(
            kiosk.get_number(),
            "D001",
            "不动产登记 accepts expired cards"
        );
    });
}

/// A reader that takes no cards (here: its security module failed) sends the citizen to the staff
/// rather than leaving them at the card page.
#[test]
fn a_service_that_needs_the_card_sends_the_citizen_to_staff_while_the_reader_is_out() {
    on_ui_thread(|| {
        let hall = Hall::open();
        hall.command(
            "t-reader",
            Command::ReportDevice {
                device: "idcard_reader".into(),
                fault: Some(DeviceFault {
                    code: "sam_failure".into(),
                    message: "ID-card reader: security module failure: 0x41".into(),
                }),
            },
        );
        hall.wait("the fault to reach the screens", || {
            hall.state().faults.contains_key("idcard_reader")
        });
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        tap(hall.kiosk(), "户籍办理");
        hall.wait("the notice", || kiosk.get_page() == KioskPage::Notice);
        assert_eq!(kiosk.get_notice(), KioskNotice::OutOfOrder);
        tap(hall.kiosk(), "返回");
        tap(hall.kiosk(), "社会保障");
        hall.wait("the issued page", || kiosk.get_page() == KioskPage::Issued);
        assert_eq!(
            kiosk.get_number(),
            "A001",
            "services without the card still issue"
        );
    });
}

#[test]
fn the_demo_controls_lay_a_card_on_the_simulated_reader_and_take_the_printers_paper() {
    use hallq::devices::demo::DemoDevices;
    use hallq::ui::DemoAdapter;
    on_ui_thread(|| {
        let hall = Hall::open();
        let devices = {
            let _entered = hall.runtime.as_ref().unwrap().enter();
            DemoDevices::start(
                hall.engine.clone().unwrap().into(),
                &hall._dir.path().join("sim-tickets"),
                KioskPresence::Headless,
            )
            .unwrap()
        };
        let (controls, _follow) = hallq::node::demo::open_controls(Arc::new(devices)).unwrap();
        let adapter = controls.global::<DemoAdapter>();

        // The card goes through the simulated reader and the real driver: without a kiosk screen
        // it takes a ticket for the first service that needs the ID card.
        adapter.invoke_place_card();
        hall.wait("a ticket taken with the demo card", || {
            hall.state()
                .tickets
                .values()
                .any(|t| t.citizen.as_ref().is_some_and(|c| c.masked_name == "张*三"))
        });

        assert!(!adapter.get_printer_out());
        adapter.invoke_toggle_paper();
        hall.wait("the button to follow the simulator", || {
            adapter.get_printer_out()
        });
        assert!(
            headless::pump_until(Duration::from_secs(8), || {
                hall.state().faults.contains_key(hallq::ui::PRINTER_DEVICE)
            }),
            "the printer driver reports the paper gone"
        );
        adapter.invoke_toggle_paper();
        hall.wait("the button to follow the refill", || {
            !adapter.get_printer_out()
        });
    });
}
