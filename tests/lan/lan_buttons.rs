//! Call buttons through the keyboard stand-in, over the LAN to a real hall node: the same path GPIO
//! presses take.

use crate::lan_support;

use std::sync::Arc;
use std::time::Duration;

use hallq::buttons;
use hallq::lan::Role;
use hallq::lan::client::HallClient;
use hallq::lan::terminal::LanHall;
use hallq::ports::Hall;
use hallq::queue::{Reply, TicketState};
use hallq::store::CommandResult;
use lan_support::{TestHall, issue_tickets, sign_in};
use tokio::io::AsyncWriteExt;

/// The window terminal's hall port: the hall node over the LAN, as `hallq run --role counter` builds it.
fn over_the_lan(hall: &TestHall, client: &HallClient) -> Hall {
    let setup = hall.engine.setup().clone();
    Arc::new(LanHall::new(client.clone(), setup, None))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn button_presses_call_recall_and_mark_no_show_once_each() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let window1 = hall.pair(Role::Counter { window: 1 }).await;
    issue_tickets(&kiosk, "SB", 2).await;
    sign_in(&window1, 1).await;

    let (mut keyboard, input) = tokio::io::duplex(64);
    let (presses, received) = tokio::sync::mpsc::channel(16);
    tokio::spawn(buttons::stdin::read_presses(
        tokio::io::BufReader::new(input),
        presses,
    ));
    let pressing = tokio::spawn(buttons::run(
        received,
        1,
        Duration::from_millis(250),
        over_the_lan(&hall, &window1),
    ));
    let pause = || tokio::time::sleep(Duration::from_millis(400));
    keyboard.write_all(b"n\n").await.unwrap();
    pause().await;
    keyboard.write_all(b"r\n").await.unwrap();
    pause().await;
    // A bouncing contact: two presses 10 ms apart are one.
    keyboard.write_all(b"x\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    keyboard.write_all(b"x\n").await.unwrap();
    pause().await;
    keyboard.write_all(b"oops\nn\n").await.unwrap();
    pause().await;
    drop(keyboard);

    let outcomes = tokio::time::timeout(Duration::from_secs(10), pressing)
        .await
        .unwrap()
        .unwrap();
    let said: Vec<(String, TicketState)> = outcomes
        .iter()
        .map(|o| match &o.result {
            CommandResult::Done(Reply::Ticket { ticket, .. }) => {
                (ticket.number.clone(), ticket.state)
            }
            other => panic!("a press was refused: {other:?}"),
        })
        .collect();
    assert_eq!(
        said,
        [
            ("A001".to_string(), TicketState::Called),
            ("A001".to_string(), TicketState::Called),
            ("A001".to_string(), TicketState::NoShow),
            ("A002".to_string(), TicketState::Called),
        ]
    );
    let state = hall.engine.state().await.unwrap();
    assert_eq!(
        state.ticket_by_number("A001").unwrap().calls,
        2,
        "one recall"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presses_made_while_a_command_is_on_its_way_are_dropped() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let window1 = hall.pair(Role::Counter { window: 1 }).await;
    issue_tickets(&kiosk, "SB", 3).await;
    sign_in(&window1, 1).await;
    // Call next, then finish and no-show queued behind it before any answer: only the call is sent.
    let (presses, received) = tokio::sync::mpsc::channel(16);
    let now = std::time::Instant::now();
    for button in [
        buttons::Button::CallNext,
        buttons::Button::Finish,
        buttons::Button::NoShow,
    ] {
        presses
            .send(buttons::Press { button, at: now })
            .await
            .unwrap();
    }
    drop(presses);
    let outcomes = buttons::run(
        received,
        1,
        Duration::from_millis(250),
        over_the_lan(&hall, &window1),
    )
    .await;
    assert_eq!(outcomes.len(), 1);
    let state = hall.engine.state().await.unwrap();
    assert_eq!(
        state.ticket_by_number("A001").unwrap().state,
        TicketState::Called
    );
}
