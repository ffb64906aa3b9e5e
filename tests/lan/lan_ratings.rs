//! A rating belongs to the window that served the visit: another window's terminal cannot rate it,
//! a kiosk only when the window's business system opened the rating on that kiosk, and nothing is
//! stored when one tries. The business system opens a rating for a case with the window terminal's
//! token.

use std::time::Duration;

use hallq::lan::Role;
use hallq::lan::client::{ClientError, HallClient};
use hallq::queue::{
    Command, Evaluator, Event, Indicators, RatedVisit, Rating, RatingChannel, RatingInput,
    SatisfactionLevel, StoredEvent,
};
use hallq::store::CommandResult;

use crate::lan_support::{TestHall, issue, sign_in};

fn five_stars() -> Command {
    Command::Rate {
        number: "A001".into(),
        rating: RatingInput::score(5, RatingChannel::WindowTablet),
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

const CASE: &str = "330102-2026-000123";

/// A001, issued at the kiosk and served to the end at window 1.
async fn served_at_window_1(hall: &TestHall, kiosk: &HallClient, window1: &HallClient) {
    sign_in(window1, 1).await;
    kiosk.execute(issue("SB")).await.unwrap();
    for step in [
        Command::CallNext { window: 1 },
        Command::StartService { window: 1 },
        Command::Finish { window: 1 },
    ] {
        let done = window1.execute(step).await.unwrap();
        assert!(matches!(done.result, CommandResult::Done(_)), "{done:?}");
    }
    assert!(hall.last_seq().await > 0);
}

/// Pairs a kiosk under its own name, as the hall's rating requests name it.
async fn kiosk_named(hall: &TestHall, name: &str) -> HallClient {
    let code = hall.server().mint_code(10).unwrap();
    let (client, _) = HallClient::pair(hall.url(), &code, name, Role::Kiosk)
        .await
        .unwrap();
    client
}

/// What the window's business system sends: a plain HTTP POST with the window terminal's token.
async fn ask_for_rating(
    hall: &TestHall,
    token: Option<&str>,
    window: u16,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/windows/{window}/rating-requests",
            hall.url()
        ))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

fn rating_at(channel: RatingChannel, case_number: Option<&str>) -> Command {
    Command::Rate {
        number: "A001".into(),
        rating: RatingInput::Rated {
            score: 2,
            reasons: vec![],
            comment: None,
            channel,
            indicators: Indicators {
                attitude: Some(SatisfactionLevel::VeryDissatisfied),
                ..Indicators::default()
            },
            case_number: case_number.map(String::from),
        },
    }
}

/// The request and the rating as a terminal receives them on the push stream.
async fn pushed_request_and_rating(terminal: &HallClient) -> (Evaluator, RatedVisit) {
    let mut events = terminal.follow(0);
    let mut evaluator = None;
    loop {
        let stored: StoredEvent = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .expect("the events arrive in time")
            .expect("the stream stays open");
        match stored.event {
            Event::RatingRequested { evaluator: e, .. } => evaluator = Some(e),
            Event::TicketRated {
                visit: Some(visit), ..
            } => return (evaluator.expect("the request came first"), visit),
            _ => {}
        }
    }
}

#[tokio::test]
async fn the_window_business_system_opens_the_rating_for_a_case_and_the_rating_carries_it() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let window1 = hall.pair(Role::Counter { window: 1 }).await;
    served_at_window_1(&hall, &kiosk, &window1).await;
    let body = serde_json::json!({"request_id": "case-1", "case_number": CASE});
    let (status, opened) = ask_for_rating(&hall, Some(window1.token()), 1, body.clone()).await;
    assert_eq!(status, 200, "{opened}");
    assert_eq!(opened["result"]["done"]["ticket"]["number"], "A001");
    assert_eq!(
        opened["result"]["done"]["ticket"]["rating_request"],
        serde_json::json!({"window": 1, "case_number": CASE, "evaluator": {"at": "window"}})
    );
    let seq = hall.last_seq().await;
    let (status, again) = ask_for_rating(&hall, Some(window1.token()), 1, body).await;
    assert_eq!(
        (status, &again["seq"]),
        (200, &opened["seq"]),
        "a retry acts once"
    );
    assert_eq!(hall.last_seq().await, seq);

    let rated = window1
        .execute(rating_at(RatingChannel::WindowTablet, Some(CASE)))
        .await
        .unwrap();
    assert!(matches!(rated.result, CommandResult::Done(_)), "{rated:?}");
    let (evaluator, visit) = pushed_request_and_rating(&window1).await;
    assert_eq!(evaluator, Evaluator::Window);
    assert_eq!(visit.case_number.unwrap().as_str(), CASE);
    assert_eq!(visit.window, Some(1));
}

