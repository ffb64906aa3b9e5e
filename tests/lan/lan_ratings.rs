//! A rating belongs to the window that served the visit: another window's terminal, or a kiosk, cannot
//! rate it, and nothing is stored when one tries.

use hallq::lan::Role;
use hallq::lan::client::ClientError;
use hallq::queue::{Command, RatingChannel, RatingInput};
use hallq::store::CommandResult;

use crate::lan_support::{TestHall, issue, sign_in};

fn five_stars() -> Command {
    Command::Rate {
        number: "A001".into(),
        rating: RatingInput::Rated {
            score: 5,
            reasons: vec![],
            comment: None,
            channel: RatingChannel::WindowTablet,
        },
    }
}

#[tokio::test]
async fn only_the_window_that_served_a_visit_rates_it() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let window1 = hall.pair(Role::Counter { window: 1 }).await;
    let window2 = hall.pair(Role::Counter { window: 2 }).await;
    sign_in(&window1, 1).await;
    sign_in(&window2, 2).await;
    kiosk.execute(issue("SB")).await.unwrap();
    for step in [
        Command::CallNext { window: 1 },
        Command::StartService { window: 1 },
        Command::Finish { window: 1 },
    ] {
        let done = window1.execute(step).await.unwrap();
        assert!(matches!(done.result, CommandResult::Done(_)), "{done:?}");
    }
    let before = hall.last_seq().await;
    for (who, terminal) in [("window 2", &window2), ("the kiosk", &kiosk)] {
        match terminal.execute(five_stars()).await {
            Err(ClientError::Rejected(refused)) => {
                assert_eq!(refused.status, 403, "{who}: {refused:?}");
                assert_eq!(refused.code, "forbidden", "{who}: {refused:?}");
            }
            other => panic!("{who} rated window 1's visit: {other:?}"),
        }
    }
    assert_eq!(hall.last_seq().await, before, "nothing is stored");
    let rated = window1.execute(five_stars()).await.unwrap();
    assert!(matches!(rated.result, CommandResult::Done(_)), "{rated:?}");
    let state = hall.engine.state().await.unwrap();
    assert!(state.ticket_by_number("A001").unwrap().rating.is_some());
}
