//! `hallq run`: the hall node. Without a config file it runs the demo hall: the example hall, open
//! around the clock, with simulated citizens taking tickets and simulated staff serving them, and a
//! simulated printer and ID-card reader behind the real serial drivers.

#[cfg(feature = "sim")]
use std::path::Path;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::SystemClock;
use crate::config::{HallSetup, NodeRole};
#[cfg(feature = "sim")]
use crate::devices::demo::DemoDevices;
use crate::devices::link::{KioskLink, KioskPresence};
use crate::engine;
use crate::node::demo;
use crate::ui;

/// What `hallq run` was asked for, as plain settings: the command line parses them, the node acts on
/// them.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub setup: HallSetup,
    pub db_path: PathBuf,
    /// The demo hall (no config file): open around the clock, simulated devices, and, when
    /// `simulate_people`, simulated citizens and staff.
    pub demo_hall: bool,
    pub simulate_people: bool,
    /// Open no screen.
    pub headless: bool,
    /// Stop after this many seconds (for scripted runs).
    pub seconds: Option<u64>,
    /// This board's roles; none means all (the demo).
    pub roles: Vec<NodeRole>,
    /// Screens to open; by default the screens of this board's roles.
    pub screens: Option<Vec<ui::ScreenKind>>,
}

/// Assembles the board `settings` describe and runs it until SIGTERM, Ctrl-C or `seconds`.
pub fn run(settings: RunSettings) -> anyhow::Result<ExitCode> {
    let RunSettings {
        mut setup,
        db_path,
        demo_hall,
        simulate_people,
        headless,
        seconds,
        roles,
        screens,
    } = settings;
    // Without the simulators there is no one to simulate.
    #[cfg(not(feature = "sim"))]
    let _ = simulate_people;
    #[cfg(not(feature = "sim"))]
    if demo_hall {
        anyhow::bail!(
            "this build of hallq has no demo hall (it was built without the `sim` feature); \
             give the hall's configuration: hallq run --config /etc/hallq/hall.toml"
        );
    }
    if demo_hall {
        demo::prepare(&mut setup);
    }
    let screens = match (screens, headless) {
        (_, true) => Vec::new(),
        (Some(kinds), false) => kinds,
        (None, false) => ui::screens_for_roles(&setup, &roles),
    };
    if !demo_hall
        && crate::node::hall::is_hall_node(&roles)
        && let Some(why) =
            crate::node::hall::kiosk_without_its_screen(&roles, &screens, ui::display_available())
    {
        anyhow::bail!(why);
    }
    if !crate::node::hall::is_hall_node(&roles) {
        return crate::node::hall::run_terminal(setup, &roles, screens, seconds);
    }
    let setup: Arc<HallSetup> = Arc::new(setup);
    let runtime = tokio::runtime::Runtime::new()?;
    // Before anything is opened: a stop from then on is a clean one.
    let stop_signal = stop_requested(&runtime)?;
    let clock = Arc::new(SystemClock::new(setup.config.clock.assume_trusted));
    let (engine, writer) = engine::start(setup.clone(), &db_path, clock.clone())?;
    tracing::info!(db = %db_path.display(), hall = %setup.config.hall.id, "hall node running");

    let lan = runtime.block_on(crate::node::hall::start_hall_node(
        &engine, &roles, demo_hall,
    ))?;
    // The events go up from the log; a link that does not start costs the platform its feed for now,
    // never the hall.
    let platform_link = {
        let _entered = runtime.enter();
        match crate::node::platform::start(&engine) {
            Some(link) => Some(link),
            None if demo_hall && setup.config.platform.is_none() => {
                let beside = db_path
                    .parent()
                    .unwrap_or(std::path::Path::new("."))
                    .to_path_buf();
                runtime
                    .block_on(crate::node::platform::start_demo(&engine, &beside))
                    .inspect_err(|e| tracing::warn!("demo platform receiver not started: {e:#}"))
                    .ok()
            }
            None => None,
        }
    };
    // Retention at start and then once a day: only what the platform acknowledged long ago leaves.
    let retention = runtime.spawn(engine::keep_pruned(engine.clone()));
    // The demo's simulated printer and ID-card reader run until the node stops.
    #[cfg(feature = "sim")]
    let mut devices = None;
    // Without the simulators there are no demo devices: the demo hall stopped above.
    #[cfg(not(feature = "sim"))]
    enum NoDemoDevices {}
    #[cfg(not(feature = "sim"))]
    let devices: Option<NoDemoDevices> = None;
    let kiosk = KioskLink::default();
    // Without a display the screens will not open: the devices then stand in for the kiosk.
    let presence = if screens.contains(&ui::ScreenKind::Kiosk) && ui::display_available() {
        KioskPresence::Screen(kiosk.clone())
    } else {
        KioskPresence::Headless
    };
    {
        let _entered = runtime.enter();
        let mut events = engine.subscribe();
        tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                println!("{}", event_log_line(&event));
            }
        });
        crate::node::watchdog::notify_ready();
        tokio::spawn(crate::node::watchdog::keep_alive(
            engine.clone(),
            Some(lan.server.api_address()),
        ));
        #[cfg(feature = "sim")]
        if demo_hall && simulate_people {
            tokio::spawn(demo::simulate(engine.clone()));
            // Ticket images go beside the database. A missing font or pty costs the demo its
            // devices, not the hall.
            let tickets = db_path
                .parent()
                .unwrap_or(Path::new("."))
                .join("sim-tickets");
            match DemoDevices::start(engine.clone().into(), &tickets, presence.clone()) {
                Ok(running) => {
                    tracing::info!(tickets = %running.tickets_dir.display(), "simulated printer and ID-card reader running");
                    devices = Some(Arc::new(running));
                }
                Err(e) => tracing::warn!("demo devices not started: {e:#}"),
            }
        }
    }
    // A configured hall's kiosk opens its real printer and card reader; a failure to start them leaves
    // the kiosk showing numbers on screen.
    let mut kiosk_devices = None;
    if !demo_hall && matches!(presence, KioskPresence::Screen(_)) {
        let _entered = runtime.enter();
        // The kiosk on the hall node's own board: cards are hashed here, by the engine.
        match crate::devices::kiosk::KioskDevices::start(engine.clone().into(), kiosk.clone()) {
            Ok(running) => kiosk_devices = Some(running),
            Err(e) => tracing::error!("kiosk printer and card reader not started: {e:#}"),
        }
    }
    let stop = async move {
        match seconds {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    let stop = async move {
        tokio::select! {
            _ = stop_signal => {}
            _ = stop => {}
        }
    };
    if screens.is_empty() {
        runtime.block_on(stop);
    } else {
        #[cfg(feature = "sim")]
        if demo_hall {
            runtime.block_on(demo::book_demo_appointment(&engine, clock.as_ref()));
        }
        // The screens own this (main) thread; Ctrl-C or --seconds ends their event loop.
        let quit = runtime.spawn(async move {
            stop.await;
            let _ = slint::quit_event_loop();
        });
        let options = ui::ScreenOptions {
            kinds: screens,
            printer: match (&devices, &kiosk_devices, demo_hall) {
                #[cfg(feature = "sim")]
                (Some(running), _, _) => running.kiosk_printer(),
                #[cfg(not(feature = "sim"))]
                (Some(never), _, _) => match *never {},
                (None, Some(configured), _) => configured.kiosk_printer(),
                (None, None, true) => Arc::new(crate::devices::SimulatedPrinter),
                (None, None, false) => Arc::new(crate::devices::UnconnectedPrinter),
            },
            on_kiosk: Some(kiosk.on_kiosk()),
        };
        // The demo's controls act on its simulated devices; they open with the screens.
        #[cfg(feature = "sim")]
        let _controls = match &devices {
            Some(running) if ui::display_available() => demo::open_controls(Arc::clone(running))
                .inspect_err(|e| tracing::warn!("demo controls not shown: {e}"))
                .ok(),
            _ => None,
        };
        if let Err(e) = ui::run_screens(engine.clone(), clock.clone(), runtime.handle(), &options) {
            eprintln!("hallq: {e}; the hall node keeps running without screens");
            runtime.block_on(quit).ok();
        }
    }
    // No new requests from the LAN; those in flight are answered, push streams end.
    runtime.block_on(lan.server.stop());
    drop(platform_link);
    retention.abort();
    // The devices and the runtime's tasks hold engine handles too: the engine thread ends, its last
    // batch written, only once all are gone. A blocking read of standard input (the keyboard's
    // buttons) never ends on its own, so the runtime is not waited for beyond a moment.
    #[cfg(feature = "sim")]
    drop(devices);
    drop(kiosk_devices);
    runtime.shutdown_timeout(Duration::from_secs(1));
    drop(engine);
    // Folds the WAL back into the main file.
    writer.join();
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Resolves at SIGTERM (how systemd stops a unit) or SIGINT (Ctrl-C): both stop the node the same
/// clean way. Registered at once, so that from here on neither signal kills the process outright.
fn stop_requested(
    runtime: &tokio::runtime::Runtime,
) -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let _entered = runtime.enter();
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM: stopping"),
            _ = interrupt.recv() => tracing::info!("SIGINT: stopping"),
        }
    })
}

