//! A window terminal signs its staff in with a PIN over the LAN: the hall node checks it against its
//! staff book and keeps only the verdict; a terminal cannot vouch for itself.

use hallq::config::SignInBy;
use hallq::identity::StaffPin;
use hallq::lan::Role;
use hallq::store::{CommandResult, Outcome, Store};
use serde_json::json;

use crate::lan_support::TestHall;

async fn pin_hall() -> TestHall {
    let mut setup = hallq::config::example();
    setup.config.staff.sign_in = SignInBy::Pin;
    let hall = TestHall::start_with(setup).await;
    Store::open(&hall.dir.path().join("hall.db"), "650102-ZWFW-01")
        .unwrap()
        .into_staff_book()
        .set_pin("1001", &StaffPin::new("482913").unwrap(), 0)
        .unwrap();
    hall
}

fn refusal_code(outcome: &Outcome) -> Option<&str> {
    match &outcome.result {
        CommandResult::Refused(r) => Some(r.code.as_str()),
        CommandResult::Done(_) => None,
    }
}

fn pin(text: &str) -> Option<StaffPin> {
    Some(StaffPin::new(text).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_terminal_signs_in_with_the_right_pin_only() {
    let hall = pin_hall().await;
    let counter = hall.pair(Role::Counter { window: 1 }).await;
    let alone = counter.sign_in(1, "1001".into(), None).await.unwrap();
    assert_eq!(refusal_code(&alone), Some("staff_pin_required"));
    let wrong = counter
        .sign_in(1, "1001".into(), pin("111111"))
        .await
        .unwrap();
    assert_eq!(refusal_code(&wrong), Some("wrong_staff_pin"));
    let right = counter
        .sign_in(1, "1001".into(), pin("482913"))
        .await
        .unwrap();
    assert_eq!(refusal_code(&right), None, "{right:?}");
    let state = hall.engine.state().await.unwrap();
    assert_eq!(state.windows[&1].staff.as_deref(), Some("1001"));
    let db = std::fs::read(hall.dir.path().join("hall.db")).unwrap();
    let wal = std::fs::read(hall.dir.path().join("hall.db-wal")).unwrap_or_default();
    for file in [db, wal] {
        assert!(
            !file.windows(6).any(|w| w == b"482913"),
            "the PIN was stored"
        );
        assert!(
            !file.windows(6).any(|w| w == b"111111"),
            "a wrong PIN was stored"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_cannot_vouch_for_itself_or_send_a_malformed_pin() {
    let hall = pin_hall().await;
    let counter = hall.pair(Role::Counter { window: 1 }).await;
    let http = reqwest::Client::new();
    for (id, command) in [
        (
            "v1",
            json!({"command": "sign_in", "window": 1, "staff": "1001", "proof": "pin"}),
        ),
        (
            "v2",
            json!({"command": "sign_in", "window": 1, "staff": "1001", "pin": "48a913"}),
        ),
        (
            "v3",
            json!({"command": "sign_in", "window": 1, "staff": "1001", "pin": "123"}),
        ),
    ] {
        let response = http
            .post(format!("{}/api/v1/commands", hall.url()))
            .bearer_auth(counter.token())
            .json(&json!({"command_id": id, "command": command}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{command}");
    }
    let state = hall.engine.state().await.unwrap();
    assert!(
        state
            .windows
            .get(&1)
            .and_then(|w| w.staff.clone())
            .is_none()
    );
}
