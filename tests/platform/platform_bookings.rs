//! Bookings down: the hall pulls the bookings added, changed and cancelled at the reference
//! receiver, over loopback, and the kiosk's check-in follows them; a restarted hall resumes from its
//! cursor; what is forged or malformed changes nothing; a list left stale brings the hall's fallback.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::Uri;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use hallq::config::{PlatformConfig, StaleBookings};
use hallq::platform::booking_wire::{BOOKINGS_PATH, BookingPage};
use hallq::platform::downlink::{Downlink, DownlinkSettings};
use hallq::platform::receiver::{BookingInput, Receiver};
use hallq::platform::signing::{self, PlatformSecret};
use hallq::queue::{AppointmentState, Command, Event};
use hallq::store::BookingsCursor;

use crate::common::{FRIDAY_10AM, Hall, MINUTE, card};
use crate::platform_support::*;

const WAIT: Duration = Duration::from_secs(10);

fn friday() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
}

fn booking(id: &str, start: &str, end: &str, citizen: u32) -> BookingInput {
    BookingInput {
        id: id.into(),
        service: "SB".into(),
        day: friday(),
        start: start.into(),
        end: end.into(),
        id_hash: card(citizen).id_hash,
        masked_name: card(citizen).masked_name,
    }
}

fn downlink_settings(hall: &Hall, url: &str) -> DownlinkSettings {
    DownlinkSettings {
        link: settings(hall, url, 100, Duration::from_secs(2)),
        pull_every: Duration::from_millis(30),
        stale_after: Duration::from_secs(600),
        page_size: 2,
    }
}

