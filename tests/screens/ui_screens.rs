//! The screens driven as a citizen and staff would: taps go through the accessibility tree (the same
//! path a touch takes), the engine answers on its own threads, and the headless platform pumps the
//! Slint event loop. Golden screenshots of every screen in every language live in `tests/golden/`;
//! `HALLQ_UPDATE_GOLDEN=1` rewrites them.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use hallq::clock::ManualClock;
use hallq::config::{HallSetup, Lang};
use hallq::devices::SimulatedPrinter;
use hallq::engine::{self, EngineHandle, EngineThread};
use hallq::ports::{PrintJob, TicketOutput};
use hallq::queue::{
    CitizenCard, Command, DeviceFault, Event, PrintState, Rating, SatisfactionLevel, TicketState,
    UnratedWhy, day,
};
use hallq::ui::{
    KioskAdapter, KioskNotice, KioskPage, PanelAdapter, PanelNotice, RatingAdapter, ScreenKind,
    ScreenOptions, Screens, WallAdapter, headless,
};
use i_slint_backend_testing::ElementHandle;
use slint::{ComponentHandle, Model};

// ---------------------------------------------------------------------------------------------
// One UI thread for the whole test binary: Slint allows one platform per process, and its components
// never leave the thread that made them. Each test sends its body there and waits for the result.

type Body = Box<dyn FnOnce() + Send>;

fn on_ui_thread<R: Send + 'static>(body: impl FnOnce() -> R + Send + 'static) -> R {
    static UI: OnceLock<Mutex<mpsc::Sender<Body>>> = OnceLock::new();
    let sender = UI
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Body>();
            std::thread::spawn(move || {
                headless::install().expect("the headless platform installs");
                for body in rx {
                    body();
                }
            });
            Mutex::new(tx)
        })
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let (done, result) = mpsc::channel();
    sender
        .send(Box::new(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
            let _ = done.send(outcome);
        }))
        .expect("the UI thread runs");
    match result.recv().expect("the UI thread answers") {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

// ---------------------------------------------------------------------------------------------
// A hall with its engine in a temporary directory and the three screens open.

/// 2026-11-27 (a Friday) 10:00 in the hall: inside the example hall's opening hours.
fn friday_morning(setup: &HallSetup) -> i64 {
    at(setup, 2026, 11, 27, 10, 0)
}

fn at(setup: &HallSetup, y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
    let local = chrono::NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, min, 0)
        .unwrap();
    day::instant_of(setup, local)
}

struct Hall {
    screens: Option<Screens>,
    engine: Option<EngineHandle>,
    writer: Option<EngineThread>,
    runtime: Option<tokio::runtime::Runtime>,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

struct HallOptions {
    setup: HallSetup,
    wall_ms: Option<i64>,
    printer: Arc<dyn TicketOutput>,
    on_kiosk: Option<hallq::ports::OnKioskBound>,
}

impl Default for HallOptions {
    fn default() -> Self {
        HallOptions {
            setup: hallq::config::example(),
            wall_ms: None,
            printer: Arc::new(SimulatedPrinter),
            on_kiosk: None,
        }
    }
}

impl Hall {
    fn open() -> Hall {
        Hall::with(HallOptions::default())
    }

    fn with(options: HallOptions) -> Hall {
        let dir = tempfile::tempdir().unwrap();
        let setup = Arc::new(options.setup);
        let clock = Arc::new(ManualClock::new(
            options.wall_ms.unwrap_or_else(|| friday_morning(&setup)),
        ));
        let (engine, writer) =
            engine::start(setup.clone(), &dir.path().join("hall.db"), clock.clone()).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let screens = Screens::open(
            engine.clone(),
            clock.clone(),
            runtime.handle(),
            &ScreenOptions {
                kinds: vec![
                    ScreenKind::Kiosk,
                    ScreenKind::Window(1),
                    ScreenKind::Display,
                ],
                printer: options.printer,
                on_kiosk: options.on_kiosk,
            },
        )
        .unwrap();
        screens.show().unwrap();
        // The screens' real resolutions: taps only reach what is laid out on screen.
        let sizes = [
            (screens.kiosk.as_ref().unwrap().window(), 1080, 1920),
            (screens.panels[0].1.window(), 1280, 800),
            (screens.panels[0].2.window(), 1280, 800),
            (screens.wall.as_ref().unwrap().window(), 1920, 1080),
        ];
        for (window, w, h) in sizes {
            window.set_size(slint::PhysicalSize::new(w, h));
        }
        headless::pump();
        Hall {
            screens: Some(screens),
            engine: Some(engine),
            writer: Some(writer),
            runtime: Some(runtime),
            clock,
            _dir: dir,
        }
    }

    fn screens(&self) -> &Screens {
        self.screens.as_ref().unwrap()
    }

    fn kiosk(&self) -> &hallq::ui::Kiosk {
        self.screens().kiosk.as_ref().unwrap()
    }

    fn panel(&self) -> &hallq::ui::WindowPanel {
        &self.screens().panels[0].1
    }

    fn rating(&self) -> &hallq::ui::RatingScreen {
        &self.screens().panels[0].2
    }

    fn wall(&self) -> &hallq::ui::DisplayWall {
        self.screens().wall.as_ref().unwrap()
    }

    /// The hall's key for ID numbers, as the engine made it beside the database.
    fn hall_key(&self) -> hallq::identity::HallKey {
        self.engine.as_ref().unwrap().hall_key().unwrap()
    }

    /// Runs a command on the engine directly, as another terminal of the hall would.
    fn command(&self, id: &str, command: Command) -> hallq::store::Outcome {
        let engine = self.engine.as_ref().unwrap();
        self.runtime
            .as_ref()
            .unwrap()
            .block_on(engine.execute(id, command))
            .unwrap()
    }

    fn state(&self) -> hallq::queue::HallState {
        let engine = self.engine.as_ref().unwrap();
        self.runtime
            .as_ref()
            .unwrap()
            .block_on(engine.state())
            .unwrap()
    }

    /// Pumps the event loop until `done`, failing the test with `what` after five seconds.
    fn wait(&self, what: &str, done: impl FnMut() -> bool) {
        assert!(
            headless::pump_until(Duration::from_secs(5), done),
            "timed out waiting for: {what}"
        );
    }

    /// A walk-in ticket taken at another terminal.
    fn issue(&self, id: &str, service: &str) {
        self.command(
            id,
            Command::IssueTicket {
                service: service.into(),
                citizen: None,
                by_staff: false,
            },
        );
    }

