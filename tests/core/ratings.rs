//! Ratings in the national form (好差评) through the engine on a real database: the level, the
//! indicators the citizen gave and no others, the visit the provincial system files it under, and
//! the business system's request that opens the rating for a case.

use crate::common;

use common::*;
use hallq::queue::*;

const CASE: &str = "330102-2026-000123";

/// A001 of social insurance (SB), served at window 3 by staff S3 and finished.
async fn served_at_window_3() -> Hall {
    let hall = Hall::new();
    hall.sign_in(3).await;
    hall.issue("SB").await;
    hall.call(3).await;
    hall.ok(Command::StartService { window: 3 }).await;
    hall.ok(Command::Finish { window: 3 }).await;
    hall
}

fn request(window: u16, case_number: &str, ticket: Option<&str>) -> Command {
    Command::RequestRating {
        window,
        case_number: case_number.into(),
        ticket: ticket.map(String::from),
        kiosk: None,
    }
}

fn rated(score: u8, indicators: Indicators, case_number: Option<&str>) -> Command {
    Command::Rate {
        number: "A001".into(),
        rating: RatingInput::Rated {
            score,
            reasons: vec![],
            comment: None,
            channel: RatingChannel::WindowTablet,
            indicators,
            case_number: case_number.map(String::from),
        },
    }
}

fn last_rating(hall: &Hall) -> (Rating, Option<RatedVisit>) {
    hall.events()
        .into_iter()
        .rev()
        .find_map(|stored| match stored.event {
            Event::TicketRated { rating, visit, .. } => Some((rating, visit)),
            _ => None,
        })
        .expect("a rating was recorded")
}

#[tokio::test]
async fn a_requested_rating_records_the_level_the_indicators_given_and_the_case() {
    let hall = served_at_window_3().await;
    hall.clock.advance(MINUTE);
    let opened = hall.ticket(request(3, CASE, None)).await;
    assert_eq!(
        opened.rating_request,
        Some(RatingRequest {
            window: 3,
            case_number: CaseNumber::parse(CASE).unwrap(),
            evaluator: Evaluator::Window,
        }),
        "the window's latest finished visit is the one asked about"
    );
    let only_efficiency = Indicators {
        efficiency: Some(SatisfactionLevel::Dissatisfied),
        ..Indicators::default()
    };
    let ticket = hall.ticket(rated(4, only_efficiency, Some(CASE))).await;
    assert_eq!(ticket.rating_request, None, "the request is answered");
    let (rating, visit) = last_rating(&hall);
    assert_eq!(
        rating,
        Rating::Rated {
            level: SatisfactionLevel::Satisfied,
            reasons: vec![],
            comment: None,
            channel: RatingChannel::WindowTablet,
            indicators: only_efficiency,
        }
    );
    let Rating::Rated { indicators, .. } = &rating else {
        unreachable!()
    };
    assert_eq!(
        indicators.overall, None,
        "the overall level is not copied in"
    );
    assert_eq!(
        visit,
        Some(RatedVisit {
            window: Some(3),
            staff: Some("S3".into()),
            service: "SB".into(),
            item_code: Some("330100-000117001000".into()),
            case_number: Some(CaseNumber::parse(CASE).unwrap()),
            at_ms: FRIDAY_10AM + MINUTE,
        })
    );
}

#[tokio::test]
async fn unrated_stays_unrated_with_no_level_at_all() {
    let hall = served_at_window_3().await;
    hall.ok(request(3, CASE, Some("A001"))).await;
    let ticket = hall
        .ticket(Command::Rate {
            number: "A001".into(),
            rating: RatingInput::Unrated {
                why: UnratedWhy::TimedOut,
            },
        })
        .await;
    assert_eq!(
        ticket.rating,
        Some(Rating::Unrated {
            why: UnratedWhy::TimedOut
        })
    );
    let (rating, visit) = last_rating(&hall);
    let json = serde_json::to_value(&rating).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"kind": "unrated", "why": "timed_out"})
    );
    assert_eq!(
        visit.unwrap().case_number.unwrap().as_str(),
        CASE,
        "the platform learns the case went unrated"
    );
}