#[tokio::test]
async fn another_windows_case_an_unknown_window_and_other_roles_are_refused() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let window1 = hall.pair(Role::Counter { window: 1 }).await;
    let window2 = hall.pair(Role::Counter { window: 2 }).await;
    let display = hall.pair(Role::Display).await;
    let admin = hall.pair(Role::Admin).await;
    served_at_window_1(&hall, &kiosk, &window1).await;
    let before = hall.last_seq().await;
    let body = serde_json::json!({"case_number": CASE, "ticket": "A001"});
    for (who, token, window, status, code) in [
        (
            "window 2 for window 1",
            Some(window2.token()),
            1,
            403,
            "forbidden",
        ),
        ("the kiosk", Some(kiosk.token()), 1, 403, "forbidden"),
        ("the display", Some(display.token()), 1, 403, "forbidden"),
        ("no token", None, 1, 401, "unauthorized"),
        (
            "an unknown window",
            Some(admin.token()),
            99,
            404,
            "unknown_window",
        ),
        (
            "window 1 for an unknown one",
            Some(window1.token()),
            99,
            404,
            "unknown_window",
        ),
    ] {
        let (got, error) = ask_for_rating(&hall, token, window, body.clone()).await;
        assert_eq!(
            (got, error["code"].as_str()),
            (status, Some(code)),
            "{who}: {error}"
        );
    }
    // Window 2 asking for its own window about a visit window 1 served: the engine says why.
    let (got, refused) = ask_for_rating(&hall, Some(window2.token()), 2, body.clone()).await;
    assert_eq!(
        (got, refused["code"].as_str()),
        (409, Some("not_served_here")),
        "{refused}"
    );
    let (got, refused) = ask_for_rating(
        &hall,
        Some(window1.token()),
        1,
        serde_json::json!({"case_number": "  "}),
    )
    .await;
    assert_eq!(
        (got, refused["code"].as_str()),
        (409, Some("invalid")),
        "{refused}"
    );
    let (got, refused) = ask_for_rating(
        &hall,
        Some(window1.token()),
        1,
        serde_json::json!({"case_number": CASE, "score": 5}),
    )
    .await;
    assert_eq!(got, 422, "unknown fields are refused: {refused}");
    assert_eq!(hall.last_seq().await, before, "nothing is stored");
    let (got, _) = ask_for_rating(&hall, Some(admin.token()), 1, body).await;
    assert_eq!(got, 200, "the hall's IT staff may");
}

#[tokio::test]
async fn a_kiosk_rates_only_the_case_the_business_system_opened_on_it() {
    let hall = TestHall::start().await;
    let kiosk = kiosk_named(&hall, "自助机1").await;
    let other_kiosk = kiosk_named(&hall, "自助机2").await;
    let window1 = hall.pair(Role::Counter { window: 1 }).await;
    served_at_window_1(&hall, &kiosk, &window1).await;
    let before = hall.last_seq().await;
    let forbidden = |who: &str, outcome: Result<_, ClientError>| match outcome {
        Err(ClientError::Rejected(refused)) => {
            assert_eq!(
                (refused.status, refused.code.as_str()),
                (403, "forbidden"),
                "{who}"
            )
        }
        other => panic!("{who} rated: {other:?}"),
    };
    forbidden(
        "a kiosk with no request",
        kiosk
            .execute(rating_at(RatingChannel::HallTerminal, None))
            .await,
    );
    let (got, refused) = ask_for_rating(
        &hall,
        Some(window1.token()),
        1,
        serde_json::json!({"case_number": CASE, "kiosk": "自助机9"}),
    )
    .await;
    assert_eq!(
        (got, refused["code"].as_str()),
        (422, Some("invalid_request")),
        "{refused}"
    );
    assert_eq!(hall.last_seq().await, before, "nothing is stored");

    // The request opened at the window's own evaluator gives no kiosk a rating.
    let (got, _) = ask_for_rating(
        &hall,
        Some(window1.token()),
        1,
        serde_json::json!({"case_number": CASE}),
    )
    .await;
    assert_eq!(got, 200);
    forbidden(
        "a kiosk when the window's evaluator was opened",
        kiosk
            .execute(rating_at(RatingChannel::HallTerminal, Some(CASE)))
            .await,
    );

    let (got, opened) = ask_for_rating(
        &hall,
        Some(window1.token()),
        1,
        serde_json::json!({"case_number": CASE, "kiosk": "自助机1"}),
    )
    .await;
    assert_eq!(got, 200, "{opened}");
    let seq = hall.last_seq().await;
    forbidden(
        "another kiosk",
        other_kiosk
            .execute(rating_at(RatingChannel::HallTerminal, Some(CASE)))
            .await,
    );
    forbidden(
        "a kiosk naming a ticket it was not opened for",
        kiosk
            .execute(Command::Rate {
                number: "Z999".into(),
                rating: RatingInput::score(5, RatingChannel::HallTerminal),
            })
            .await,
    );
    assert_eq!(hall.last_seq().await, seq, "nothing is stored");
    let rated = kiosk
        .execute(rating_at(RatingChannel::HallTerminal, Some(CASE)))
        .await
        .unwrap();
    assert!(matches!(rated.result, CommandResult::Done(_)), "{rated:?}");
    let (evaluator, visit) = pushed_request_and_rating(&window1).await;
    assert_eq!(
        evaluator,
        Evaluator::Kiosk {
            name: "自助机1".into()
        }
    );
    assert_eq!(visit.case_number.unwrap().as_str(), CASE);
    let state = hall.engine.state().await.unwrap();
    let ticket = state.ticket_by_number("A001").unwrap();
    assert!(matches!(
        ticket.rating,
        Some(Rating::Rated {
            channel: RatingChannel::HallTerminal,
            ..
        })
    ));
    assert_eq!(ticket.rating_request, None);
}
