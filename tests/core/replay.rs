//! State rebuilt from the event log equals the live state, after a long random sequence of commands.

use crate::common;

use common::*;
use hallq::queue::*;
use rand::{Rng, SeedableRng};

fn random_command(
    rng: &mut impl Rng,
    setup: &hallq::config::HallSetup,
    state: &HallState,
) -> Command {
    let windows: Vec<u16> = setup.config.windows.iter().map(|w| w.number).collect();
    let window = windows[rng.random_range(0..windows.len())];
    let services: Vec<&str> = setup
        .config
        .services
        .iter()
        .map(|s| s.code.as_str())
        .collect();
    let service = services[rng.random_range(0..services.len())].to_string();
    let numbers: Vec<_> = state.tickets.values().map(|t| t.number.clone()).collect();
    let pick = rng.random_range(0..numbers.len().max(1));
    let some_number = || numbers.get(pick).cloned().unwrap_or_else(|| "A001".into());
    match rng.random_range(0..20) {
        0..=4 => Command::IssueTicket {
            service,
            citizen: rng.random_bool(0.5).then(|| card(rng.random_range(0..50))),
            by_staff: rng.random_bool(0.2),
        },
        5 => Command::sign_in_by_number(window, format!("S{}", rng.random_range(0..12))),
        6 => Command::SignOut { window },
        7..=9 => Command::CallNext { window },
        10 => Command::Recall { window },
        11 => Command::StartService { window },
        12 => Command::Finish { window },
        13 => Command::NoShow { window },
        14 => Command::Transfer {
            window,
            to: if rng.random_bool(0.5) {
                TransferTarget::Service(service)
            } else {
                TransferTarget::Window(windows[rng.random_range(0..windows.len())])
            },
        },
        15 => {
            if rng.random_bool(0.5) {
                Command::Pause { window }
            } else {
                Command::Resume { window }
            }
        }
        16 => Command::Requeue {
            number: some_number(),
        },
        17 if rng.random_bool(0.4) => Command::RequestRating {
            window,
            case_number: format!("CASE-{}", rng.random_range(0..5)),
            ticket: rng.random_bool(0.5).then(some_number),
            kiosk: None,
        },
        17 => Command::Rate {
            number: some_number(),
            rating: RatingInput::Rated {
                score: rng.random_range(1..=5),
                reasons: vec![],
                comment: None,
                channel: RatingChannel::WindowTablet,
                indicators: Indicators {
                    efficiency: SatisfactionLevel::from_score(rng.random_range(0..=5)),
                    ..Indicators::default()
                },
                case_number: None,
            },
        },
        18 => Command::FlagGreenChannel {
            number: some_number(),
        },
        _ => Command::ReportDevice {
            device: "printer".into(),
            fault: rng.random_bool(0.5).then(|| DeviceFault {
                code: "paper_out".into(),
                message: "out of paper".into(),
            }),
        },
    }
}

#[tokio::test]
async fn replayed_log_equals_live_state_and_stored_state() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let mut setup = hallq::config::example();
    setup.open_around_the_clock();
    let mut hall = Hall::with_setup(setup);
    for step in 0..3000 {
        let state = hall.state().await;
        let command = random_command(&mut rng, &hall.setup, &state);
        hall.exec(command).await;
        hall.clock.advance(rng.random_range(0..4 * MINUTE));
        if step % 1000 == 999 {
            hall.clock.advance(20 * HOUR); // into the next business day now and then
        }
    }
    let live = hall.state().await;
    let events = hall.events();
    let kinds: std::collections::HashSet<_> = events.iter().map(|e| e.event.kind()).collect();
    assert!(
        events.len() > 800 && kinds.len() >= 15,
        "too little happened: {} events of kinds {kinds:?}",
        events.len()
    );
    assert!(
        events
            .iter()
            .filter(|e| e.event.kind() == "business_day_opened")
            .count()
            >= 3
    );
    let replayed = HallState::replay(&events);
    assert_eq!(replayed, live, "replay differs from the live state");
    hall.restart();
    assert_eq!(
        hall.state().await,
        live,
        "state loaded from the state tables differs from the live state"
    );
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=events.len() as u64).collect::<Vec<_>>(),
        "gap in the event sequence"
    );
}
