//! What `hallq run --role …` starts for the LAN, buttons and voice. `node/run.rs` calls in here with a
//! few lines; `hallq pair` and `hallq voice` live in `cli/`.
//!
//! With the `hall` role (or no role: the demo, every role in one process) the board owns the engine,
//! serves the LAN API and prints a pairing code; its own counter buttons and voice talk to the engine
//! directly. Without it, the board is a terminal: it reads its device token and talks to the hall
//! node at `[lan] hall_url`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;

use crate::buttons;
use crate::clock::SystemClock;
use crate::config::HallSetup;
use crate::devices::UnconnectedPrinter;
use crate::devices::kiosk::KioskDevices;
use crate::devices::link::KioskLink;
use crate::engine::EngineHandle;
use crate::lan::HallServer;
use crate::lan::client::{HallClient, LinkState};
use crate::lan::terminal::{LanHall, SCREEN_PATIENCE};
use crate::ports::Hall;
use crate::ui::{self, ScreenKind};
use crate::voice;

use crate::config::has_role as has;
pub use crate::config::{NodeRole, is_hall_node};

/// Why a configured board with the kiosk role may not start: a kiosk is its screen. Without it
/// citizens could not choose a service and the kiosk's ticket printer and ID-card reader would stay
/// closed, so the board refuses to start rather than run as a kiosk that does nothing. The demo hall
/// is exempt: its simulated devices stand in for the kiosk.
pub fn kiosk_without_its_screen(
    roles: &[NodeRole],
    screens: &[ScreenKind],
    display_available: bool,
) -> Option<String> {
    if !has(roles, NodeRole::Kiosk) {
        return None;
    }
    let missing = if !screens.contains(&ScreenKind::Kiosk) {
        "it opens no kiosk screen (--headless, or --screens without kiosk)"
    } else if !display_available {
        "there is no display to show the kiosk screen on (no DISPLAY or WAYLAND_DISPLAY, and not \
         built with --features board for linuxkms)"
    } else {
        return None;
    };
    Some(format!(
        "this board has the kiosk role, but {missing}: citizens could not take tickets, and the \
         ticket printer and ID-card reader ([printer], [idcard]) would stay closed. Give the board \
         its screen, or name the roles it has without the kiosk, e.g. --role hall,counter,display"
    ))
}

/// The LAN side of a running hall node; dropping it leaves the server to end with the runtime.
pub struct HallNode {
    pub server: HallServer,
}

/// Starts the LAN server, prints a pairing code, and attaches this board's own buttons and voice to
/// the engine. `demo` binds to loopback only: the demo is not meant to be reachable from the LAN.
pub async fn start_hall_node(
    engine: &EngineHandle,
    roles: &[NodeRole],
    demo: bool,
) -> anyhow::Result<HallNode> {
    let setup = engine.setup().clone();
    let lan = &setup.config.lan;
    let mut listen: SocketAddr = lan.listen.parse().context("[lan] listen")?;
    if demo {
        listen.set_ip([127, 0, 0, 1].into());
    }
    let server = match HallServer::start(engine.clone(), listen, lan).await {
        // Two demos on one machine (or a demo beside a test run) must not fail over a port.
        Err(e) if demo => {
            tracing::warn!("{listen} is taken ({e}); the demo listens on a free port instead");
            listen.set_port(0);
            HallServer::start(engine.clone(), listen, lan).await?
        }
        started => started?,
    };
    let code = server.mint_startup_code(lan.pairing_code_minutes)?;
    // A code is a key to the hall: shown to the person at the console, never written to the journal
    // that collects a service's output.
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        println!(
            "hallq: pair terminals with code {code} (valid {} minutes); display page: http://{}/display#code={code}",
            lan.pairing_code_minutes, server.addr
        );
    } else {
        println!(
            "hallq: a start-up pairing code was made (valid {} minutes) but is not shown here, as \
             this output is not a console; mint one on the hall node with `hallq pair code`",
            lan.pairing_code_minutes
        );
    }
    let buttons_window = setup.config.buttons.window;
    if has(roles, NodeRole::Counter)
        && let Some(window) = buttons_window
    {
        start_buttons(&setup, window, engine.clone().into());
    }
    if has(roles, NodeRole::Display)
        && let Some(announcer) = voice::start(&setup.config.voice, &setup.config.hall.languages)
    {
        tokio::spawn(voice::follow_hall(engine.clone().into(), announcer));
    }
    Ok(HallNode { server })
}