#[tokio::test]
async fn an_open_request_survives_a_restart_and_the_day_closes_it_unrated() {
    let mut hall = served_at_window_3().await;
    hall.ok(request(3, CASE, None)).await;
    hall.restart();
    let state = hall.state().await;
    let ticket = state.ticket_by_number("A001").unwrap();
    assert_eq!(
        ticket
            .rating_request
            .as_ref()
            .map(|r| r.case_number.as_str()),
        Some(CASE)
    );
    assert_eq!(
        state,
        HallState::replay(&hall.events()),
        "replay equals live"
    );
    hall.clock.advance(24 * HOUR);
    hall.ok(Command::IssueTicket {
        service: "SB".into(),
        citizen: None,
        by_staff: true,
    })
    .await;
    let opened = hall
        .events()
        .into_iter()
        .rev()
        .find_map(|e| match e.event {
            Event::BusinessDayOpened { unrated, .. } => Some(unrated),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        opened,
        vec![ticket.id],
        "the unanswered visit closes unrated"
    );
}

#[tokio::test]
async fn bad_rating_requests_are_refused_and_change_nothing() {
    let hall = served_at_window_3().await;
    hall.sign_in(1).await;
    let before = hall.events().len();
    for (command, code) in [
        (request(3, "", None), "invalid"),
        (request(3, "   ", None), "invalid"),
        (request(3, &"9".repeat(65), None), "invalid"),
        (request(3, "A\u{7}1", None), "invalid"),
        (request(3, " 330102", None), "invalid"),
        (request(99, CASE, None), "unknown_window"),
        (request(1, CASE, Some("A001")), "not_served_here"),
        (request(1, CASE, None), "nothing_to_rate"),
        (request(3, CASE, Some("Z999")), "unknown_ticket"),
        (
            Command::RequestRating {
                window: 3,
                case_number: CASE.into(),
                ticket: None,
                kiosk: Some(" ".into()),
            },
            "invalid",
        ),
    ] {
        let described = format!("{command:?}");
        assert_eq!(hall.refused(command).await.code, code, "{described}");
    }
    assert_eq!(
        hall.refused(request(3, "", None)).await.message,
        "the case number is empty"
    );
    assert_eq!(hall.events().len(), before, "nothing was recorded");
    // A visit still being served cannot be put up for rating yet.
    hall.issue("SB").await;
    hall.call(3).await;
    let before = hall.events().len();
    assert_eq!(
        hall.refused(request(3, CASE, Some("A002"))).await.code,
        "wrong_state"
    );
    assert_eq!(hall.events().len(), before);
    assert_eq!(
        hall.state()
            .await
            .ticket_by_number("A001")
            .unwrap()
            .rating_request,
        None
    );
}

#[tokio::test]
async fn a_rating_must_name_the_case_still_asked_for() {
    let hall = served_at_window_3().await;
    assert_eq!(
        hall.refused(rated(5, Indicators::default(), Some(CASE)))
            .await
            .code,
        "case_mismatch",
        "no case was asked for"
    );
    hall.ok(request(3, CASE, None)).await;
    let before = hall.events().len();
    assert_eq!(
        hall.ok(request(3, CASE, None)).await,
        hall.ok(request(3, CASE, Some("A001"))).await,
        "asked again alike"
    );
    assert_eq!(
        hall.events().len(),
        before,
        "the same request opens nothing new"
    );
    hall.ok(request(3, "330102-2026-000124", None)).await;
    let refused = hall
        .refused(rated(5, Indicators::default(), Some(CASE)))
        .await;
    assert_eq!(
        refused.code, "case_mismatch",
        "a screen left from the first request"
    );
    assert_eq!(
        refused.message,
        format!("A001 is not up for rating under case {CASE}")
    );
    assert_eq!(
        hall.refused(rated(5, Indicators::default(), Some("")))
            .await
            .code,
        "invalid"
    );
    hall.ok(rated(5, Indicators::default(), None)).await;
    let (_, visit) = last_rating(&hall);
    assert_eq!(
        visit.unwrap().case_number.unwrap().as_str(),
        "330102-2026-000124",
        "the case comes from the request, not the screen"
    );
}
