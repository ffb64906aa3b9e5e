//! Requests that do not say what they carry, or announce more than the hall node takes, are refused
//! before their body is read, with the API's error shape; nothing reaches the engine.

use std::time::Duration;

use hallq::lan::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::lan_support::TestHall;

const ISSUE: &str = r#"{"command_id":"c1","command":{"command":"issue_ticket","service":"SB"}}"#;

#[tokio::test]
async fn a_command_without_a_json_content_type_gets_415_and_changes_nothing() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let before = hall.last_seq().await;
    let http = reqwest::Client::new();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = http
            .post(format!("{}/api/v1/commands", hall.url()))
            .bearer_auth(kiosk.token())
            .body(ISSUE);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 415, "{content_type:?}");
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error["code"], "unsupported_media_type", "{error}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "{error}"
        );
    }
    assert_eq!(hall.last_seq().await, before);
    // The same body, declared as JSON (with a charset, in any case), is taken.
    let response = http
        .post(format!("{}/api/v1/commands", hall.url()))
        .bearer_auth(kiosk.token())
        .header("content-type", "Application/JSON; charset=utf-8")
        .body(ISSUE)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn pairing_without_a_json_content_type_gets_415_and_spends_no_code() {
    let hall = TestHall::start().await;
    let code = hall.server().mint_code(10).unwrap();
    let body = format!(r#"{{"code":"{code}","name":"kiosk-1","role":"kiosk"}}"#);
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/api/v1/pair", hall.url()))
        .header("content-type", "text/plain")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let response = http
        .post(format!("{}/api/v1/pair", hall.url()))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "the code is still good");
}

/// What the hall node answers to a head that announces a gigabyte and waits for "100 Continue".
async fn answer_to_an_announced_gigabyte(hall: &TestHall, path: &str, token: &str) -> String {
    let mut socket = TcpStream::connect(hall.addr()).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: hall\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000000000\r\n\
         Expect: 100-continue\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut answer))
        .await
        .expect("no answer")
        .unwrap();
    String::from_utf8_lossy(&answer[..read]).into()
}

#[tokio::test]
async fn a_body_announced_over_the_limit_gets_413_never_100_continue() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let before = hall.last_seq().await;
    for (path, token) in [("/api/v1/commands", kiosk.token()), ("/api/v1/pair", "")] {
        let answer = answer_to_an_announced_gigabyte(&hall, path, token).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        assert!(!answer.contains("100 Continue"), "{path}: {answer}");
        assert!(
            answer.contains(r#""code":"body_too_large""#),
            "{path}: {answer}"
        );
    }
    assert_eq!(hall.last_seq().await, before);
}

#[tokio::test]
async fn an_id_hash_from_a_kiosk_or_an_unmasked_booking_is_refused_and_nothing_is_stored() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let admin = hall.pair(Role::Admin).await;
    let before = hall.last_seq().await;
    let hash = "ab".repeat(32);
    let http = reqwest::Client::new();
    for (what, id_hash, masked_name) in [
        ("a plain ID number", "110105194912310021", "张*三"),
        ("16 hex digits", "feedfacecafebeef", "张*三"),
        ("a full name", hash.as_str(), "张小三"),
    ] {
        let card = serde_json::json!({"id_hash": id_hash, "masked_name": masked_name});
        // A kiosk sends no ID hash at all: a card goes to the hall node to hash.
        let requests = [
            (
                kiosk.token(),
                serde_json::json!({"command": "issue_ticket", "service": "HJ", "citizen": card}),
                "card_tap_required",
            ),
            (
                kiosk.token(),
                serde_json::json!({"command": "check_in", "citizen": card}),
                "card_tap_required",
            ),
            (
                admin.token(),
                serde_json::json!({"command": "book", "booking": {
                    "id": "BK1", "service": "CRJ", "day": "2026-11-26", "start": "15:00",
                    "end": "15:30", "id_hash": id_hash, "masked_name": masked_name}}),
                "invalid_request",
            ),
        ];
        for (token, command, code) in requests {
            let response = http
                .post(format!("{}/api/v1/commands", hall.url()))
                .bearer_auth(token)
                .json(&serde_json::json!({"command_id": "p1", "command": command}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 422, "{what}");
            let error: serde_json::Value = response.json().await.unwrap();
            assert_eq!(error["code"], code, "{what}: {error}");
            let message = error["message"].as_str().unwrap();
            assert!(
                message.contains("id_hash") || message.contains("masked_name"),
                "{what}: {message}"
            );
            assert!(
                !message.contains(id_hash) && !message.contains(masked_name),
                "{what} echoed"
            );
        }
    }
    assert_eq!(hall.last_seq().await, before);
}
