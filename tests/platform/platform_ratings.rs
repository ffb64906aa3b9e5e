//! A rating reaches the platform in the national form (好差评): the level by code and name, the
//! channel and its national code, the indicators the citizen gave and no others, the service item
//! code, window, staff number, time and case number.

use std::time::Duration;

use hallq::queue::{Command, Indicators, RatingChannel, RatingInput, SatisfactionLevel};
use serde_json::json;

use crate::common::{FRIDAY_10AM, MINUTE};
use crate::platform_support::*;

const CASE: &str = "330102-2026-000123";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_uploaded_rating_carries_the_national_fields() {
    let hall = uncapped_hall();
    let platform_dir = tempfile::tempdir().unwrap();
    let (receiver, _clock) = start_receiver(platform_dir.path(), &hall_id(&hall), loopback().await);
    let uplink = start_uplink(
        &hall,
        settings(&hall, &receiver.url(), 500, Duration::from_secs(2)),
    );
    hall.sign_in(3).await;
    hall.issue("SB").await;
    hall.issue("SB").await;
    for _ in 0..2 {
        hall.call(3).await;
        hall.ok(Command::StartService { window: 3 }).await;
        hall.ok(Command::Finish { window: 3 }).await;
    }
    hall.clock.advance(MINUTE);
    hall.ok(Command::RequestRating {
        window: 3,
        case_number: CASE.into(),
        ticket: Some("A001".into()),
        kiosk: None,
    })
    .await;
    hall.ok(Command::Rate {
        number: "A001".into(),
        rating: RatingInput::Rated {
            score: 3,
            reasons: vec![],
            comment: None,
            channel: RatingChannel::WindowTablet,
            indicators: Indicators {
                overall: Some(SatisfactionLevel::BasicallySatisfied),
                attitude: Some(SatisfactionLevel::VerySatisfied),
                ..Indicators::default()
            },
            case_number: Some(CASE.into()),
        },
    })
    .await;
    hall.ok(Command::Rate {
        number: "A002".into(),
        rating: RatingInput::Unrated {
            why: hallq::queue::UnratedWhy::Declined,
        },
    })
    .await;
    let last = hall.events().last().unwrap().seq;
    assert!(
        wait_until(Duration::from_secs(5), || receiver
            .acked_through(&hall_id(&hall))
            .unwrap()
            == last)
        .await
    );
    let received: Vec<serde_json::Value> = receiver
        .events(&hall_id(&hall))
        .unwrap()
        .into_iter()
        .map(|(_, _, body)| serde_json::from_str(&body).unwrap())
        .collect();
    let of_kind = |kind: &str| -> Vec<&serde_json::Value> {
        received.iter().filter(|e| e["kind"] == kind).collect()
    };
    let requested = of_kind("rating_requested");
    assert_eq!(requested.len(), 1);
    assert_eq!(
        requested[0]["data"],
        json!({"ticket": 1, "window": 3, "case_number": CASE, "evaluator": {"at": "window"}})
    );
    let ratings = of_kind("ticket_rated");
    assert_eq!(ratings.len(), 2);
    assert_eq!(ratings[0]["v"], 1, "fields were added compatibly");
    assert_eq!(
        ratings[0]["data"],
        json!({
            "ticket": 1,
            "rating": {
                "kind": "rated",
                "score": 3,
                "level": {"code": 3, "name": "基本满意"},
                "reasons": [],
                "comment": null,
                "channel": "window_tablet",
                "channel_code": 4,
                "indicators": [
                    {"indicator": "overall", "name": "整体满意度",
                     "level": {"code": 3, "name": "基本满意"}},
                    {"indicator": "attitude", "name": "服务态度",
                     "level": {"code": 5, "name": "非常满意"}}
                ]
            },
            "window": 3,
            "staff": "S3",
            "service": "SB",
            "item_code": "330100-000117001000",
            "case_number": CASE,
            "rated_at_ms": FRIDAY_10AM + MINUTE
        })
    );
    assert_eq!(
        ratings[1]["data"],
        json!({
            "ticket": 2,
            "rating": {"kind": "unrated", "why": "declined"},
            "window": 3,
            "staff": "S3",
            "service": "SB",
            "item_code": "330100-000117001000",
            "rated_at_ms": FRIDAY_10AM + MINUTE
        }),
        "unrated has no level, no score and no indicators"
    );
    assert_holds_the_whole_log(&receiver, &hall);
    drop(uplink);
}
