//! Terminal boards' screens: a kiosk, a window panel and a display wall, each on "another board" with
//! its own paired token, talking to a real hall node over loopback. They fill in when the hall node
//! answers, say so on screen when it is gone, and a command retried across the outage acts once.

use hallq::lan::Role;
use hallq::lan::terminal::LanHall;
use hallq::ports::Hall;

use super::lan_support::{TestHall, issue_tickets};
use super::*;

const LINK_LOST: &str = "与大厅服务器的连接已中断，正在重试…";

struct Terminals {
    kiosk: Screens,
    counter: Screens,
    display: Screens,
    hall: TestHall,
    runtime: tokio::runtime::Runtime,
}

impl Terminals {
    /// The three terminals, giving a command up after `patience` without the hall node.
    fn start(patience: Duration) -> Terminals {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let hall = runtime.block_on(TestHall::start());
        let open = |role: Role, kind: ScreenKind, size: (u32, u32)| {
            let client = runtime.block_on(hall.pair(role));
            // Each board reads its own copy of the hall's config.
            let setup = Arc::new(hallq::config::example());
            let screens = Screens::open(
                Arc::new(LanHall::new(client, setup, Some(patience))) as Hall,
                hall.clock.clone(),
                runtime.handle(),
                &ScreenOptions {
                    kinds: vec![kind],
                    printer: Arc::new(SimulatedPrinter),
                    on_kiosk: None,
                },
            )
            .unwrap();
            screens.show().unwrap();
            let windows: Vec<&slint::Window> = match kind {
                ScreenKind::Kiosk => vec![screens.kiosk.as_ref().unwrap().window()],
                ScreenKind::Window(_) => {
                    vec![screens.panels[0].1.window(), screens.panels[0].2.window()]
                }
                ScreenKind::Display => vec![screens.wall.as_ref().unwrap().window()],
            };
            for window in windows {
                window.set_size(slint::PhysicalSize::new(size.0, size.1));
            }
            screens
        };
        let terminals = Terminals {
            kiosk: open(Role::Kiosk, ScreenKind::Kiosk, (1080, 1920)),
            counter: open(
                Role::Counter { window: 1 },
                ScreenKind::Window(1),
                (1280, 800),
            ),
            display: open(Role::Display, ScreenKind::Display, (1920, 1080)),
            hall,
            runtime,
        };
        wait("every terminal to reach the hall node", || {
            terminals.unreachable() == [false; 3]
        });
        terminals
    }

    fn kiosk(&self) -> &hallq::ui::Kiosk {
        self.kiosk.kiosk.as_ref().unwrap()
    }

    fn panel(&self) -> &hallq::ui::WindowPanel {
        &self.counter.panels[0].1
    }

    fn wall(&self) -> &hallq::ui::DisplayWall {
        self.display.wall.as_ref().unwrap()
    }

    /// What each screen's adapter says of the link: kiosk, panel, wall.
    fn unreachable(&self) -> [bool; 3] {
        [
            self.kiosk().global::<KioskAdapter>().get_hall_unreachable(),
            self.panel().global::<PanelAdapter>().get_hall_unreachable(),
            self.wall().global::<WallAdapter>().get_hall_unreachable(),
        ]
    }

    fn banners_shown(&self) -> [bool; 3] {
        let shows = |texts: Vec<String>| texts.iter().any(|t| t == LINK_LOST);
        [
            shows(visible_texts(self.kiosk())),
            shows(visible_texts(self.panel())),
            shows(visible_texts(self.wall())),
        ]
    }

    fn hall_state(&self) -> hallq::queue::HallState {
        self.runtime.block_on(self.hall.engine.state()).unwrap()
    }

    fn sign_in_at_the_panel(&self) {
        for key in ["1", "0", "0", "7"] {
            tap(self.panel(), key);
        }
        tap(self.panel(), "登录");
        let panel = self.panel().global::<PanelAdapter>();
        wait("the signed-in panel", || panel.get_signed_in());
    }
}

fn wait(what: &str, done: impl FnMut() -> bool) {
    assert!(
        headless::pump_until(Duration::from_secs(15), done),
        "timed out waiting for: {what}"
    );
}

#[test]
fn terminal_screens_fill_in_from_the_hall_node_and_follow_its_calls() {
    on_ui_thread(|| {
        let terminals = Terminals::start(Duration::from_secs(10));
        assert_eq!(terminals.banners_shown(), [false; 3]);
        let kiosk = terminals.kiosk().global::<KioskAdapter>();
        tap(terminals.kiosk(), "社会保障");
        wait("the issued page", || kiosk.get_page() == KioskPage::Issued);
        assert_eq!(kiosk.get_number(), "A001");

        terminals.sign_in_at_the_panel();
        assert_eq!(
            terminals.hall_state().windows[&1].staff.as_deref(),
            Some("1007"),
            "the sign-in reached the hall node"
        );
        let panel = terminals.panel().global::<PanelAdapter>();
        tap(terminals.panel(), "呼叫下一位");
        let wall = terminals.wall().global::<WallAdapter>();
        wait("the call on the wall of another board", || {
            wall.get_has_call() && wall.get_latest().number == "A001"
        });
        assert_eq!(wall.get_latest().window, 1);
        assert_eq!(panel.get_current_number(), "A001");
        // The terminals' copies of the state are the hall node's, event for event.
        let hall_seq = terminals.hall_state().last_seq;
        for screens in [&terminals.kiosk, &terminals.counter, &terminals.display] {
            wait("the terminal to catch up", || {
                screens.hub().state().last_seq == hall_seq
            });
            assert_eq!(*screens.hub().state(), terminals.hall_state());
        }
    });
}