/// Waits until the hall's state satisfies `done`.
async fn wait_for_state(hall: &Hall, done: impl Fn(&hallq::queue::HallState) -> bool) -> bool {
    let give_up = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < give_up {
        if done(&hall.state().await) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

fn booking_events(hall: &Hall) -> Vec<Event> {
    hall.events()
        .into_iter()
        .map(|e| e.event)
        .filter(|e| {
            matches!(
                e,
                Event::AppointmentBooked { .. }
                    | Event::AppointmentRescheduled { .. }
                    | Event::AppointmentCancelled { .. }
            )
        })
        .collect()
}

async fn check_in(hall: &Hall, citizen: u32) -> hallq::store::CommandResult {
    hall.exec(Command::CheckIn {
        citizen: card(citizen),
    })
    .await
    .result
}

fn refusal_code(result: &hallq::store::CommandResult) -> &str {
    match result {
        hallq::store::CommandResult::Refused(r) => &r.code,
        hallq::store::CommandResult::Done(_) => "done",
    }
}

#[tokio::test]
async fn bookings_added_changed_and_cancelled_reach_the_kiosk() {
    let hall = Hall::new();
    let dir = tempfile::tempdir().unwrap();
    let id = hall_id(&hall);
    let (receiver, platform_clock) = start_receiver(dir.path(), &id, loopback().await);
    receiver
        .add_booking(&id, &booking("B1", "10:00", "10:30", 1))
        .unwrap();
    receiver
        .add_booking(&id, &booking("B2", "11:00", "11:30", 2))
        .unwrap();
    receiver
        .add_booking(&id, &booking("B3", "10:00", "10:30", 3))
        .unwrap();
    let downlink =
        Downlink::start(&hall.engine, downlink_settings(&hall, &receiver.url())).unwrap();
    assert!(wait_for_state(&hall, |s| s.appointments.len() == 3).await);

    // 10:00: B2's citizen is early, with the plain message.
    let early = check_in(&hall, 2).await;
    let hallq::store::CommandResult::Refused(early) = early else {
        panic!("{early:?}")
    };
    assert_eq!(early.code, "too_early");
    assert_eq!(
        early.message,
        "your slot is 11:00-11:30; check-in opens at 10:30"
    );

    // Moved to 10:15 at the platform: the citizen checks in now, for the new slot.
    receiver
        .change_booking(&id, "B2", "SB", friday(), "10:15", "10:45")
        .unwrap();
    assert!(wait_for_state(&hall, |s| s.appointments["B2"].version == 2).await);
    let moved = hall.ticket(Command::CheckIn { citizen: card(2) }).await;
    let slot = moved.appointment.expect("an appointment ticket");
    assert_eq!(slot.appointment_id, "B2");
    assert_eq!(slot.start_ms, FRIDAY_10AM + 15 * MINUTE);

    // Cancelled at the platform: the kiosk refuses politely.
    receiver.cancel_booking(&id, "B3").unwrap();
    assert!(
        wait_for_state(&hall, |s| s.appointments["B3"].state
            == AppointmentState::Cancelled)
        .await
    );
    let cancelled = check_in(&hall, 3).await;
    assert_eq!(refusal_code(&cancelled), "no_booking", "{cancelled:?}");

    // 10:20: B1's citizen is late.
    hall.clock.advance(20 * MINUTE);
    platform_clock.advance(20 * MINUTE);
    let late = check_in(&hall, 1).await;
    assert_eq!(refusal_code(&late), "too_late", "{late:?}");

    // A change of a booking already checked in is not taken: the citizen keeps their ticket.
    let refused_before = downlink
        .status()
        .refused
        .load(std::sync::atomic::Ordering::Relaxed);
    receiver
        .change_booking(&id, "B2", "SB", friday(), "16:00", "16:30")
        .unwrap();
    assert!(
        wait_until(WAIT, || downlink
            .status()
            .refused
            .load(std::sync::atomic::Ordering::Relaxed)
            > refused_before)
        .await
    );
    let state = hall.state().await;
    assert_eq!(state.appointments["B2"].state, AppointmentState::CheckedIn);
    assert_eq!(state.appointments["B2"].start_ms, FRIDAY_10AM + 15 * MINUTE);
    downlink.stop().await;
    receiver.stop().await;
}

/// A stand-in platform in front of the receiver: records each bookings request's query, and answers
/// with the next canned body while it has one, passing the request on otherwise.
struct StandIn {
    url: String,
    queries: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct StandInState {
    upstream: String,
    queries: Arc<Mutex<Vec<String>>>,
    canned: Arc<Mutex<VecDeque<(StatusCode, String)>>>,
}

impl StandIn {
    async fn start(upstream: &str, canned: Vec<(StatusCode, String)>) -> StandIn {
        let listener = loopback().await;
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = StandInState {
            upstream: upstream.to_string(),
            queries: Arc::default(),
            canned: Arc::new(Mutex::new(canned.into())),
        };
        let queries = state.queries.clone();
        let app = axum::Router::new()
            .route(BOOKINGS_PATH, axum::routing::get(stand_in))
            .with_state(state);
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        StandIn { url, queries, task }
    }

    fn queries(&self) -> Vec<String> {
        self.queries.lock().unwrap().clone()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn stand_in(State(state): State<StandInState>, uri: Uri, headers: HeaderMap) -> Response {
    state
        .queries
        .lock()
        .unwrap()
        .push(uri.query().unwrap_or("").to_string());
    if let Some((status, body)) = state.canned.lock().unwrap().pop_front() {
        return (status, body).into_response();
    }
    let mut request = reqwest::Client::new().get(format!(
        "{}{}",
        state.upstream,
        uri.path_and_query().unwrap()
    ));
    for name in [
        signing::HALL_HEADER,
        signing::TIMESTAMP_HEADER,
        signing::NONCE_HEADER,
        signing::SIGNATURE_HEADER,
    ] {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value.to_str().unwrap());
        }
    }
    let response = request.send().await.unwrap();
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    (status, response.bytes().await.unwrap().to_vec()).into_response()
}

#[tokio::test]
async fn a_restarted_hall_resumes_from_its_cursor_and_a_page_pulled_again_changes_nothing() {
    let mut hall = Hall::new();
    let dir = tempfile::tempdir().unwrap();
    let id = hall_id(&hall);
    let (receiver, _clock) = start_receiver(dir.path(), &id, loopback().await);
    for (n, b) in ["B1", "B2", "B3"].into_iter().enumerate() {
        receiver
            .add_booking(&id, &booking(b, "11:00", "11:30", n as u32 + 1))
            .unwrap();
    }
    let platform = StandIn::start(&receiver.url(), Vec::new()).await;
    let downlink = Downlink::start(&hall.engine, downlink_settings(&hall, &platform.url)).unwrap();
    assert!(wait_for_state(&hall, |s| s.appointments.len() == 3).await);
    assert!(
        wait_until(WAIT, || downlink
            .status()
            .after
            .load(std::sync::atomic::Ordering::Relaxed)
            == 3)
        .await
    );
    downlink.stop().await;
    assert_eq!(
        BookingsCursor::open(&hall.db_path())
            .unwrap()
            .after()
            .unwrap(),
        3
    );

    hall.restart();
    receiver
        .add_booking(&id, &booking("B4", "11:00", "11:30", 4))
        .unwrap();
    let asked_before = platform.queries().len();
    let downlink = Downlink::start(&hall.engine, downlink_settings(&hall, &platform.url)).unwrap();
    assert!(wait_for_state(&hall, |s| s.appointments.contains_key("B4")).await);
    assert_eq!(
        platform.queries()[asked_before],
        "after=3&limit=2",
        "the restarted hall asks from its cursor"
    );
    downlink.stop().await;
    assert_eq!(booking_events(&hall).len(), 4, "each booking once");

    // The cursor's write lost (a crash between the commit and it): the same pages again change
    // nothing.
    let log_before = hall.events().len();
    {
        let conn = rusqlite::Connection::open(hall.db_path()).unwrap();
        conn.execute(
            "UPDATE hall_meta SET value = '0' WHERE key = ?1",
            [hallq::store::BOOKINGS_CURSOR_KEY],
        )
        .unwrap();
    }
    let downlink = Downlink::start(&hall.engine, downlink_settings(&hall, &platform.url)).unwrap();
    assert!(
        wait_until(WAIT, || downlink
            .status()
            .after
            .load(std::sync::atomic::Ordering::Relaxed)
            == 4)
        .await
    );
    assert_eq!(
        downlink
            .status()
            .refused
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    downlink.stop().await;
    let new_events: Vec<_> = hall.events()[log_before..]
        .iter()
        .map(|e| e.event.kind())
        .collect();
    assert!(
        new_events.iter().all(|k| *k == "bookings_current"),
        "nothing but the list marked current: {new_events:?}"
    );
    receiver.stop().await;
}

#[tokio::test]
async fn a_malformed_page_of_bookings_changes_nothing() {
    let hall = Hall::new();
    let dir = tempfile::tempdir().unwrap();
    let id = hall_id(&hall);
    let (receiver, _clock) = start_receiver(dir.path(), &id, loopback().await);
    receiver
        .add_booking(&id, &booking("B1", "11:00", "11:30", 1))
        .unwrap();
    let good = |changes: serde_json::Value, next_after: u64| {
        serde_json::json!({
            "hall_id": id, "changes": changes, "next_after": next_after, "more": false,
            "platform_time_ms": FRIDAY_10AM,
        })
    };
    let change = |seq: u64, id_hash: &str, name: &str| {
        serde_json::json!({
            "change_seq": seq, "id": format!("X{seq}"), "version": 1, "status": "booked",
            "service": "SB", "day": "2026-11-27", "start": "11:00", "end": "11:30",
            "id_hash": id_hash, "masked_name": name,
        })
    };
    let hash = card(9).id_hash;
    let canned = vec![
        (StatusCode::OK, "<html>not json</html>".to_string()),
        // The first change is good, the second is not in order: neither is taken.
        (
            StatusCode::OK,
            good(
                serde_json::json!([change(5, &hash, "张*三"), change(4, &hash, "张*三")]),
                4,
            )
            .to_string(),
        ),
        // An ID number where the keyed hash belongs.
        (
            StatusCode::OK,
            good(
                serde_json::json!([change(1, "11010519491231002X", "张*三")]),
                1,
            )
            .to_string(),
        ),
        (
            StatusCode::OK,
            good(serde_json::json!([change(1, &hash, "张三丰")]), 1).to_string(),
        ),
        (
            StatusCode::OK,
            good(serde_json::json!([change(1, &hash, "张*三")]), 1)
                .to_string()
                .replace("\"more\"", "\"extra\":1,\"more\""),
        ),
        (StatusCode::OK, "{\"hall_id\":".to_string()),
    ];
    let malformed = canned.len();
    let platform = StandIn::start(&receiver.url(), canned).await;
    let downlink = Downlink::start(&hall.engine, downlink_settings(&hall, &platform.url)).unwrap();
    assert!(wait_for_state(&hall, |s| s.appointments.contains_key("B1")).await);
    let status = downlink.status();
    assert_eq!(
        status.failures.load(std::sync::atomic::Ordering::Relaxed),
        malformed as u64
    );
    assert!(
        platform.queries()[..=malformed]
            .iter()
            .all(|q| q == "after=0&limit=2"),
        "the cursor stayed: {:?}",
        platform.queries()
    );
    let state = hall.state().await;
    assert_eq!(
        state.appointments.keys().collect::<Vec<_>>(),
        ["B1"],
        "none of the malformed pages' bookings"
    );
    downlink.stop().await;
    receiver.stop().await;
}

async fn get_bookings(
    receiver: &Receiver,
    query: &str,
    signature: Option<signing::Signature>,
) -> (u16, serde_json::Value) {
    let mut request =
        reqwest::Client::new().get(format!("{}{BOOKINGS_PATH}?{query}", receiver.url()));
    if let Some(signature) = signature {
        for (name, value) in signature.headers() {
            request = request.header(name, value);
        }
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn forged_unsigned_and_tampered_booking_requests_are_refused() {
    let hall = Hall::new();
    let dir = tempfile::tempdir().unwrap();
    let id = hall_id(&hall);
    let (receiver, _clock) = start_receiver(dir.path(), &id, loopback().await);
    receiver
        .add_booking(&id, &booking("B1", "11:00", "11:30", 1))
        .unwrap();
    let now_s = FRIDAY_10AM / 1000;
    let sign = |key: &PlatformSecret, path: &str, at_s: i64| {
        signing::sign(key, "GET", path, &id, at_s, b"")
    };
    let path = format!("{BOOKINGS_PATH}?after=0&limit=10");
    let forger = PlatformSecret::from_bytes(&[9; 32]).unwrap();
    for (query, signature, code) in [
        ("after=0&limit=10", None, "missing_signature"),
        (
            "after=0&limit=10",
            Some(sign(&forger, &path, now_s)),
            "bad_signature",
        ),
        // Signed for one cursor, sent with another.
        (
            "after=5&limit=10",
            Some(sign(&secret(), &path, now_s)),
            "bad_signature",
        ),
        (
            "after=0&limit=10",
            Some(sign(&secret(), &path, now_s - 3600)),
            "stale_timestamp",
        ),
    ] {
        let (status, body) = get_bookings(&receiver, query, signature).await;
        assert_eq!((status, body["code"].as_str()), (401, Some(code)), "{body}");
        assert!(
            body.get("changes").is_none(),
            "no booking in a refusal: {body}"
        );
    }
    let signed = sign(&secret(), &path, now_s);
    let (status, body) = get_bookings(&receiver, "after=0&limit=10", Some(signed.clone())).await;
    assert_eq!(status, 200, "{body}");
    let page: BookingPage = serde_json::from_value(body).unwrap();
    assert_eq!(
        (page.changes.len(), page.next_after, page.platform_time_ms),
        (1, 1, FRIDAY_10AM)
    );
    let (status, body) = get_bookings(&receiver, "after=0&limit=10", Some(signed)).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("nonce_reused")));
    let bad_query = format!("{BOOKINGS_PATH}?after=x");
    let (status, body) = get_bookings(
        &receiver,
        "after=x",
        Some(sign(&secret(), &bad_query, now_s)),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("malformed_query"))
    );
    receiver.stop().await;
}

#[tokio::test]
async fn the_receiver_takes_no_id_number_and_no_unmasked_name() {
    let dir = tempfile::tempdir().unwrap();
    let hall = Hall::new();
    let (receiver, _clock) = start_receiver(dir.path(), "hall", loopback().await);
    let mut number = booking("B1", "11:00", "11:30", 1);
    number.id_hash = "11010519491231002X".into();
    let mut name = booking("B1", "11:00", "11:30", 1);
    name.masked_name = "张三丰".into();
    for bad in [number, name] {
        assert!(receiver.add_booking("hall", &bad).is_err());
    }
    assert!(
        receiver
            .change_booking("hall", "B1", "SB", friday(), "11:00", "11:30")
            .is_err()
    );
    drop(hall);
    receiver.stop().await;
}

fn hall_with_fallback(fallback: StaleBookings) -> Hall {
    let mut setup = hallq::config::example();
    let mut platform = PlatformConfig::new("http://127.0.0.1:1", "unused");
    platform.insecure_http_for_tests = true;
    platform.stale_bookings = fallback;
    setup.config.platform = Some(platform);
    Hall::with_setup(setup)
}

/// A platform that is not there: a port bound and closed again.
async fn nowhere() -> String {
    let listener = loopback().await;
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

#[tokio::test]
async fn a_stale_list_tells_the_kiosk_then_staff_check_citizens_in_until_a_pull_succeeds() {
    let hall = hall_with_fallback(StaleBookings::StaffCheckIn);
    let mut settings = downlink_settings(&hall, &nowhere().await);
    settings.stale_after = Duration::from_millis(300);
    let downlink = Downlink::start(&hall.engine, settings).unwrap();
    assert!(wait_for_state(&hall, |s| s.bookings_stale).await);
    let went_stale = hall
        .events()
        .iter()
        .filter(|e| matches!(e.event, Event::BookingsWentStale { .. }))
        .count();
    assert_eq!(went_stale, 1, "recorded once");

    // The kiosk sends a card without a booking to staff; the window issues the ticket.
    let at_kiosk = check_in(&hall, 1).await;
    assert_eq!(refusal_code(&at_kiosk), "bookings_stale_ask_staff");
    let by_staff = hall
        .ticket(Command::IssueTicket {
            service: "CRJ".into(),
            citizen: Some(card(1)),
            by_staff: true,
        })
        .await;
    assert_eq!(by_staff.service, "CRJ");
    downlink.stop().await;

    // The platform back: the next pull marks the list current, and the rule is the usual one.
    let dir = tempfile::tempdir().unwrap();
    let (receiver, _clock) = start_receiver(dir.path(), &hall_id(&hall), loopback().await);
    let downlink =
        Downlink::start(&hall.engine, downlink_settings(&hall, &receiver.url())).unwrap();
    assert!(wait_for_state(&hall, |s| !s.bookings_stale).await);
    assert_eq!(refusal_code(&check_in(&hall, 2).await), "no_booking");
    downlink.stop().await;
    receiver.stop().await;
}

#[tokio::test]
async fn a_stale_list_with_walk_in_gives_a_card_a_walk_in_ticket_for_an_appointment_only_service() {
    let hall = hall_with_fallback(StaleBookings::WalkIn);
    let issue = || Command::IssueTicket {
        service: "CRJ".into(),
        citizen: Some(card(1)),
        by_staff: false,
    };
    assert_eq!(hall.refused(issue()).await.code, "appointment_only");
    let mut settings = downlink_settings(&hall, &nowhere().await);
    settings.stale_after = Duration::from_millis(300);
    let downlink = Downlink::start(&hall.engine, settings).unwrap();
    assert!(wait_for_state(&hall, |s| s.bookings_stale).await);
    let ticket = hall.ticket(issue()).await;
    assert_eq!(ticket.service, "CRJ");
    assert_eq!(ticket.appointment, None);
    downlink.stop().await;
}

#[tokio::test]
async fn the_wait_for_a_stale_list_runs_on_across_a_restart() {
    let mut hall = hall_with_fallback(StaleBookings::StaffCheckIn);
    let dir = tempfile::tempdir().unwrap();
    let (receiver, _clock) = start_receiver(dir.path(), &hall_id(&hall), loopback().await);
    let downlink =
        Downlink::start(&hall.engine, downlink_settings(&hall, &receiver.url())).unwrap();
    assert!(
        wait_until(WAIT, || downlink
            .status()
            .pulls
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0)
        .await
    );
    downlink.stop().await;
    receiver.stop().await;
    let cursor = BookingsCursor::open(&hall.db_path()).unwrap();
    assert_eq!(cursor.last_pull_ms().unwrap(), Some(FRIDAY_10AM));

    // Six minutes later the board restarts and the platform is gone: four minutes are left of the
    // ten, so the list is not stale yet.
    hall.clock.advance(6 * MINUTE);
    hall.restart();
    let nowhere = nowhere().await;
    let downlink = Downlink::start(&hall.engine, downlink_settings(&hall, &nowhere)).unwrap();
    assert!(
        wait_until(WAIT, || downlink
            .status()
            .failures
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0)
        .await
    );
    downlink.stop().await;
    assert!(!hall.state().await.bookings_stale);

    // Five minutes more and another restart: eleven minutes since the last pull, stale at the
    // first failed pull rather than ten minutes after the restart.
    hall.clock.advance(5 * MINUTE);
    hall.restart();
    let downlink = Downlink::start(&hall.engine, downlink_settings(&hall, &nowhere)).unwrap();
    assert!(wait_for_state(&hall, |s| s.bookings_stale).await);
    downlink.stop().await;
    let since = hall
        .events()
        .iter()
        .find_map(|e| match e.event {
            Event::BookingsWentStale { last_pull_ms } => Some(last_pull_ms),
            _ => None,
        })
        .unwrap();
    assert_eq!(since, Some(FRIDAY_10AM), "stale since the kept pull");
    assert_eq!(cursor.last_pull_ms().unwrap(), Some(FRIDAY_10AM));
}
