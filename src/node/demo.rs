//! The demo hall: simulated citizens and staff, so a fresh checkout shows a living queue.

use std::time::Duration;

use rand::Rng;

use crate::config::HallSetup;
use crate::engine::EngineHandle;
use crate::queue::{CitizenCard, Command};

/// The demo runs at any hour: every day open 00:00-23:59.
pub fn open_around_the_clock(setup: &mut HallSetup) {
    let mut hours = crate::config::OpeningHours::default();
    hours
        .add_entry("mon-sun", "00:00-23:59")
        .expect("a valid range");
    setup.hours = hours;
    setup.config.clock.assume_trusted = true;
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
                Command::SignIn {
                    window: window.number,
                    staff: format!("{}", 1001 + i),
                },
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
                id_hash: format!("{:032x}", rng.random::<u128>()),
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