/// Presses from GPIO when built with `gpio` and pins are set, else from standard input.
fn start_buttons(setup: &HallSetup, window: u16, hall: Hall) {
    let config = &setup.config.buttons;
    let (presses, received) = mpsc::channel(16);
    #[cfg(feature = "gpio")]
    let from_gpio = watch_gpio(config, &presses);
    #[cfg(not(feature = "gpio"))]
    let from_gpio = false;
    if !from_gpio {
        println!("window {window} {}", buttons::stdin::HELP);
        buttons::stdin::spawn(presses);
    }
    let debounce = Duration::from_millis(u64::from(config.debounce_ms));
    tokio::spawn(buttons::run(received, window, debounce, hall));
}

/// Watches the configured pins; false when none are set or the board has no GPIO.
#[cfg(feature = "gpio")]
fn watch_gpio(
    config: &crate::config::ButtonsConfig,
    presses: &mpsc::Sender<buttons::Press>,
) -> bool {
    let pins = [
        config.call_next,
        config.recall,
        config.finish,
        config.no_show,
    ];
    if pins.iter().all(Option::is_none) {
        return false;
    }
    match buttons::gpio::watch(config, presses.clone()) {
        Ok(pins) => {
            // The pins stay watched for the life of the process.
            std::mem::forget(pins);
            true
        }
        Err(e) => {
            tracing::warn!("call buttons on GPIO unavailable: {e}; using standard input");
            false
        }
    }
}