    fn sign_in_window_1(&self) {
        self.command("t-signin", Command::sign_in_by_number(1, "1001"));
        self.wait("the panel to show the signed-in staff", || {
            self.panel().global::<PanelAdapter>().get_signed_in()
        });
    }
}

impl Drop for Hall {
    fn drop(&mut self) {
        // Screens first (their tasks hold engine handles), then the engine thread may finish.
        self.screens.take();
        self.engine.take();
        self.runtime.take();
        if let Some(writer) = self.writer.take() {
            writer.join();
        }
    }
}

/// Taps the element whose accessible label is `label`, as a finger on the touchscreen would.
fn tap(component: &impl i_slint_backend_testing::ElementRoot, label: &str) {
    let found: Vec<ElementHandle> =
        ElementHandle::find_by_accessible_label(component, label).collect();
    let button = found
        .iter()
        .find(|e| e.accessible_role() == Some(i_slint_backend_testing::AccessibleRole::Button))
        .unwrap_or_else(|| panic!("no button labelled {label:?}"));
    button.invoke_accessible_default_action();
}

fn hash_of(who: &str) -> String {
    let sum = who.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{sum:016x}{sum:016x}{sum:016x}{sum:016x}")
}

/// The texts a citizen sees now: every Text element's label.
fn visible_texts(component: &impl i_slint_backend_testing::ElementRoot) -> Vec<String> {
    ElementHandle::find_by_element_type_name(component, "Text")
        .filter_map(|e| e.accessible_label())
        .map(|s| s.to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The citizen of `who` as the engine keeps one (a keyed hash of 64 hex digits), for commands sent
/// straight to the engine.
fn card(who: &str) -> CitizenCard {
    CitizenCard {
        id_hash: hash_of(who),
        masked_name: "李*华".into(),
        birth_date: chrono::NaiveDate::from_ymd_opt(1990, 1, 1),
    }
}

/// A well-formed ID number derived from `who`.
fn id_number_of(who: &str) -> String {
    let sum = u64::from_str_radix(&hash_of(who)[..12], 16).unwrap();
    let first17 = format!(
        "1101051990{:02}{:02}{:03}",
        1 + sum % 9,
        10 + sum / 9 % 18,
        sum / 162 % 1000
    );
    let check = hallq::identity::id_check_character(first17.as_bytes()).unwrap();
    format!("{first17}{check}")
}

/// The card of `who` as the reader decodes it: its number and name in clear.
fn card_read(who: &str) -> hallq::identity::CardRead {
    hallq::identity::CardRead::new(
        id_number_of(who).into(),
        "李小华".to_string().into(),
        chrono::NaiveDate::from_ymd_opt(1990, 1, 1),
    )
    .unwrap()
}

#[path = "ui_screens/devices.rs"]
mod devices;
#[path = "ui_screens/lan.rs"]
mod lan;
use crate::lan_support;

// ---------------------------------------------------------------------------------------------
// Kiosk

#[test]
fn a_tap_on_a_service_issues_a_ticket_and_prints_it() {
    on_ui_thread(|| {
        let hall = Hall::open();
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        tap(hall.kiosk(), "社会保障");
        hall.wait("the issued page", || kiosk.get_page() == KioskPage::Issued);
        assert_eq!(kiosk.get_number(), "A001");
        assert_eq!(kiosk.get_windows(), "1, 2, 3");
        assert_eq!(kiosk.get_people_ahead(), 0);
        assert!(kiosk.get_printed());
        hall.wait("the print to be recorded", || {
            hall.state()
                .ticket_by_number("A001")
                .is_some_and(|t| t.print == PrintState::Printed)
        });
        // The tile counts the new ticket once the engine's event arrives.
        hall.wait("the tile to count one waiting", || {
            kiosk
                .get_services()
                .iter()
                .any(|t| t.code == "SB" && t.waiting == 1)
        });
    });
}

#[test]
fn the_kiosk_returns_home_by_itself_after_the_configured_time() {
    on_ui_thread(|| {
        let mut options = HallOptions::default();
        options.setup.config.screens.kiosk_return_seconds = 8;
        let hall = Hall::with(options);
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        tap(hall.kiosk(), "社会保障");
        hall.wait("the issued page", || kiosk.get_page() == KioskPage::Issued);
        headless::advance_time(Duration::from_secs(5));
        headless::pump();
        assert_eq!(
            kiosk.get_page(),
            KioskPage::Issued,
            "still shown before the time"
        );
        headless::advance_time(Duration::from_secs(4));
        headless::pump();
        assert_eq!(kiosk.get_page(), KioskPage::Home);
    });
}

#[test]
fn a_printer_fault_shows_the_number_and_qr_code_on_screen() {
    on_ui_thread(|| {
        let hall = Hall::open();
        hall.command(
            "t-fault",
            Command::ReportDevice {
                device: hallq::ui::PRINTER_DEVICE.into(),
                fault: Some(DeviceFault {
                    code: "paper_out".into(),
                    message: "Kiosk printer: out of paper".into(),
                }),
            },
        );
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        hall.wait("the kiosk to know the printer fault", || {
            kiosk.get_printer_faulty()
        });
        tap(hall.kiosk(), "社会保障");
        hall.wait("the issued page", || kiosk.get_page() == KioskPage::Issued);
        assert!(!kiosk.get_printed(), "the on-screen fallback is shown");
        assert_eq!(kiosk.get_number(), "A001");
        // The code on screen carries the printed ticket's status link.
        let qr = kiosk.get_qr().to_rgb8().expect("an RGB QR image");
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(
            qr.width() as usize,
            qr.height() as usize,
            |x, y| qr.as_slice()[y * qr.width() as usize + x].r,
        );
        let (_, text) = image.detect_grids()[0]
            .decode()
            .expect("a readable QR code");
        let ticket = hall.state().ticket_by_number("A001").cloned().unwrap();
        let printed = hallq::devices::ticket_print(&hallq::config::example(), &ticket, 0, Lang::Zh);
        assert_eq!(text, printed.status_url);
        hall.wait("the failed print to be recorded", || {
            hall.state()
                .ticket_by_number("A001")
                .is_some_and(|t| t.print == PrintState::Failed)
        });
    });
}

struct JammedPrinter;

impl TicketOutput for JammedPrinter {
    fn print(&self, _job: &PrintJob) -> Result<(), String> {
        Err("paper jam".into())
    }
}

#[test]
fn a_print_that_fails_falls_back_to_the_screen() {
    on_ui_thread(|| {
        let hall = Hall::with(HallOptions {
            printer: Arc::new(JammedPrinter),
            ..HallOptions::default()
        });
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        tap(hall.kiosk(), "医疗保障");
        hall.wait("the fallback after the failed print", || {
            kiosk.get_page() == KioskPage::Issued && !kiosk.get_printed()
        });
        assert_eq!(kiosk.get_number(), "B001");
        hall.wait("the failed print to be recorded", || {
            hall.state()
                .ticket_by_number("B001")
                .is_some_and(|t| t.print == PrintState::Failed)
        });
    });
}

#[test]
fn a_service_that_needs_the_id_card_asks_for_it_then_issues_with_the_card() {
    on_ui_thread(|| {
        let hall = Hall::open();
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        tap(hall.kiosk(), "户籍办理");
        hall.wait("the card page", || kiosk.get_page() == KioskPage::Card);
        assert!(
            visible_texts(hall.kiosk()).contains(&"请刷身份证".to_string()),
            "the card page asks for the card: {:?}",
            visible_texts(hall.kiosk())
        );
        kiosk_tap_card(&hall, card_read("card-for-residence"));
        hall.wait("the issued page", || kiosk.get_page() == KioskPage::Issued);
        assert_eq!(kiosk.get_number(), "C001");
        let ticket = hall.state().ticket_by_number("C001").cloned().unwrap();
        assert_eq!(ticket.citizen.unwrap().masked_name, "李*华");
    });
}

#[test]
fn early_and_late_appointments_are_told_their_slot_and_the_check_in_time() {
    on_ui_thread(|| {
        let hall = Hall::open();
        // It is 10:00. Check-in runs from 30 minutes before a slot until 15 minutes into it.
        let cases = [
            (
                "bk-1",
                "card-early",
                ("12:00", "12:30"),
                KioskNotice::TooEarly,
                "11:30",
            ),
            (
                "bk-3",
                "card-late",
                ("09:00", "09:30"),
                KioskNotice::TooLate,
                "09:15",
            ),
        ];
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        for (id, who, (start, end), notice, check_in) in cases {
            book(&hall, id, who, start, end);
            // A card tap on the home screen is a check-in.
            kiosk_tap_card(&hall, card_read(who));
            hall.wait("the notice", || kiosk.get_page() == KioskPage::Notice);
            assert_eq!(kiosk.get_notice(), notice);
            assert_eq!(kiosk.get_notice_arg1(), format!("{start}–{end}"));
            assert_eq!(kiosk.get_notice_arg2(), check_in);
            tap(hall.kiosk(), "返回");
            assert_eq!(kiosk.get_page(), KioskPage::Home);
        }
        assert!(
            hall.state().tickets.is_empty(),
            "no ticket for an arrival outside its slot"
        );
    });
}

#[test]
fn an_appointment_inside_its_slot_is_checked_in() {
    on_ui_thread(|| {
        let hall = Hall::open();
        book(&hall, "bk-2", "card-on-time", "10:00", "10:30");
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        kiosk_tap_card(&hall, card_read("card-on-time"));
        hall.wait("the ticket", || kiosk.get_page() == KioskPage::Issued);
        assert_eq!(kiosk.get_number(), "G001");
    });
}

#[test]
fn while_bookings_are_stale_the_kiosk_tells_staff_and_sends_a_booked_citizen_to_them() {
    on_ui_thread(|| {
        let hall = Hall::open();
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        let staff_sentence =
            "工作人员请注意：网上预约名单未能从平台更新，请在窗口为预约群众办理签到。";
        assert!(!kiosk.get_bookings_stale());
        assert!(
            !visible_texts(hall.kiosk())
                .iter()
                .any(|t| t == staff_sentence)
        );

        let mark = |id: &str, stale: bool| {
            hall.command(
                id,
                Command::MarkBookings {
                    stale,
                    last_pull_ms: None,
                },
            );
        };
        mark("t-stale", true);
        hall.wait("the staff notice", || kiosk.get_bookings_stale());
        assert!(
            visible_texts(hall.kiosk())
                .iter()
                .any(|t| t == staff_sentence),
            "{:?}",
            visible_texts(hall.kiosk())
        );

        // A card the hall knows no booking for may hold one the list missed: ask the staff.
        kiosk_tap_card(&hall, card_read("card-booked-meanwhile"));
        hall.wait("the notice", || kiosk.get_page() == KioskPage::Notice);
        assert_eq!(kiosk.get_notice(), KioskNotice::BookingsStale);
        assert!(
            visible_texts(hall.kiosk())
                .iter()
                .any(|t| t == "暂时无法核验网上预约，请找工作人员办理签到。")
        );
        tap(hall.kiosk(), "返回");

        // Both sentences fit their boxes in every language and text size.
        let theme = hall.kiosk().global::<hallq::ui::Theme>();
        let hub = hall.screens().hub().clone();
        let mut spills = Vec::new();
        for large in [false, true] {
            theme.set_large_text(large);
            for lang in Lang::ALL {
                hub.set_language(lang);
                for page in [KioskPage::Home, KioskPage::Notice] {
                    kiosk.set_page(page);
                    headless::pump();
                    for spill in texts_outside_their_parent(hall.kiosk()) {
                        spills.push(format!("{} {page:?} large={large}: {spill}", lang.code()));
                    }
                }
            }
        }
        assert!(
            spills.is_empty(),
            "text outside its box:\n{}",
            spills.join("\n")
        );
        theme.set_large_text(false);
        hub.set_language(Lang::Zh);
        kiosk.set_page(KioskPage::Home);

        mark("t-current", false);
        hall.wait("the staff notice to go", || !kiosk.get_bookings_stale());
        headless::pump();
        assert!(
            !visible_texts(hall.kiosk())
                .iter()
                .any(|t| t == staff_sentence)
        );
    });
}

/// Books a passport (CRJ) slot today for the card of `who`.
fn book(hall: &Hall, id: &str, who: &str, start: &str, end: &str) {
    let booking = hallq::queue::Booking {
        id: id.into(),
        service: "CRJ".into(),
        day: chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
        start: start.into(),
        end: end.into(),
        // As the platform hashes it: with the hall's key, which only the hall node holds.
        id_hash: hall.hall_key().hash(&id_number_of(who)),
        masked_name: "李*华".into(),
        version: 1,
    };
    hall.command(&format!("t-book-{id}"), Command::Book { booking });
    // Bookings come down from the platform long before their citizens; wait until the screens know.
    hall.wait("the booking to reach the screens", || {
        hall.screens().hub().state().appointments.contains_key(id)
    });
}

/// Lays a given card on the kiosk's reader.
fn kiosk_tap_card(hall: &Hall, card: hallq::identity::CardRead) {
    hall.screens().hub().card_reader().card_tapped(card);
}

#[test]
fn the_kiosk_is_closed_outside_opening_hours() {
    on_ui_thread(|| {
        let setup = hallq::config::example();
        // Sunday: the example hall is closed all day.
        let sunday = at(&setup, 2026, 11, 29, 10, 0);
        let hall = Hall::with(HallOptions {
            setup,
            wall_ms: Some(sunday),
            ..HallOptions::default()
        });
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        assert_eq!(kiosk.get_page(), KioskPage::Closed);
        assert_eq!(kiosk.get_opens_at(), "2026-11-30 09:30");
    });
}

#[test]
fn the_kiosk_opens_by_itself_when_opening_time_comes() {
    on_ui_thread(|| {
        let setup = hallq::config::example();
        // Friday 09:00; the hall opens at 09:30.
        let early = at(&setup, 2026, 11, 27, 9, 0);
        let hall = Hall::with(HallOptions {
            setup,
            wall_ms: Some(early),
            ..HallOptions::default()
        });
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        assert_eq!(kiosk.get_page(), KioskPage::Closed);
        assert_eq!(kiosk.get_opens_at(), "09:30");
        hall.clock.advance(31 * 60_000);
        // No event marks the opening: the screens look at the clock every 30 seconds.
        headless::advance_time(Duration::from_secs(31));
        headless::pump();
        assert_eq!(kiosk.get_page(), KioskPage::Home);
    });
}

#[test]
fn a_service_at_its_daily_cap_says_so() {
    on_ui_thread(|| {
        let mut options = HallOptions::default();
        options.setup.config.services[0].daily_cap = Some(1);
        let hall = Hall::with(options);
        hall.issue("t-issue", "SB");
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        hall.wait("the tile to show the cap", || {
            kiosk
                .get_services()
                .iter()
                .any(|t| t.code == "SB" && t.full)
        });
        tap(hall.kiosk(), "社会保障");
        hall.wait("the notice", || kiosk.get_page() == KioskPage::Notice);
        assert_eq!(kiosk.get_notice(), KioskNotice::DailyCap);
        assert_eq!(kiosk.get_notice_arg1(), "社会保障");
    });
}

#[test]
fn the_language_switch_changes_every_string_at_once() {
    on_ui_thread(|| {
        let hall = Hall::open();
        let chinese = visible_texts(hall.kiosk());
        assert!(chinese.contains(&"请选择业务".to_string()), "{chinese:?}");
        tap(hall.kiosk(), "English");
        headless::pump();
        let english = visible_texts(hall.kiosk());
        assert!(
            english.contains(&"Choose a service".to_string()),
            "{english:?}"
        );
        // Every text with Chinese in it changed: fixed strings and the hall's own names alike.
        let has_han = |s: &String| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        let left: Vec<&String> = english
            .iter()
            .filter(|s| has_han(s) && s.as_str() != "中文")
            .collect();
        assert!(
            left.is_empty(),
            "Chinese left on the English screen: {left:?}"
        );
        tap(hall.kiosk(), "ئۇيغۇرچە");
        headless::pump();
        let uyghur = visible_texts(hall.kiosk());
        let latin_words: Vec<&String> = uyghur
            .iter()
            .filter(|s| {
                s.split_whitespace()
                    .any(|w| w.len() > 3 && w.chars().all(|c| c.is_ascii_alphabetic()))
            })
            .filter(|s| s.as_str() != "English")
            .collect();
        assert!(
            latin_words.is_empty(),
            "English left on the Uyghur screen: {latin_words:?}"
        );
        assert!(hall.kiosk().global::<hallq::ui::Locale>().get_rtl());
        // The other screens follow, since the language is the hall's.
        assert!(hall.wall().global::<hallq::ui::Locale>().get_rtl());
        assert!(
            visible_texts(hall.wall())
                .iter()
                .any(|t| t == "ھازىر چاقىرىلىۋاتىدۇ"),
            "{:?}",
            visible_texts(hall.wall())
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Window panel, rating screen and display wall

#[test]
fn a_call_at_the_window_panel_shows_on_the_display_wall() {
    on_ui_thread(|| {
        let hall = Hall::open();
        hall.issue("t-issue", "SB");
        hall.sign_in_window_1();
        tap(hall.panel(), "呼叫下一位");
        let wall = hall.wall().global::<WallAdapter>();
        hall.wait("the call on the wall", || {
            wall.get_has_call() && wall.get_latest().number == "A001"
        });
        assert_eq!(wall.get_latest().window, 1);
        assert_eq!(wall.get_call_serial(), 1, "the new call blinks");
        let panel = hall.panel().global::<PanelAdapter>();
        assert!(panel.get_has_current());
        assert_eq!(panel.get_current_number(), "A001");
        // A recall blinks again and keeps the number on top.
        tap(hall.panel(), "重呼");
        hall.wait("the recall to blink", || wall.get_call_serial() == 2);
        assert_eq!(wall.get_latest().number, "A001");
        assert_eq!(wall.get_recent().row_count(), 0, "one call, listed once");
    });
}

#[test]
fn the_latest_call_blinks_for_a_few_seconds_then_stays_lit() {
    on_ui_thread(|| {
        let hall = Hall::open();
        hall.issue("t-issue", "SB");
        hall.sign_in_window_1();
        tap(hall.panel(), "呼叫下一位");
        let wall = hall.wall().global::<WallAdapter>();
        hall.wait("the call", || wall.get_has_call());
        let adapter = headless::adapter_of(hall.wall().window()).unwrap();
        // The calls panel only: the notice below scrolls all the time.
        let frame = || headless::render(&adapter, 1920, 1080)[150 * 1920..800 * 1920].to_vec();
        let lit = frame();
        headless::advance_time(Duration::from_millis(500));
        let dim = frame();
        assert_ne!(lit, dim, "half a second later the number is dimmed");
        headless::advance_time(Duration::from_millis(500));
        assert_eq!(frame(), lit, "and lit again");
        // Five blinks (the example hall's call_blinks) and it stays lit.
        for _ in 0..12 {
            headless::advance_time(Duration::from_millis(500));
        }
        let settled = frame();
        headless::advance_time(Duration::from_millis(500));
        assert_eq!(frame(), settled, "no more blinking after the blinks");
    });
}

#[test]
fn call_next_while_a_citizen_is_at_the_window_is_refused_and_explained() {
    on_ui_thread(|| {
        let hall = Hall::open();
        for i in 0..2 {
            hall.issue(&format!("t-issue-{i}"), "SB");
        }
        hall.sign_in_window_1();
        let panel = hall.panel().global::<PanelAdapter>();
        tap(hall.panel(), "呼叫下一位");
        hall.wait("A001 at the window", || {
            panel.get_current_number() == "A001"
        });
        tap(hall.panel(), "呼叫下一位");
        hall.wait("the guard's notice", || {
            panel.get_notice() == PanelNotice::WindowBusy
        });
        assert_eq!(panel.get_notice_arg(), "A001");
        let state = hall.state();
        assert_eq!(
            state.ticket_by_number("A002").unwrap().state,
            TicketState::Waiting,
            "the next citizen was not called"
        );
    });
}

#[test]
fn staff_sign_in_with_the_keypad() {
    on_ui_thread(|| {
        let hall = Hall::open();
        for key in ["1", "0", "0", "7"] {
            tap(hall.panel(), key);
        }
        tap(hall.panel(), "登录");
        let panel = hall.panel().global::<PanelAdapter>();
        hall.wait("the signed-in panel", || panel.get_signed_in());
        assert_eq!(panel.get_staff(), "1007");
        assert_eq!(hall.state().windows[&1].staff.as_deref(), Some("1007"));
    });
}

#[test]
fn where_the_hall_asks_for_a_pin_staff_key_it_in_unseen_after_their_number() {
    on_ui_thread(|| {
        let mut setup = hallq::config::example();
        setup.config.staff.sign_in = hallq::config::SignInBy::Pin;
        let hall = Hall::with(HallOptions {
            setup,
            ..HallOptions::default()
        });
        hallq::store::Store::open(&hall._dir.path().join("hall.db"), "650102-ZWFW-01")
            .unwrap()
            .into_staff_book()
            .set_pin("1007", &hallq::identity::StaffPin::new("2468").unwrap(), 0)
            .unwrap();
        let panel = hall.panel().global::<PanelAdapter>();
        let key_in = |keys: &str| {
            for key in keys.chars() {
                tap(hall.panel(), &key.to_string());
            }
        };
        key_in("1007");
        tap(hall.panel(), "下一步");
        assert!(visible_texts(hall.panel()).contains(&"工号 1007 的密码".to_string()));
        key_in("1357");
        let shown = visible_texts(hall.panel());
        assert!(shown.contains(&"●●●●".to_string()), "{shown:?}");
        assert!(
            !shown.iter().any(|t| t.contains("1357")),
            "the PIN is on screen: {shown:?}"
        );
        tap(hall.panel(), "登录");
        hall.wait("the wrong-PIN notice", || {
            visible_texts(hall.panel()).contains(&"工号或密码错误。".to_string())
        });
        assert!(!panel.get_signed_in());
        key_in("1007");
        tap(hall.panel(), "下一步");
        key_in("2468");
        tap(hall.panel(), "登录");
        hall.wait("the signed-in panel", || panel.get_signed_in());
        assert_eq!(hall.state().windows[&1].staff.as_deref(), Some("1007"));
    });
}

fn serve_one(hall: &Hall) {
    hall.command(
        "t-issue",
        Command::IssueTicket {
            service: "SB".into(),
            citizen: Some(card("served")),
            by_staff: false,
        },
    );
    hall.sign_in_window_1();
    let panel = hall.panel().global::<PanelAdapter>();
    tap(hall.panel(), "呼叫下一位");
    hall.wait("the call", || panel.get_has_current());
    assert_eq!(
        panel.get_current_name(),
        "李*华",
        "the masked name is shown"
    );
    tap(hall.panel(), "开始办理");
    hall.wait("serving", || panel.get_serving());
    tap(hall.panel(), "办结");
}

#[test]
fn after_finish_the_citizen_rates_with_a_level_and_reasons() {
    on_ui_thread(|| {
        let hall = Hall::open();
        serve_one(&hall);
        let rating = hall.rating().global::<RatingAdapter>();
        hall.wait("the rating prompt", || rating.get_open());
        assert_eq!(rating.get_number(), "A001");
        tap(hall.rating(), "服务热情");
        tap(hall.rating(), "非常满意");
        hall.wait("the rating to be recorded", || {
            hall.state()
                .ticket_by_number("A001")
                .is_some_and(|t| t.rating.is_some())
        });
        match hall
            .state()
            .ticket_by_number("A001")
            .unwrap()
            .rating
            .clone()
        {
            Some(Rating::Rated { level, reasons, .. }) => {
                assert_eq!(level.score(), 5);
                assert_eq!(reasons, vec!["01".to_string()]);
            }
            other => panic!("unexpected rating {other:?}"),
        }
        assert!(!rating.get_open());
    });
}

#[test]
fn a_rating_the_business_system_asked_for_carries_its_case_number() {
    on_ui_thread(|| {
        let hall = Hall::open();
        serve_one(&hall);
        let rating = hall.rating().global::<RatingAdapter>();
        hall.wait("the rating prompt", || rating.get_open());
        tap(hall.rating(), "服务热情");
        // The window's business system finishes its case while the prompt is open.
        hall.command(
            "t-request",
            Command::RequestRating {
                window: 1,
                case_number: "650102-2026-000042".into(),
                ticket: None,
                kiosk: None,
            },
        );
        hall.wait("the request to reach the screen", || {
            hall.screens()
                .hub()
                .state()
                .ticket_by_number("A001")
                .is_some_and(|t| t.rating_request.is_some())
        });
        tap(hall.rating(), "满意");
        hall.wait("the rating to be recorded", || {
            hall.state()
                .ticket_by_number("A001")
                .is_some_and(|t| t.rating.is_some())
        });
        let store = hallq::store::Store::open_reader(&hall._dir.path().join("hall.db")).unwrap();
        let mut visit = None;
        store
            .for_each_event(|e| {
                if let Event::TicketRated { visit: v, .. } = &e.event {
                    visit = v.clone();
                }
            })
            .unwrap();
        let visit = visit.expect("the rating's visit");
        assert_eq!(
            visit.case_number.map(|c| c.as_str().to_string()),
            Some("650102-2026-000042".to_string())
        );
        match hall
            .state()
            .ticket_by_number("A001")
            .unwrap()
            .rating
            .clone()
        {
            Some(Rating::Rated { level, reasons, .. }) => {
                assert_eq!(level, SatisfactionLevel::Satisfied);
                assert_eq!(
                    reasons,
                    vec!["01".to_string()],
                    "the choice made before is kept"
                );
            }
            other => panic!("unexpected rating {other:?}"),
        }
    });
}

#[test]
fn an_unanswered_rating_prompt_records_unrated() {
    on_ui_thread(|| {
        let hall = Hall::open();
        serve_one(&hall);
        let rating = hall.rating().global::<RatingAdapter>();
        hall.wait("the rating prompt", || rating.get_open());
        headless::advance_time(Duration::from_secs(31));
        hall.wait("the unrated record", || {
            hall.state()
                .ticket_by_number("A001")
                .is_some_and(|t| t.rating.is_some())
        });
        assert_eq!(
            hall.state().ticket_by_number("A001").unwrap().rating,
            Some(Rating::Unrated {
                why: UnratedWhy::TimedOut
            })
        );
    });
}

#[test]
fn staff_confirm_the_date_and_time_on_the_panel_when_nothing_vouches_for_the_clock() {
    use chrono::Timelike;
    on_ui_thread(|| {
        let hall = Hall::open();
        // No time server: the board's clock stands alone.
        hall.clock.set_trusted(false);
        hall.sign_in_window_1();
        let panel = hall.panel().global::<PanelAdapter>();
        hall.wait("the panel to ask for the date and time", || {
            panel.get_clock_unconfirmed()
        });
        let setup = hall.screens().hub().setup().clone();
        let now = day::local_time(&setup, hall.clock.wall_ms());
        let expected = (now + chrono::Duration::minutes(24 * 60 + 60 - 5))
            .with_second(0)
            .unwrap()
            .with_nanosecond(0)
            .unwrap();
        // The board's clock is a day and 55 minutes behind: staff correct it, then confirm.
        tap(hall.panel(), "\u{200e}+");
        tap(hall.panel(), "\u{200e}+1:00");
        tap(hall.panel(), "\u{200e}−0:05");
        assert_eq!(
            panel.get_clock_shown().as_str(),
            expected.format("%Y-%m-%d %H:%M").to_string()
        );
        tap(hall.panel(), "确认日期和时间");
        hall.wait("the confirmation to vouch for the clock", || {
            !panel.get_clock_unconfirmed()
        });
        let reference = hall
            .state()
            .clock
            .and_then(|a| a.staff_reference)
            .expect("the confirmation is the hall's time reference");
        assert_eq!(reference.at_ms, day::instant_of(&setup, expected));
    });
}

#[test]
fn staff_may_put_off_confirming_the_clock_and_call_citizens_meanwhile() {
    on_ui_thread(|| {
        let hall = Hall::open();
        hall.issue("t-issue", "SB");
        hall.clock.set_trusted(false);
        hall.sign_in_window_1();
        let panel = hall.panel().global::<PanelAdapter>();
        hall.wait("the question", || panel.get_clock_unconfirmed());
        headless::pump();
        let call_next =
            || ElementHandle::find_by_accessible_label(hall.panel(), "呼叫下一位").count();
        assert_eq!(call_next(), 0, "the date and time come first");
        tap(hall.panel(), "稍后");
        headless::pump();
        assert!(call_next() > 0, "the desk is back after Later");
        tap(hall.panel(), "呼叫下一位");
        hall.wait("A001 called", || panel.get_has_current());
        assert!(panel.get_clock_unconfirmed(), "put off, not confirmed");
    });
}

#[test]
fn the_panel_asks_nothing_of_staff_while_the_clock_is_vouched_for() {
    on_ui_thread(|| {
        let hall = Hall::open();
        hall.sign_in_window_1();
        let panel = hall.panel().global::<PanelAdapter>();
        assert!(!panel.get_clock_unconfirmed());
        assert_eq!(panel.get_clock_gap().as_str(), "");
    });
}

#[test]
fn a_device_fault_alerts_the_window_panel() {
    on_ui_thread(|| {
        let hall = Hall::open();
        hall.sign_in_window_1();
        hall.command(
            "t-fault",
            Command::ReportDevice {
                device: hallq::ui::PRINTER_DEVICE.into(),
                fault: Some(DeviceFault {
                    code: "paper_out".into(),
                    message: "Kiosk printer: out of paper".into(),
                }),
            },
        );
        let panel = hall.panel().global::<PanelAdapter>();
        hall.wait("the fault alert", || panel.get_faults().row_count() == 1);
        assert_eq!(
            panel.get_faults().row_data(0).unwrap(),
            "ticket_printer: Kiosk printer: out of paper"
        );
    });
}

#[test]
fn the_panel_marks_the_platform_cut_off_after_the_limit_and_clears_on_the_next_acknowledgement() {
    on_ui_thread(|| {
        let hall = Hall::open();
        let sync = Arc::new(hallq::ports::PlatformSync::default());
        let hub = hall.screens().hub().clone();
        hub.watch_platform(sync.clone(), 10);
        let panel = hall.panel().global::<PanelAdapter>();
        let shown = || {
            hub.refresh_all();
            headless::pump();
            panel.get_platform_cut_off()
        };
        assert!(!shown(), "in touch");
        sync.mark_failing(hallq::clock::Clock::read(&*hall.clock).mono_ms);
        hall.clock.advance(9 * 60_000);
        assert!(
            !shown(),
            "nine minutes without an acknowledgement is within the limit"
        );
        hall.clock.advance(60_000);
        assert!(shown(), "ten minutes is the limit");
        sync.mark_in_touch();
        assert!(!shown(), "an acknowledgement clears the mark");
    });
}

#[test]
fn transfer_no_show_pause_and_resume_from_the_panel() {
    on_ui_thread(|| {
        let hall = Hall::open();
        hall.issue("t-issue", "SB");
        hall.sign_in_window_1();
        let panel = hall.panel().global::<PanelAdapter>();
        tap(hall.panel(), "呼叫下一位");
        hall.wait("the call", || panel.get_has_current());
        tap(hall.panel(), "转移");
        headless::pump();
        tap(hall.panel(), "医疗保障");
        hall.wait("the window to be free", || !panel.get_has_current());
        let ticket = hall.state().ticket_by_number("A001").cloned().unwrap();
        assert_eq!(
            (ticket.service.as_str(), ticket.state),
            ("YB", TicketState::Waiting)
        );
        // The transferred citizen is called again and does not come: 过号.
        tap(hall.panel(), "呼叫下一位");
        hall.wait("the second call", || panel.get_has_current());
        tap(hall.panel(), "过号");
        hall.wait("the window to be free again", || !panel.get_has_current());
        assert_eq!(
            hall.state().ticket_by_number("A001").unwrap().state,
            TicketState::NoShow
        );
        tap(hall.panel(), "暂停");
        hall.wait("the pause", || panel.get_paused());
        assert!(hall.state().windows[&1].paused);
        tap(hall.panel(), "恢复");
        hall.wait("the resume", || !panel.get_paused());
    });
}

#[test]
fn large_text_mode_scales_the_kiosk() {
    on_ui_thread(|| {
        let hall = Hall::open();
        let theme = hall.kiosk().global::<hallq::ui::Theme>();
        assert_eq!(theme.get_scale(), 1.0);
        tap(hall.kiosk(), "大字号");
        assert!(theme.get_large_text());
        assert!(theme.get_scale() > 1.2);
        // The same button turns it off again.
        tap(hall.kiosk(), "标准字号");
        assert_eq!(theme.get_scale(), 1.0);
    });
}

#[test]
fn big_halls_get_one_line_per_window_on_the_wall() {
    on_ui_thread(|| {
        let mut options = HallOptions::default();
        options.setup.config.screens.per_window_layout = true;
        let hall = Hall::with(options);
        hall.issue("t-issue", "SB");
        hall.sign_in_window_1();
        tap(hall.panel(), "呼叫下一位");
        let wall = hall.wall().global::<WallAdapter>();
        assert!(wall.get_per_window());
        hall.wait("window 1's line to show A001", || {
            wall.get_windows()
                .iter()
                .any(|w| w.window == 1 && w.number == "A001")
        });
        assert_eq!(
            wall.get_windows().row_count(),
            8,
            "every window has its line"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Golden screenshots: every screen in every language at its real resolution.

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// A pixel differs when a channel moves by more than this (anti-aliasing noise stays below it).
const CHANNEL_TOLERANCE: u8 = 40;
/// At most this many differing pixels per screenshot: well below one glyph of body text (a dropped
/// character at 28 px changes some hundreds of pixels).
const MAX_DIFFERING_PIXELS: usize = 60;

fn check_golden(name: &str, window: &slint::Window) {
    let adapter = headless::adapter_of(window).expect("a headless window");
    let size = window.size();
    let pixels = headless::render(&adapter, size.width, size.height);
    let rgb: Vec<u8> = pixels.iter().flat_map(|p| [p.r, p.g, p.b]).collect();
    let path = golden_dir().join(format!("{name}.png"));
    if std::env::var_os("HALLQ_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        write_png(&path, size.width, size.height, &rgb);
        return;
    }
    let (w, h, golden) = read_png(&path)
        .unwrap_or_else(|| panic!("missing {}: run with HALLQ_UPDATE_GOLDEN=1", path.display()));
    assert_eq!((w, h), (size.width, size.height), "{name}: size changed");
    let differing = rgb
        .chunks(3)
        .zip(golden.chunks(3))
        .filter(|(a, b)| {
            a.iter()
                .zip(b.iter())
                .any(|(x, y)| x.abs_diff(*y) > CHANNEL_TOLERANCE)
        })
        .count();
    if differing > MAX_DIFFERING_PIXELS {
        let actual = std::env::temp_dir().join(format!("hallq-{name}-actual.png"));
        write_png(&actual, size.width, size.height, &rgb);
        panic!(
            "{name}: {differing} pixels differ from {} (actual in {})",
            path.display(),
            actual.display()
        );
    }
}

fn write_png(path: &Path, width: u32, height: u32, rgb: &[u8]) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut encoder = png::Encoder::new(file, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    encoder
        .write_header()
        .unwrap()
        .write_image_data(rgb)
        .unwrap();
}

fn read_png(path: &Path) -> Option<(u32, u32, Vec<u8>)> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).ok()?));
    let mut reader = decoder.read_info().ok()?;
    let mut buffer = vec![0; reader.output_buffer_size()?];
    let info = reader.next_frame(&mut buffer).ok()?;
    buffer.truncate(info.buffer_size());
    Some((info.width, info.height, buffer))
}

/// Lets blinking end and brings the scrolling notice to the start of its cycle, so pictures repeat.
fn settle_animations() {
    for _ in 0..40 {
        headless::advance_time(Duration::from_millis(500));
    }
    let now = headless::now();
    let cycle = Duration::from_secs(20);
    let into = Duration::from_nanos((now.as_nanos() % cycle.as_nanos()) as u64);
    headless::advance_time(cycle - into + Duration::from_millis(2500));
    headless::pump();
}

#[test]
fn golden_screenshots_of_every_screen_in_every_language() {
    on_ui_thread(|| {
        let hall = Hall::open();
        // A hall in use: waiting citizens, a call at window 1 and a printer out of paper.
        for (i, service) in ["SB", "SB", "YB", "SCZT", "GJJ", "SB"].iter().enumerate() {
            hall.issue(&format!("g-issue-{i}"), service);
        }
        hall.command(
            "g-issue-card",
            Command::IssueTicket {
                service: "HJ".into(),
                citizen: Some(card("golden")),
                by_staff: false,
            },
        );
        hall.sign_in_window_1();
        tap(hall.panel(), "呼叫下一位");
        let wall = hall.wall().global::<WallAdapter>();
        hall.wait("the call", || wall.get_has_call());
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        let hub = hall.screens().hub().clone();
        for lang in Lang::ALL {
            hub.set_language(lang);
            let code = lang.code();
            kiosk.set_page(KioskPage::Home);
            settle_animations();
            // After the animations: the prompt's own timeout would otherwise close it.
            hallq::ui::prompt_rating(&hub, 1, "A001");
            headless::pump();
            check_golden(&format!("kiosk-home-{code}"), hall.kiosk().window());
            check_golden(&format!("window-panel-{code}"), hall.panel().window());
            check_golden(&format!("rating-{code}"), hall.rating().window());
            check_golden(&format!("display-wall-{code}"), hall.wall().window());
            // The printer-fault page: the number and its QR code on screen.
            kiosk.set_number("A007".into());
            kiosk.set_ticket_service_name(
                hall.kiosk()
                    .global::<KioskAdapter>()
                    .get_services()
                    .row_data(0)
                    .unwrap()
                    .name,
            );
            kiosk.set_windows("1, 2, 3".into());
            kiosk.set_people_ahead(3);
            kiosk.set_printed(false);
            kiosk.set_qr(slint::Image::from_rgb8(
                hallq::ui::qr_pixels(
                    "https://zwfw.example.gov.cn/q/650102-ZWFW-01/2026-11-27/A007",
                )
                .unwrap(),
            ));
            kiosk.set_page(KioskPage::Issued);
            headless::pump();
            check_golden(
                &format!("kiosk-printer-fault-{code}"),
                hall.kiosk().window(),
            );
        }
        // A landscape kiosk (`kiosk_orientation = "landscape"`), in a left-to-right and a
        // right-to-left language.
        kiosk.set_landscape(true);
        kiosk.set_page(KioskPage::Home);
        hall.kiosk()
            .window()
            .set_size(slint::PhysicalSize::new(1920, 1080));
        for lang in [Lang::Zh, Lang::Ug] {
            hub.set_language(lang);
            headless::pump();
            check_golden(
                &format!("kiosk-landscape-{}", lang.code()),
                hall.kiosk().window(),
            );
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Text that stays inside its box: every screen, every language, normal and large text.

/// Where an element sits: its type and its box in the window, in whole hundredths of a pixel.
type Placement = (String, [i64; 4]);

fn placement(e: &ElementHandle) -> Placement {
    let (p, s) = (e.absolute_position(), e.size());
    let px = |v: f32| (v * 100.0).round() as i64;
    (
        e.type_name().unwrap_or_default().to_string(),
        [px(p.x), px(p.y), px(s.width), px(s.height)],
    )
}

/// The text elements whose box leaves the box of the element they sit in.
fn texts_outside_their_parent(
    component: &impl i_slint_backend_testing::ElementRoot,
) -> Vec<String> {
    use i_slint_backend_testing::ElementQuery;
    use std::collections::HashMap;
    let elements = ElementQuery::from_root(component)
        .match_descendants()
        .find_all();
    let placements: Vec<Placement> = elements.iter().map(placement).collect();
    // An element's parent: among the elements whose descendants hold it, the one with the fewest
    // descendants. Elements merged into one item (a `Label` and the `Text` it inherits) share a box
    // and are not each other's parent.
    let known: HashMap<&Placement, usize> =
        placements.iter().enumerate().map(|(i, p)| (p, i)).collect();
    let mut parent: HashMap<usize, (usize, usize)> = HashMap::new();
    for (holder, e) in elements.iter().enumerate() {
        let inside: Vec<Placement> = e
            .query_descendants()
            .find_all()
            .iter()
            .map(placement)
            .collect();
        for child in &inside {
            let Some(&child) = known.get(child) else {
                continue;
            };
            if placements[child].1 == placements[holder].1 {
                continue;
            }
            let best = parent.entry(child).or_insert((holder, inside.len()));
            if inside.len() < best.1 {
                *best = (holder, inside.len());
            }
        }
    }
    let is_text = |e: &ElementHandle| {
        e.type_name().is_some_and(|t| t == "Text")
            || e.bases().is_some_and(|mut b| b.any(|t| t == "Text"))
    };
    // The wall's notice scrolls across its clipped band by design.
    let scrolls = |e: &ElementHandle| e.id().is_some_and(|id| id == "DisplayWall::notice");
    let mut found = Vec::new();
    for (i, text) in elements.iter().enumerate() {
        if !is_text(text) || scrolls(text) || text.computed_opacity() == 0.0 {
            continue;
        }
        let [tx, ty, tw, th] = placements[i].1;
        if tw <= 0 || th <= 0 {
            continue;
        }
        let Some(&(holder, _)) = parent.get(&known[&placements[i]]) else {
            continue;
        };
        let [px, py, pw, ph] = placements[holder].1;
        const SLACK: i64 = 50;
        let inside = tx >= px - SLACK
            && ty >= py - SLACK
            && tx + tw <= px + pw + SLACK
            && ty + th <= py + ph + SLACK;
        if !inside {
            let spill = format!(
                "{:?} ({:?} at {},{} {}×{}) leaves {:?} at {},{} {}×{}",
                text.accessible_label().unwrap_or_default(),
                text.id().unwrap_or_default(),
                tx / 100,
                ty / 100,
                tw / 100,
                th / 100,
                elements[holder]
                    .id()
                    .or(elements[holder].type_name())
                    .unwrap_or_default(),
                px / 100,
                py / 100,
                pw / 100,
                ph / 100
            );
            // A `Label` and the `Text` it inherits are one box: report it once.
            if !found.contains(&spill) {
                found.push(spill);
            }
        }
    }
    found
}

#[test]
fn no_text_leaves_its_box_on_any_screen_in_any_language_or_text_size() {
    on_ui_thread(|| {
        let hall = Hall::open();
        for (i, service) in ["SB", "YB", "CRJ", "BDC"].iter().enumerate() {
            hall.issue(&format!("s-issue-{i}"), service);
        }
        hall.sign_in_window_1();
        tap(hall.panel(), "呼叫下一位");
        let wall = hall.wall().global::<WallAdapter>();
        hall.wait("the call", || wall.get_has_call());
        let kiosk = hall.kiosk().global::<KioskAdapter>();
        let theme = hall.kiosk().global::<hallq::ui::Theme>();
        let hub = hall.screens().hub().clone();
        let mut spills = Vec::new();
        for large in [false, true] {
            theme.set_large_text(large);
            for lang in Lang::ALL {
                hub.set_language(lang);
                let mut look = |screen: &str, found: Vec<String>| {
                    for spill in found {
                        spills.push(format!("{} {screen} large={large}: {spill}", lang.code()));
                    }
                };
                for (page, name) in [
                    (KioskPage::Home, "kiosk home"),
                    (KioskPage::Card, "kiosk card"),
                    (KioskPage::Issued, "kiosk issued"),
                    (KioskPage::Notice, "kiosk notice"),
                    (KioskPage::Closed, "kiosk closed"),
                ] {
                    kiosk.set_page(page);
                    headless::pump();
                    look(name, texts_outside_their_parent(hall.kiosk()));
                }
                kiosk.set_page(KioskPage::Home);
                hallq::ui::prompt_rating(&hub, 1, "A001");
                headless::pump();
                look("window panel", texts_outside_their_parent(hall.panel()));
                look("rating", texts_outside_their_parent(hall.rating()));
                look("display wall", texts_outside_their_parent(hall.wall()));
            }
        }
        // No time server: the panel asks staff to confirm the date and time.
        hall.clock.set_trusted(false);
        hall.issue("s-issue-untrusted", "SB");
        let panel = hall.panel().global::<PanelAdapter>();
        hall.wait("the date and time question", || {
            panel.get_clock_unconfirmed()
        });
        for large in [false, true] {
            theme.set_large_text(large);
            for lang in Lang::ALL {
                hub.set_language(lang);
                headless::pump();
                for spill in texts_outside_their_parent(hall.panel()) {
                    spills.push(format!("{} clock page large={large}: {spill}", lang.code()));
                }
            }
        }
        assert!(
            spills.is_empty(),
            "text outside its box:\n{}",
            spills.join("\n")
        );
    });
}