/// One committed event as the node prints it, where a service's output ends in the journal: in the
/// form a lobby display receives, so no ID hash and no name reaches a log.
fn event_log_line(event: &crate::queue::StoredEvent) -> String {
    use crate::lan::wire::{Audience, TerminalEvent};
    let shown = TerminalEvent::for_terminals(event, Audience::Lobby);
    format!(
        "{:>6} {:<24} {}",
        event.seq,
        event.event.kind(),
        serde_json::to_string(&shown).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use crate::queue::{Citizen, Event, Recorded, StoredEvent};

    #[test]
    fn the_printed_events_carry_no_personal_data() {
        let hash = "ab".repeat(32);
        let events = crate::queue::event::tests::one_of_each();
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::TicketIssued { .. }))
        );
        for (seq, mut event) in events.into_iter().enumerate() {
            if let Event::TicketIssued { citizen, .. } = &mut event {
                *citizen = Some(Citizen {
                    id_hash: hash.clone(),
                    masked_name: "张*三".into(),
                    senior: false,
                });
            }
            let stored = StoredEvent {
                seq: seq as u64 + 1,
                event_id: uuid::Uuid::now_v7(),
                hall_id: "hall".into(),
                command_id: None,
                recorded: Recorded {
                    wall_ms: 0,
                    hall_ms: 0,
                    boot_id: "boot".into(),
                    mono_ms: 0,
                    clock_trusted: true,
                    business_day: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
                },
                event,
            };
            let line = super::event_log_line(&stored);
            assert!(!line.contains(&hash), "{line}");
            assert!(!line.contains("张*三"), "{line}");
            assert!(line.contains(stored.event.kind()), "{line}");
        }
    }
}