/// A terminal board: talks to the hall node over the LAN and shows `screens` until Ctrl-C or
/// `seconds` have passed. Without a display it keeps its buttons and voice and prints each call.
pub fn run_terminal(
    setup: HallSetup,
    roles: &[NodeRole],
    screens: Vec<ScreenKind>,
    seconds: Option<u64>,
) -> anyhow::Result<std::process::ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    let setup = Arc::new(setup);
    let client = terminal_client(&setup)?;
    if let Some(why) = kiosk_without_its_screen(roles, &screens, ui::display_available()) {
        anyhow::bail!(why);
    }
    let show_screens = !screens.is_empty() && ui::display_available();
    if !screens.is_empty() && !show_screens {
        eprintln!(
            "hallq: {}; this terminal keeps running without screens",
            ui::ScreensError::NoDisplay
        );
    }
    let kiosk = KioskLink::default();
    {
        let _entered = runtime.enter();
        let shows_wall = show_screens && screens.contains(&ScreenKind::Display);
        start_terminal(&setup, roles, &client, !shows_wall, !show_screens);
    }
    let stop = async move {
        let timer = async {
            match seconds {
                Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = timer => {}
        }
    };
    if !show_screens {
        runtime.block_on(stop);
        return Ok(std::process::ExitCode::SUCCESS);
    }
    // The screens own this (main) thread; Ctrl-C or --seconds ends their event loop.
    let quit = runtime.spawn(async move {
        stop.await;
        let _ = slint::quit_event_loop();
    });
    // A kiosk board's own printer and card reader; a failure to open them leaves the kiosk showing
    // numbers on screen.
    let mut kiosk_devices = None;
    if screens.contains(&ScreenKind::Kiosk) {
        let _entered = runtime.enter();
        // Device reports wait for the hall node as long as it takes: a fault must reach staff. The
        // reader's cards go to the hall node, which hashes them: this board holds no hall key.
        let hall: Hall = Arc::new(LanHall::new(client.clone(), setup.clone(), None));
        match KioskDevices::start(hall, kiosk.clone()) {
            Ok(running) => kiosk_devices = Some(running),
            Err(e) => tracing::error!("kiosk printer and card reader not started: {e:#}"),
        }
    }
    let options = ui::ScreenOptions {
        kinds: screens,
        printer: match &kiosk_devices {
            Some(devices) => devices.kiosk_printer(),
            None => Arc::new(UnconnectedPrinter),
        },
        on_kiosk: Some(kiosk.on_kiosk()),
    };
    let clock = Arc::new(SystemClock::new(setup.config.clock.assume_trusted));
    let hall: Hall = Arc::new(LanHall::new(client, setup, Some(SCREEN_PATIENCE)));
    if let Err(e) = ui::run_screens(hall, clock, runtime.handle(), &options) {
        eprintln!("hallq: {e}; this terminal keeps running without screens");
        runtime.block_on(quit).ok();
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// The client of a paired terminal, holding the device token `hallq pair join` stored.
fn terminal_client(setup: &HallSetup) -> anyhow::Result<HallClient> {
    let lan = &setup.config.lan;
    let token = std::fs::read_to_string(&lan.token_file)
        .with_context(|| {
            format!(
                "no device token at {}: pair this board first with `hallq pair join`",
                lan.token_file
            )
        })?
        .trim()
        .to_string();
    if !lan.hall_url.starts_with("https://") {
        return Ok(HallClient::new(&lan.hall_url, token));
    }
    let pin_path = crate::lan::tls::pin_path_beside(std::path::Path::new(&lan.token_file));
    let fingerprint = crate::lan::tls::load_pin(&pin_path).with_context(|| {
        format!(
            "the hall LAN runs TLS but this board has not pinned the hall node's certificate \
             ({}): pair it again with `hallq pair join`",
            pin_path.display()
        )
    })?;
    Ok(HallClient::pinned(&lan.hall_url, token, fingerprint))
}

/// Starts a terminal's buttons, voice and link log. A display board without its wall on screen prints
/// each call; `keep_link` follows the push stream even with nothing to print or announce, so the link
/// state stays current where no screen follows it. Call inside the tokio runtime.
fn start_terminal(
    setup: &Arc<HallSetup>,
    roles: &[NodeRole],
    client: &HallClient,
    no_wall_shown: bool,
    keep_link: bool,
) {
    let mut link = client.link();
    tokio::spawn(async move {
        while link.changed().await.is_ok() {
            let state = link.borrow_and_update().clone();
            match state {
                LinkState::Lost { reason } => {
                    eprintln!("hallq: hall node unreachable ({reason}); retrying")
                }
                LinkState::Unpaired { reason } => eprintln!(
                    "hallq: the hall node no longer accepts this terminal ({reason}); pair it again with `hallq pair join`"
                ),
                LinkState::Connected => eprintln!("hallq: connected to the hall node"),
                LinkState::Unknown => {}
            }
        }
    });
    if has(roles, NodeRole::Counter)
        && let Some(window) = setup.config.buttons.window
    {
        let hall: Hall = Arc::new(LanHall::new(client.clone(), setup.clone(), None));
        start_buttons(setup, window, hall);
    }
    let display = has(roles, NodeRole::Display);
    let print_calls = display && no_wall_shown;
    let announcer = display
        .then(|| voice::start(&setup.config.voice, &setup.config.hall.languages))
        .flatten();
    if !(print_calls || announcer.is_some() || keep_link) {
        // The screens follow the push stream themselves.
        return;
    }
    // One push stream serves the printed calls, the voice and the link state.
    let client = client.clone();
    tokio::spawn(async move {
        let after = current_seq(&client).await;
        client
            .follow_calls(after, |number, window| {
                if print_calls {
                    println!("call {number} -> window {window}");
                }
                if let Some(announcer) = &announcer {
                    announcer.announce(number, window);
                }
            })
            .await
    });
}

/// Where the hall's log stands, asked until the hall node answers: a terminal that starts while the
/// hall node is away must not replay the whole log once it is back.
async fn current_seq(client: &HallClient) -> u64 {
    let mut delays = crate::retry::Backoff::RECONNECT.delays();
    loop {
        match client.display_view().await {
            Ok(view) => return view.seq,
            Err(crate::lan::client::ClientError::Rejected(e)) => {
                eprintln!("hallq: the hall node refuses this terminal: {}", e.message);
            }
            Err(_) => {}
        }
        tokio::time::sleep(delays.next_delay()).await;
    }
}
