//! The LAN API over real sockets on loopback, against a real hall node (engine + SQLite file).

use crate::lan_support;

use std::time::Duration;

use hallq::lan::Role;
use hallq::lan::api::MAX_TERMINAL_COMMAND_ID;
use hallq::lan::client::{ClientError, HallClient, LinkState, Retry};
use hallq::queue::{
    CitizenCard, Command, Event, RatingChannel, RatingInput, Reply, TicketState, TransferTarget,
};
use hallq::store::{CommandResult, Outcome};
use lan_support::{TestHall, issue, issue_tickets, sign_in};
use serde_json::json;

fn ticket_number(outcome: &Outcome) -> String {
    match &outcome.result {
        CommandResult::Done(Reply::Ticket { ticket, .. }) => ticket.number.clone(),
        other => panic!("expected a ticket, got {other:?}"),
    }
}

fn refusal_code(outcome: &Outcome) -> &str {
    match &outcome.result {
        CommandResult::Refused(refusal) => &refusal.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_lives_its_whole_life_through_the_api() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let window1 = hall.pair(Role::Counter { window: 1 }).await;
    let window3 = hall.pair(Role::Counter { window: 3 }).await;
    sign_in(&window1, 1).await;
    sign_in(&window3, 3).await;

    let first = kiosk.execute(issue("SB")).await.unwrap();
    assert_eq!(ticket_number(&first), "A001");
    let second = kiosk.execute(issue("SB")).await.unwrap();
    assert_eq!(ticket_number(&second), "A002");

    let called = window1
        .execute(Command::CallNext { window: 1 })
        .await
        .unwrap();
    assert_eq!(ticket_number(&called), "A001");
    let recalled = window1
        .execute(Command::Recall { window: 1 })
        .await
        .unwrap();
    assert_eq!(ticket_number(&recalled), "A001");
    window1
        .execute(Command::StartService { window: 1 })
        .await
        .unwrap();
    let finished = window1
        .execute(Command::Finish { window: 1 })
        .await
        .unwrap();
    assert!(matches!(
        &finished.result,
        CommandResult::Done(Reply::Ticket { ticket, .. }) if ticket.state == TicketState::Finished
    ));
    let rated = window1
        .execute(Command::Rate {
            number: "A001".into(),
            rating: RatingInput::Rated {
                score: 5,
                reasons: vec!["01".into()],
                comment: None,
                channel: RatingChannel::WindowTablet,
                indicators: Default::default(),
                case_number: None,
            },
        })
        .await
        .unwrap();
    assert!(matches!(rated.result, CommandResult::Done(_)));

    // A002: called at window 3, not there, marked no-show, re-queued, transferred, served.
    let called = window3
        .execute(Command::CallNext { window: 3 })
        .await
        .unwrap();
    assert_eq!(ticket_number(&called), "A002");
    window3
        .execute(Command::NoShow { window: 3 })
        .await
        .unwrap();
    window3
        .execute(Command::Requeue {
            number: "A002".into(),
        })
        .await
        .unwrap();
    window3
        .execute(Command::CallNext { window: 3 })
        .await
        .unwrap();
    let moved = window3
        .execute(Command::Transfer {
            window: 3,
            to: TransferTarget::Window(1),
        })
        .await
        .unwrap();
    assert!(matches!(moved.result, CommandResult::Done(_)));
    let at_one = window1
        .execute(Command::CallNext { window: 1 })
        .await
        .unwrap();
    assert_eq!(ticket_number(&at_one), "A002");

    // Pause and resume, and the engine's refusals come back as refusals, not errors.
    window3.execute(Command::Pause { window: 3 }).await.unwrap();
    let paused = window3
        .execute(Command::CallNext { window: 3 })
        .await
        .unwrap();
    assert_eq!(refusal_code(&paused), "window_paused");
    window3
        .execute(Command::Resume { window: 3 })
        .await
        .unwrap();
    let empty = window3
        .execute(Command::CallNext { window: 3 })
        .await
        .unwrap();
    assert_eq!(refusal_code(&empty), "queue_empty");

    // A booked citizen's check-in is a card tap, over TLS only: tests/lan/lan_cards.rs.

    let state = kiosk.state().await.unwrap();
    assert_eq!(state.last_seq, hall.last_seq().await);
    assert_eq!(
        state.ticket_by_number("A001").unwrap().state,
        TicketState::Finished
    );
    assert_eq!(
        state.ticket_by_number("A002").unwrap().state,
        TicketState::Called
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_command_id_acts_once_and_returns_the_first_answer() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let first = kiosk.execute_with_id("kiosk-7", issue("SB")).await.unwrap();
    let again = kiosk.execute_with_id("kiosk-7", issue("SB")).await.unwrap();
    assert_eq!(first, again);
    let state = hall.engine.state().await.unwrap();
    assert_eq!(state.tickets.len(), 1);

    // The same id for another command is a client bug, refused without acting.
    let reused = kiosk.execute_with_id("kiosk-7", issue("YB")).await;
    match reused {
        Err(ClientError::Rejected(e)) => {
            assert_eq!((e.status, e.code.as_str()), (409, "command_id_reused"))
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(hall.engine.state().await.unwrap().tickets.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_lost_on_the_way_is_recovered_by_retrying_the_same_id() {
    let mut hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    // The command reaches the hall node and acts, but the terminal never hears back...
    let http = reqwest::Client::new();
    let sent = http
        .post(format!("{}/api/v1/commands", hall.url()))
        .bearer_auth(kiosk.token())
        .json(&json!({"command_id": "lost-1", "command": {"command": "issue_ticket", "service": "SB"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    // ...and the link goes down before its retry.
    let addr = hall.unplug().await;
    let mut link = kiosk.link();
    let retry = tokio::spawn({
        let kiosk = kiosk.clone();
        async move { kiosk.execute_with_id("lost-1", issue("SB")).await }
    });
    tokio::time::timeout(
        Duration::from_secs(5),
        link.wait_for(|l| matches!(l, LinkState::Lost { .. })),
    )
    .await
    .expect("the terminal notices the hall node is gone")
    .unwrap();
    hall.plug_in(addr).await;
    let outcome = tokio::time::timeout(Duration::from_secs(10), retry)
        .await
        .expect("the retry goes through once the link is back")
        .unwrap()
        .unwrap();
    assert_eq!(ticket_number(&outcome), "A001");
    assert_eq!(*kiosk.link().borrow(), LinkState::Connected);
    assert_eq!(hall.engine.state().await.unwrap().tickets.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_limited_patience_gives_up_and_keeps_the_id() {
    let mut hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await.with_retry(Retry {
        first_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(50),
        patience: Some(Duration::from_millis(300)),
    });
    let addr = hall.unplug().await;
    let gave_up = kiosk.execute_with_id("patient-1", issue("SB")).await;
    assert!(
        matches!(&gave_up, Err(ClientError::GaveUp { command_id, .. }) if command_id == "patient-1")
    );
    hall.plug_in(addr).await;
    let outcome = kiosk
        .execute_with_id("patient-1", issue("SB"))
        .await
        .unwrap();
    assert_eq!(ticket_number(&outcome), "A001");
}

async fn next_event(
    events: &mut tokio::sync::mpsc::Receiver<hallq::queue::StoredEvent>,
) -> hallq::queue::StoredEvent {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("an event arrives")
        .expect("the follower runs")
}

/// Collects `n` events from a follower, failing after a few seconds.
async fn take_events(
    events: &mut tokio::sync::mpsc::Receiver<hallq::queue::StoredEvent>,
    n: usize,
) -> Vec<u64> {
    let mut seqs = Vec::new();
    while seqs.len() < n {
        seqs.push(next_event(events).await.seq);
    }
    seqs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_that_loses_the_link_resumes_without_missing_or_repeating_an_event() {
    let mut hall = TestHall::start().await;
    let display = hall.pair(Role::Display).await;
    let kiosk = hall.pair(Role::Kiosk).await;
    issue_tickets(&kiosk, "SB", 3).await;
    let mut events = display.follow(0);
    // The day opening and three tickets, from the store.
    assert_eq!(take_events(&mut events, 4).await, vec![1, 2, 3, 4]);

    let addr = hall.unplug().await;
    let mut link = display.link();
    tokio::time::timeout(
        Duration::from_secs(5),
        link.wait_for(|l| matches!(l, LinkState::Lost { .. })),
    )
    .await
    .expect("the display notices the link is gone")
    .unwrap();
    // The hall goes on while the display is cut off.
    for _ in 0..5 {
        hall.engine
            .execute(uuid::Uuid::now_v7().to_string(), issue("YB"))
            .await
            .unwrap();
    }
    hall.plug_in(addr).await;
    kiosk.execute(issue("SB")).await.unwrap();
    assert_eq!(
        take_events(&mut events, 6).await,
        vec![5, 6, 7, 8, 9, 10],
        "the gap is filled from the store, in order, once"
    );
    assert_eq!(*display.link().borrow(), LinkState::Connected);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), events.recv())
            .await
            .is_err(),
        "no event comes twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_resumes_from_last_event_id_and_live_events_follow_the_backlog() {
    let hall = TestHall::start().await;
    let display = hall.pair(Role::Display).await;
    let kiosk = hall.pair(Role::Kiosk).await;
    issue_tickets(&kiosk, "SB", 3).await;
    let mut response = reqwest::Client::new()
        .get(format!("{}/api/v1/events?after=0", hall.url()))
        .bearer_auth(display.token())
        .header("Last-Event-ID", "2")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    kiosk.execute(issue("SB")).await.unwrap();
    let mut parser = hallq::lan::client::SseParser::default();
    let mut ids = Vec::new();
    while ids.len() < 3 {
        let chunk = tokio::time::timeout(Duration::from_secs(5), response.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        for message in parser.push(&chunk) {
            assert_eq!(message.event.as_deref(), Some("ticket_issued"));
            ids.push(message.id.unwrap());
        }
    }
    assert_eq!(ids, ["3", "4", "5"], "Last-Event-ID wins over ?after=");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_display_never_receives_citizen_data_and_staff_no_id_hash() {
    let hall = TestHall::start().await;
    let display = hall.pair(Role::Display).await;
    let admin = hall.pair(Role::Admin).await;
    // A card's ticket, as the hall node's own kiosk takes it.
    let issued = hall
        .engine
        .execute(
            "card-ticket",
            Command::IssueTicket {
                service: "HJ".into(),
                citizen: Some(CitizenCard {
                    id_hash: "feedfacecafebeef0123456789abcdef".repeat(2),
                    masked_name: "李*四".into(),
                    birth_date: None,
                }),
                by_staff: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(ticket_number(&issued), "C001");
    let mut displayed = display.follow(0);
    let mut admin_sees = admin.follow(0);
    let issued = |e: &hallq::queue::StoredEvent| match &e.event {
        Event::TicketIssued { citizen, .. } => Some(citizen.clone()),
        _ => None,
    };
    loop {
        let e = next_event(&mut displayed).await;
        if let Some(citizen) = issued(&e) {
            assert_eq!(citizen, None);
            break;
        }
    }
    let state = display.state().await.unwrap();
    assert_eq!(state.ticket_by_number("C001").unwrap().citizen, None);
    let state = admin.state().await.unwrap();
    let citizen = state.ticket_by_number("C001").unwrap().citizen.clone();
    let citizen = citizen.unwrap();
    assert_eq!(citizen.masked_name, "李*四");
    assert_eq!(citizen.id_hash, "", "ID hashes stay on the hall node");
    loop {
        let e = next_event(&mut admin_sees).await;
        if let Some(citizen) = issued(&e) {
            let citizen = citizen.unwrap();
            assert_eq!(
                (citizen.masked_name.as_str(), citizen.id_hash.as_str()),
                ("李*四", "")
            );
            break;
        }
    }
}

/// One raw request and what should come back.
struct Bad {
    why: &'static str,
    method: reqwest::Method,
    path: &'static str,
    token: Option<String>,
    body: Option<Vec<u8>>,
    headers: Vec<(&'static str, &'static str)>,
    status: u16,
    code: &'static str,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_unauthorised_or_malformed_request_is_refused_and_changes_nothing() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let display = hall.pair(Role::Display).await;
    let window2 = hall.pair(Role::Counter { window: 2 }).await;
    let used_code = hall.server().mint_code(10).unwrap();
    HallClient::pair(hall.url(), &used_code, "first", Role::Kiosk)
        .await
        .unwrap();
    kiosk.execute_with_id("taken", issue("SB")).await.unwrap();
    let seq_before = hall.last_seq().await;
    let paired_before = hall.server().hall.registry.paired_count();

    let issue_body = |id: &str| {
        serde_json::to_vec(
            &json!({"command_id": id, "command": {"command": "issue_ticket", "service": "SB"}}),
        )
        .unwrap()
    };
    let k = || Some(kiosk.token().to_string());
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;
    let cases = vec![
        Bad { why: "no token", method: post.clone(), path: "/api/v1/commands", token: None,
              body: Some(issue_body("a1")), headers: vec![], status: 401, code: "unauthorized" },
        Bad { why: "forged token", method: post.clone(), path: "/api/v1/commands",
              token: Some("f".repeat(64)), body: Some(issue_body("a2")), headers: vec![],
              status: 401, code: "unauthorized" },
        Bad { why: "not a bearer token", method: post.clone(), path: "/api/v1/commands", token: None,
              body: Some(issue_body("a3")), headers: vec![("authorization", "Basic a2lvc2s6")],
              status: 401, code: "unauthorized" },
        Bad { why: "a display sends a command", method: post.clone(), path: "/api/v1/commands",
              token: Some(display.token().into()), body: Some(issue_body("a4")), headers: vec![],
              status: 403, code: "forbidden" },
        Bad { why: "window 2 acts for window 1", method: post.clone(), path: "/api/v1/commands",
              token: Some(window2.token().into()),
              body: Some(br#"{"command_id":"a5","command":{"command":"sign_in","window":1,"staff":"1"}}"#.to_vec()),
              headers: vec![], status: 403, code: "forbidden" },
        Bad { why: "a window terminal issues a ticket", method: post.clone(), path: "/api/v1/commands",
              token: Some(window2.token().into()), body: Some(issue_body("a6")), headers: vec![],
              status: 403, code: "forbidden" },
        Bad { why: "a kiosk calls a ticket", method: post.clone(), path: "/api/v1/commands", token: k(),
              body: Some(br#"{"command_id":"a7","command":{"command":"call_next","window":1}}"#.to_vec()),
              headers: vec![], status: 403, code: "forbidden" },
        Bad { why: "a kiosk issues as staff, outside opening hours' rules", method: post.clone(),
              path: "/api/v1/commands", token: k(),
              body: Some(br#"{"command_id":"a7s","command":{"command":"issue_ticket","service":"SB","by_staff":true}}"#.to_vec()),
              headers: vec![], status: 403, code: "forbidden" },
        Bad { why: "a kiosk books", method: post.clone(), path: "/api/v1/commands", token: k(),
              body: Some(br#"{"command_id":"a8","command":{"command":"cancel_booking","id":"x"}}"#.to_vec()),
              headers: vec![], status: 403, code: "forbidden" },
        Bad { why: "body over the limit", method: post.clone(), path: "/api/v1/commands", token: k(),
              body: Some(vec![b' '; 17 * 1024]), headers: vec![], status: 413, code: "body_too_large" },
        Bad { why: "not JSON", method: post.clone(), path: "/api/v1/commands", token: k(),
              body: Some(b"{command_id: a9".to_vec()), headers: vec![], status: 400, code: "malformed_json" },
        Bad { why: "empty body", method: post.clone(), path: "/api/v1/commands", token: k(),
              body: Some(Vec::new()), headers: vec![], status: 400, code: "malformed_json" },
        Bad { why: "unknown field in the request", method: post.clone(), path: "/api/v1/commands", token: k(),
              body: Some(br#"{"command_id":"b1","command":{"command":"issue_ticket","service":"SB"},"urgent":true}"#.to_vec()),
              headers: vec![], status: 422, code: "invalid_request" },
        Bad { why: "unknown field in the command", method: post.clone(), path: "/api/v1/commands", token: k(),
              body: Some(br#"{"command_id":"b2","command":{"command":"issue_ticket","service":"SB","vip":true}}"#.to_vec()),
              headers: vec![], status: 422, code: "invalid_request" },
        Bad { why: "unknown command", method: post.clone(), path: "/api/v1/commands", token: k(),
              body: Some(br#"{"command_id":"b3","command":{"command":"print_money"}}"#.to_vec()),
              headers: vec![], status: 422, code: "invalid_request" },
        Bad { why: "no command id", method: post.clone(), path: "/api/v1/commands", token: k(),
              body: Some(br#"{"command":{"command":"issue_ticket","service":"SB"}}"#.to_vec()),
              headers: vec![], status: 422, code: "invalid_request" },
        Bad { why: "a command id with spaces", method: post.clone(), path: "/api/v1/commands", token: k(),
              body: Some(issue_body("two words")), headers: vec![], status: 422, code: "bad_command_id" },
        Bad { why: "a used id for another command", method: post.clone(), path: "/api/v1/commands", token: k(),
              body: Some(br#"{"command_id":"taken","command":{"command":"issue_ticket","service":"YB"}}"#.to_vec()),
              headers: vec![], status: 409, code: "command_id_reused" },
        Bad { why: "state without a token", method: get.clone(), path: "/api/v1/state", token: None,
              body: None, headers: vec![], status: 401, code: "unauthorized" },
        Bad { why: "events without a token", method: get.clone(), path: "/api/v1/events", token: None,
              body: None, headers: vec![], status: 401, code: "unauthorized" },
        Bad { why: "events with a forged token in the URL", method: get.clone(),
              path: "/api/v1/events?access_token=forged", token: None, body: None, headers: vec![],
              status: 401, code: "unauthorized" },
        Bad { why: "a Last-Event-ID that is not a sequence", method: get.clone(), path: "/api/v1/events",
              token: k(), body: None, headers: vec![("last-event-id", "yesterday")], status: 400,
              code: "bad_last_event_id" },
        Bad { why: "a Last-Event-ID past the log's range", method: get.clone(), path: "/api/v1/events",
              token: k(), body: None, headers: vec![("last-event-id", "9223372036854775808")],
              status: 400, code: "bad_last_event_id" },
        Bad { why: "an ?after= past the log's range", method: get.clone(),
              path: "/api/v1/events?after=9223372036854775808", token: k(), body: None,
              headers: vec![], status: 400, code: "bad_after" },
        Bad { why: "the largest ?after= there is", method: get.clone(),
              path: "/api/v1/events?after=18446744073709551615", token: k(), body: None,
              headers: vec![], status: 400, code: "bad_after" },
        Bad { why: "a command id one over the limit", method: post.clone(), path: "/api/v1/commands",
              token: k(), body: Some(issue_body(&"x".repeat(MAX_TERMINAL_COMMAND_ID + 1))),
              headers: vec![], status: 422, code: "bad_command_id" },
        Bad { why: "an unknown query parameter", method: get.clone(), path: "/api/v1/events?since=3",
              token: k(), body: None, headers: vec![], status: 400, code: "bad_query" },
        Bad { why: "a wrong pairing code", method: post.clone(), path: "/api/v1/pair", token: None,
              body: Some(br#"{"code":"AAAA-BBBB-CC","name":"x","role":"admin"}"#.to_vec()),
              headers: vec![], status: 403, code: "forbidden" },
        Bad { why: "a pairing code used twice", method: post.clone(), path: "/api/v1/pair", token: None,
              body: Some(serde_json::to_vec(&json!({"code": used_code, "name": "again", "role": "admin"})).unwrap()),
              headers: vec![], status: 403, code: "forbidden" },
        Bad { why: "a counter paired without a window", method: post.clone(), path: "/api/v1/pair",
              token: None, body: Some(br#"{"code":"AAAA-BBBB-CC","name":"x","role":"counter"}"#.to_vec()),
              headers: vec![], status: 422, code: "invalid_request" },
        Bad { why: "a counter for a window the hall lacks", method: post.clone(), path: "/api/v1/pair",
              token: None, body: Some(br#"{"code":"AAAA-BBBB-CC","name":"x","role":"counter","window":99}"#.to_vec()),
              headers: vec![], status: 422, code: "invalid_request" },
        Bad { why: "an unknown field when pairing", method: post.clone(), path: "/api/v1/pair", token: None,
              body: Some(br#"{"code":"AAAA-BBBB-CC","name":"x","role":"admin","trust_me":1}"#.to_vec()),
              headers: vec![], status: 422, code: "invalid_request" },
        Bad { why: "a kiosk paired with a window", method: post.clone(), path: "/api/v1/pair", token: None,
              body: Some(br#"{"code":"AAAA-BBBB-CC","name":"x","role":"kiosk","window":1}"#.to_vec()),
              headers: vec![], status: 422, code: "invalid_request" },
        Bad { why: "an empty device name", method: post.clone(), path: "/api/v1/pair", token: None,
              body: Some(br#"{"code":"AAAA-BBBB-CC","name":"","role":"admin"}"#.to_vec()),
              headers: vec![], status: 422, code: "invalid_request" },
        Bad { why: "a device name with a leading space", method: post.clone(), path: "/api/v1/pair",
              token: None, body: Some(br#"{"code":"AAAA-BBBB-CC","name":" x","role":"admin"}"#.to_vec()),
              headers: vec![], status: 422, code: "invalid_request" },
        Bad { why: "a window number past u16", method: post.clone(), path: "/api/v1/commands",
              token: Some(window2.token().into()),
              body: Some(br#"{"command_id":"b4","command":{"command":"pause","window":70000}}"#.to_vec()),
              headers: vec![], status: 422, code: "invalid_request" },
        Bad { why: "a transfer to a service and a window at once", method: post.clone(),
              path: "/api/v1/commands", token: Some(window2.token().into()),
              body: Some(br#"{"command_id":"b5","command":{"command":"transfer","window":2,"to":{"service":"SB","window":1}}}"#.to_vec()),
              headers: vec![], status: 422, code: "invalid_request" },
        Bad { why: "an unknown path", method: get.clone(), path: "/api/v2/commands", token: k(),
              body: None, headers: vec![], status: 404, code: "not_found" },
    ];
    let http = reqwest::Client::new();
    for case in cases {
        let mut request = http.request(case.method, format!("{}{}", hall.url(), case.path));
        if let Some(token) = case.token {
            request = request.bearer_auth(token);
        }
        for (name, value) in case.headers {
            request = request.header(name, value);
        }
        if let Some(body) = case.body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        // Bounded: a request wrongly let through to the event stream would never end its body.
        let body: serde_json::Value =
            match tokio::time::timeout(Duration::from_secs(5), response.json()).await {
                Ok(body) => body.unwrap_or_default(),
                Err(_) => serde_json::Value::Null,
            };
        assert_eq!(
            (status, body["code"].as_str().unwrap_or_default()),
            (case.status, case.code),
            "{}: {body}",
            case.why
        );
        assert!(
            !body["message"].as_str().unwrap_or_default().is_empty(),
            "{}: the refusal says why",
            case.why
        );
    }
    assert_eq!(
        hall.last_seq().await,
        seq_before,
        "no refused request changed the hall"
    );
    assert_eq!(hall.server().hall.registry.paired_count(), paired_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_health_describe_the_hall() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let window1 = hall.pair(Role::Counter { window: 1 }).await;
    issue_tickets(&kiosk, "SB", 2).await;
    sign_in(&window1, 1).await;
    window1
        .execute(Command::CallNext { window: 1 })
        .await
        .unwrap();
    kiosk
        .execute(Command::ReportDevice {
            device: "kiosk-printer".into(),
            fault: Some(hallq::queue::DeviceFault {
                code: "paper_out".into(),
                message: "out of paper".into(),
            }),
        })
        .await
        .unwrap();
    let _ = reqwest::get(format!("{}/api/v1/state", hall.url())).await;

    let response = reqwest::get(format!("{}/metrics", hall.url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    for line in [
        "hallq_tickets{state=\"waiting\"} 1",
        "hallq_tickets{state=\"called\"} 1",
        "hallq_tickets_issued{service=\"SB\"} 2",
        "hallq_wait_to_call_seconds_count 1",
        "hallq_device_faults 1",
        "hallq_device_fault{device=\"kiosk-printer\",code=\"paper_out\"} 1",
        "hallq_lan_auth_failures_total 1",
        "hallq_lan_paired_terminals 2",
        "hallq_sync_lag_events 6",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(text.contains("# TYPE hallq_lan_commands_total counter"));

    let health = reqwest::get(format!("{}/healthz", hall.url()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body, json!({"status": "ok", "seq": 6}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_display_view_shows_calls_and_waiting_counts() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let window3 = hall.pair(Role::Counter { window: 3 }).await;
    let display = hall.pair(Role::Display).await;
    kiosk.execute(issue("SB")).await.unwrap();
    kiosk.execute(issue("SB")).await.unwrap();
    kiosk.execute(issue("YB")).await.unwrap();
    sign_in(&window3, 3).await;
    window3
        .execute(Command::CallNext { window: 3 })
        .await
        .unwrap();
    let view = display.display_view().await.unwrap();
    assert_eq!(view.calls.len(), 1);
    assert_eq!(
        (view.calls[0].number.as_str(), view.calls[0].window),
        ("A001", 3)
    );
    assert!(view.calls[0].waiting_for_citizen);
    let waiting = |code: &str| {
        view.waiting
            .iter()
            .find(|w| w.service == code)
            .unwrap()
            .count
    };
    assert_eq!((waiting("SB"), waiting("YB"), waiting("HJ")), (1, 1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_reading_late_gets_every_event_once_in_order() {
    let hall = TestHall::start().await;
    let display = hall.pair(Role::Display).await;
    // The display follows but reads nothing until the burst is over: its backlog waits in the
    // socket and the hall node's buffers, and must come out whole.
    let mut events = display.follow(0);
    for i in 0..1500 {
        let fault = (i % 2 == 0).then(|| hallq::queue::DeviceFault {
            code: "paper_out".into(),
            message: "out of paper".into(),
        });
        let command = Command::ReportDevice {
            device: "kiosk-printer".into(),
            fault,
        };
        hall.engine
            .execute(format!("toggle-{i}"), command)
            .await
            .unwrap();
    }
    let last = hall.last_seq().await;
    for expected in 1..=last {
        let event = next_event(&mut events).await;
        assert_eq!(event.seq, expected, "in order, none missing, none twice");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_pairing_codes_pauses_pairing_for_the_guesser_only() {
    let hall = TestHall::start().await;
    // Another host on the LAN: loopback answers every 127.x address, so the guesser is told apart
    // from staff by its source address alone.
    let guesser = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let staff = reqwest::Client::new();
    let attempt = |http: &reqwest::Client, code: String| {
        http.post(format!("{}/api/v1/pair", hall.url()))
            .json(&json!({"code": code, "name": "guess", "role": "admin"}))
            .send()
    };
    for guess in 0..10 {
        let response = attempt(&guesser, format!("GUESS-{guess:04}"))
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
    }
    let good = hall.server().mint_code(10).unwrap();
    let response = attempt(&guesser, good.clone()).await.unwrap();
    assert_eq!(response.status(), 429);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "pairing_paused");
    assert_eq!(hall.server().hall.registry.paired_count(), 0);

    let response = attempt(&staff, good).await.unwrap();
    assert_eq!(
        response.status(),
        201,
        "a valid code from elsewhere still pairs"
    );
    assert_eq!(hall.server().hall.registry.paired_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_terminals_choosing_the_same_command_id_do_not_share_it() {
    let hall = TestHall::start().await;
    let first_kiosk = hall.pair(Role::Kiosk).await;
    let second_kiosk = hall.pair(Role::Kiosk).await;
    let a = first_kiosk
        .execute_with_id("k-0001", issue("SB"))
        .await
        .unwrap();
    let b = second_kiosk
        .execute_with_id("k-0001", issue("SB"))
        .await
        .unwrap();
    assert_eq!(ticket_number(&a), "A001");
    assert_eq!(
        ticket_number(&b),
        "A002",
        "the second kiosk's command acted on its own"
    );
    assert_eq!(
        (a.command_id.as_str(), b.command_id.as_str()),
        ("k-0001", "k-0001")
    );
    // Another terminal's id for a different command is not a reuse either.
    let c = second_kiosk
        .execute_with_id("k-0002", issue("YB"))
        .await
        .unwrap();
    let d = first_kiosk
        .execute_with_id("k-0002", issue("SB"))
        .await
        .unwrap();
    assert_eq!(
        (ticket_number(&c).as_str(), ticket_number(&d).as_str()),
        ("B001", "A003")
    );
    assert_eq!(hall.engine.state().await.unwrap().tickets.len(), 4);
}

/// The `maxLength` of `CommandRequest.command_id` in `docs/openapi.yaml`.
fn documented_command_id_limit() -> usize {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.yaml")).unwrap();
    let request = spec
        .split("\n    CommandRequest:")
        .nth(1)
        .expect("the spec describes CommandRequest");
    let command_id = request
        .split("\n        command_id:")
        .nth(1)
        .expect("CommandRequest has a command_id");
    let line = command_id
        .lines()
        .take_while(|l| l.is_empty() || l.starts_with("          "))
        .find_map(|l| l.trim_start().strip_prefix("maxLength:"))
        .expect("command_id has a maxLength");
    line.trim()
        .parse()
        .unwrap_or_else(|_| panic!("maxLength {line:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_command_id_limit_is_the_one_enforced() {
    assert_eq!(
        documented_command_id_limit(),
        MAX_TERMINAL_COMMAND_ID,
        "docs/openapi.yaml and the API agree"
    );
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let longest = "x".repeat(MAX_TERMINAL_COMMAND_ID);
    let outcome = kiosk.execute_with_id(&longest, issue("SB")).await.unwrap();
    assert_eq!(
        outcome.command_id, longest,
        "the longest documented id is taken"
    );
    assert_eq!(ticket_number(&outcome), "A001");
}

/// Sends `body` to `path` as `token`'s terminal and returns the status and the JSON answer.
async fn post_json(
    hall: &TestHall,
    token: Option<&str>,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", hall.url()))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// Requests at the edges of what `docs/openapi.yaml` allows are taken, and answered as it says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_description_allows_the_hall_node_accepts() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let admin = hall.pair(Role::Admin).await;
    let command =
        |id: &str, command: serde_json::Value| json!({"command_id": id, "command": command});

    // A 200 answer's result is `{"done": {"kind": ...}}`.
    let (status, issued) = post_json(
        &hall,
        Some(kiosk.token()),
        "/api/v1/commands",
        command("c1", json!({"command": "issue_ticket", "service": "SB"})),
    )
    .await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(issued["result"]["done"]["kind"], "ticket");
    assert_eq!(issued["result"]["done"]["ticket"]["number"], "A001");

    // Optional strings may be sent as null.
    let (status, printed) = post_json(
        &hall,
        Some(kiosk.token()),
        "/api/v1/commands",
        command(
            "c2",
            json!({"command": "record_print", "number": "A001", "printed": true, "detail": null}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{printed}");

    // Length limits count characters, as JSON Schema does, not bytes.
    let device = "打".repeat(64);
    let (status, reported) = post_json(
        &hall,
        Some(kiosk.token()),
        "/api/v1/commands",
        command(
            "c3",
            json!({"command": "report_device", "device": device, "fault": null}),
        ),
    )
    .await;
    assert_eq!(
        status, 200,
        "a 64-character device name is taken: {reported}"
    );
    let (status, booked) = post_json(
        &hall,
        Some(admin.token()),
        "/api/v1/commands",
        command(
            "c4",
            json!({"command": "book", "booking": {
            "id": "预".repeat(64), "service": "HJ", "day": "2026-11-26", "start": "9:30",
            "end": "10:00", "id_hash": "feedfacecafebeef".repeat(4), "masked_name": "王*"}}),
        ),
    )
    .await;
    assert_eq!(
        status, 200,
        "a 64-character booking id and an H:MM time are taken: {booked}"
    );

    let code = hall.server().mint_code(10).unwrap();
    let name = "窗".repeat(64);
    let (status, paired) = post_json(
        &hall,
        None,
        "/api/v1/pair",
        json!({"code": code, "name": name, "role": "counter", "window": 1}),
    )
    .await;
    assert_eq!(status, 201, "{paired}");
    assert_eq!(
        (paired["role"].as_str(), paired["window"].as_u64()),
        (Some("counter"), Some(1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_travels_in_the_header_in_any_case_and_in_the_address_for_reads_only() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let http = reqwest::Client::new();
    let body = |id: &str| json!({"command_id": id, "command": {"command": "issue_ticket", "service": "SB"}});

    // A command with its token in the address would leave the token in every log on the way.
    let in_address = http
        .post(format!(
            "{}/api/v1/commands?access_token={}",
            hall.url(),
            kiosk.token()
        ))
        .json(&body("q1"))
        .send()
        .await
        .unwrap();
    assert_eq!(in_address.status(), 401);
    assert_eq!(
        hall.engine.state().await.unwrap().tickets.len(),
        0,
        "nothing issued"
    );

    // The scheme's name is case-insensitive.
    let lowercase = http
        .post(format!("{}/api/v1/commands", hall.url()))
        .header("authorization", format!("bearer {}", kiosk.token()))
        .json(&body("q2"))
        .send()
        .await
        .unwrap();
    assert_eq!(lowercase.status(), 200);

    // Reads still take it from the address, as a browser's EventSource must send it.
    let read = http
        .get(format!(
            "{}/api/v1/state?access_token={}",
            hall.url(),
            kiosk.token()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_at_a_window_issue_a_ticket_by_hand_but_not_as_a_kiosk_would() {
    let hall = TestHall::start().await;
    let window2 = hall.pair(Role::Counter { window: 2 }).await;
    let by_hand = window2
        .execute(Command::IssueTicket {
            service: "SB".into(),
            citizen: None,
            by_staff: true,
        })
        .await
        .unwrap();
    assert!(
        matches!(by_hand.result, CommandResult::Done(Reply::Ticket { .. })),
        "{by_hand:?}"
    );
    let as_a_kiosk = window2.execute(issue("SB")).await;
    assert!(
        matches!(&as_a_kiosk, Err(ClientError::Rejected(e)) if e.status == 403),
        "{as_a_kiosk:?}"
    );
    assert_eq!(hall.engine.state().await.unwrap().tickets.len(), 1);
}
