//! The demo hall: simulated citizens and staff, so a fresh checkout shows a living queue.

use std::time::Duration;

use rand::Rng;

use crate::config::HallSetup;
use crate::engine::EngineHandle;
use crate::queue::{CitizenCard, Command};
#[cfg(feature = "sim")]
use {
    crate::clock::Clock,
    crate::devices::demo::{DemoDevices, first_demo_card},
    crate::queue::Booking,
    crate::ui::{DemoAdapter, DemoControls},
    slint::ComponentHandle,
    std::cell::Cell,
    std::rc::Rc,
    std::sync::Arc,
};

/// The example hall made ready for the demo: open at any hour, and this one board's keyboard and
/// window panel standing for the hall's first window.
pub fn prepare(setup: &mut HallSetup) {
    setup.open_around_the_clock();
    let first_window = setup.config.windows.first().map(|w| w.number);
    setup.config.buttons.window = setup.config.buttons.window.or(first_window);
}

/// Staff sign in at every window; citizens arrive every few seconds; windows call, serve and finish.
pub async fn simulate(engine: EngineHandle) {
    let setup = engine.setup().clone();
    let run = uuid::Uuid::now_v7().simple().to_string();
    let mut n: u64 = 0;
    let mut id = |what: &str| {
        n += 1;
        format!("demo-{run}-{what}-{n}")
    };
    for (i, window) in setup.config.windows.iter().enumerate() {
        let _ = engine
            .execute(
                id("signin"),
                Command::sign_in_by_number(window.number, format!("{}", 1001 + i)),
            )
            .await;
    }
    let services: Vec<_> = setup
        .config
        .services
        .iter()
        .filter(|s| !s.appointment_only)
        .cloned()
        .collect();
    let mut tick = tokio::time::interval(Duration::from_millis(1500));
    loop {
        tick.tick().await;
        let (service, citizen, window, action) = {
            let mut rng = rand::rng();
            let service = services[rng.random_range(0..services.len())].clone();
            let citizen = service.requires_id_card.then(|| CitizenCard {
                id_hash: format!("{:032x}{:032x}", rng.random::<u128>(), rng.random::<u128>()),
                masked_name: "张*三".into(),
                birth_date: chrono::NaiveDate::from_ymd_opt(rng.random_range(1940..2005), 5, 17),
            });
            let window =
                setup.config.windows[rng.random_range(0..setup.config.windows.len())].number;
            (service, citizen, window, rng.random_range(0..4u8))
        };
        if rand::rng().random_bool(0.6) {
            let _ = engine
                .execute(
                    id("issue"),
                    Command::IssueTicket {
                        service: service.code.clone(),
                        citizen,
                        by_staff: false,
                    },
                )
                .await;
        }
        let command = match action {
            0 => Command::CallNext { window },
            1 => Command::StartService { window },
            2 => Command::Finish { window },
            _ => Command::CallNext { window },
        };
        let _ = engine.execute(id("window"), command).await;
    }
}

#[cfg(feature = "sim")]
/// The demo hall books a slot for the first test card of the simulated reader, starting now, so
/// "tap the ID card" on the demo controls shows an appointment check-in on the kiosk.
pub async fn book_demo_appointment(engine: &crate::engine::EngineHandle, clock: &dyn Clock) {
    let setup = engine.setup().clone();
    let Some(service) = setup
        .config
        .services
        .iter()
        .find(|s| s.appointment_only)
        .or(setup.config.services.first())
    else {
        return;
    };
    let now_ms = clock.read().wall_ms;
    let local = crate::queue::day::local_time(&setup, now_ms);
    let end = local + chrono::TimeDelta::minutes(30);
    if end.date() != local.date() {
        return;
    }
    // The booking carries the hash the platform would have made with the hall's key.
    let key = match engine.hall_key() {
        Ok(key) => key,
        Err(e) => return tracing::warn!("the demo booking is not made: {e}"),
    };
    let card = first_demo_card();
    let day = crate::queue::day::business_day_of(&setup, now_ms);
    let booking = Booking {
        id: format!("demo-{}", local.format("%Y%m%d%H%M")),
        service: service.code.clone(),
        day,
        start: local.format("%H:%M").to_string(),
        end: end.format("%H:%M").to_string(),
        id_hash: card.id_hash(&key),
        masked_name: card.masked_name(),
        version: 1,
    };
    let command_id = format!("demo-booking-{}", booking.id);
    match engine.execute(command_id, Command::Book { booking }).await {
        Ok(outcome) => tracing::debug!(?outcome.result, "demo booking"),
        Err(e) => tracing::warn!("the demo booking failed: {e}"),
    }
}

#[cfg(feature = "sim")]
/// Opens the demo's controls beside its screens: a test card laid on the simulated reader, the
/// simulated printer's paper taken away or refilled. Call on the screens' thread; the window lives
/// as long as the value returned.
pub fn open_controls(devices: Arc<DemoDevices>) -> anyhow::Result<(DemoControls, slint::Timer)> {
    let controls = DemoControls::new()?;
    let adapter = controls.global::<DemoAdapter>();
    let next_card = Rc::new(Cell::new(0usize));
    adapter.on_place_card({
        let devices = Arc::clone(&devices);
        move || {
            devices.place_card(next_card.get());
            next_card.set(next_card.get() + 1);
        }
    });
    adapter.on_toggle_paper({
        let devices = Arc::clone(&devices);
        let weak = controls.as_weak();
        move || {
            devices.toggle_paper();
            if let Some(controls) = weak.upgrade() {
                controls
                    .global::<DemoAdapter>()
                    .set_printer_out(devices.paper_out());
            }
        }
    });
    // The paper also runs out by itself now and then: the button follows the simulator.
    let follow = slint::Timer::default();
    let weak = controls.as_weak();
    follow.start(
        slint::TimerMode::Repeated,
        Duration::from_millis(300),
        move || {
            if let Some(controls) = weak.upgrade() {
                controls
                    .global::<DemoAdapter>()
                    .set_printer_out(devices.paper_out());
            }
        },
    );
    controls.show()?;
    Ok((controls, follow))
}