#[test]
fn a_terminal_that_loses_the_hall_node_says_so_and_acts_once_when_it_returns() {
    on_ui_thread(|| {
        let mut terminals = Terminals::start(Duration::from_secs(3));
        let runtime_kiosk = terminals.runtime.block_on(terminals.hall.pair(Role::Kiosk));
        terminals
            .runtime
            .block_on(issue_tickets(&runtime_kiosk, "SB", 2));
        terminals.sign_in_at_the_panel();
        // Strong handles of their own, so the hall can be unplugged while the adapters are held.
        let (kiosk_ui, panel_ui, wall_ui) = (
            terminals.kiosk().clone_strong(),
            terminals.panel().clone_strong(),
            terminals.wall().clone_strong(),
        );
        let panel = panel_ui.global::<PanelAdapter>();
        wait("the two waiting tickets on the panel", || {
            terminals.counter.hub().state().tickets.len() == 2
        });

        let addr = terminals.runtime.block_on(terminals.hall.unplug());
        wait("every screen to say the hall node is gone", || {
            terminals.unreachable() == [true; 3]
        });
        assert_eq!(terminals.banners_shown(), [true; 3]);

        // The kiosk tells the citizen at once and sends nothing that could issue a ticket later.
        let kiosk = kiosk_ui.global::<KioskAdapter>();
        tap(&kiosk_ui, "社会保障");
        wait("the out-of-order notice", || {
            kiosk.get_page() == KioskPage::Notice
        });
        assert_eq!(kiosk.get_notice(), KioskNotice::OutOfOrder);

        // Staff press "call next" while the hall node is away; the terminal keeps retrying it.
        tap(&panel_ui, "呼叫下一位");
        headless::pump_until(Duration::from_millis(600), || false);
        assert!(!panel.get_has_current());

        terminals.runtime.block_on(terminals.hall.plug_in(addr));
        wait("the call to go through once the hall node is back", || {
            panel.get_has_current()
        });
        assert_eq!(panel.get_current_number(), "A001");
        let wall = wall_ui.global::<WallAdapter>();
        wait("the wall to resume and show the call", || {
            wall.get_has_call() && wall.get_latest().number == "A001"
        });
        wait("every banner to go", || {
            terminals.unreachable() == [false; 3]
        });
        assert_eq!(terminals.banners_shown(), [false; 3]);

        let state = terminals.hall_state();
        assert_eq!(state.tickets.len(), 2, "the kiosk's tap issued nothing");
        let called: Vec<&str> = state
            .tickets
            .values()
            .filter(|t| t.state == TicketState::Called)
            .map(|t| t.number.as_str())
            .collect();
        assert_eq!(called, ["A001"], "the retried call acted once");
        assert_eq!(wall.get_call_serial(), 1, "one call reached the wall");

        // A press the hall node never hears of is given up after the patience, and the panel says so.
        let addr = terminals.runtime.block_on(terminals.hall.unplug());
        tap(&panel_ui, "重呼");
        wait("the panel to say the press was not sent", || {
            panel.get_notice() == PanelNotice::NotSent
        });
        assert!(
            visible_texts(&panel_ui)
                .iter()
                .any(|t| t == "大厅服务器未应答，请再按一次。")
        );
        terminals.runtime.block_on(terminals.hall.plug_in(addr));
        wait("the link to return", || {
            terminals.unreachable() == [false; 3]
        });
        let calls = terminals
            .hall_state()
            .ticket_by_number("A001")
            .unwrap()
            .calls;
        assert_eq!(calls, 1, "the given-up recall never acted");
    });
}

#[test]
fn a_revoked_terminal_asks_for_pairing_again_on_its_screen() {
    on_ui_thread(|| {
        let terminals = Terminals::start(Duration::from_secs(3));
        let registry =
            hallq::lan::auth::Registry::open(&terminals.hall.dir.path().join("hall.db")).unwrap();
        let revoked = registry.revoke("Counter { window: 1 }").unwrap();
        assert_eq!(revoked.role, Role::Counter { window: 1 });

        let panel = terminals.panel().global::<PanelAdapter>();
        wait("the panel to ask for pairing again", || {
            panel.get_terminal_unpaired()
        });
        assert!(panel.get_hall_unreachable());
        assert!(
            visible_texts(terminals.panel())
                .iter()
                .any(|t| t == "本终端已不再与大厅服务器配对，请联系信息技术人员重新配对。")
        );
        // The other terminals are still paired and connected.
        headless::pump_until(Duration::from_millis(300), || false);
        assert_eq!(terminals.unreachable(), [false, true, false]);
        assert!(
            !terminals
                .wall()
                .global::<WallAdapter>()
                .get_terminal_unpaired()
        );
    });
}

#[test]
fn a_window_panel_on_another_board_marks_the_hall_node_cut_off_from_the_platform() {
    on_ui_thread(|| {
        let terminals = Terminals::start(Duration::from_secs(10));
        let sync = Arc::new(hallq::ports::PlatformSync::default());
        terminals.hall.server().watch_platform(sync.clone(), 10);
        let panel = terminals.panel().global::<PanelAdapter>();
        let mark_shown = || {
            visible_texts(terminals.panel())
                .iter()
                .any(|t| t == "平台连接中断")
        };
        assert!(!panel.get_platform_cut_off());

        sync.mark_failing(hallq::clock::Clock::read(&*terminals.hall.clock).mono_ms);
        terminals.hall.clock.advance(10 * 60_000);
        wait("the panel's platform mark", || {
            panel.get_platform_cut_off() && mark_shown()
        });

        sync.mark_in_touch();
        wait("the mark to clear", || !panel.get_platform_cut_off());
        assert!(!mark_shown());
    });
}
