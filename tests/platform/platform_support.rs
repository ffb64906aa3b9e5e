//! A hall with its uploader, the reference receiver, and a faulty stand-in platform.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hallq::clock::ManualClock;
use hallq::platform::receiver::{Receiver, ReceiverSettings};
use hallq::platform::signing::{self, PlatformSecret};
use hallq::platform::uplink::{Uplink, UplinkSettings};
use hallq::queue::Command;
use hallq::retry::Backoff;

use crate::common::{FRIDAY_10AM, Hall};

pub fn secret() -> PlatformSecret {
    PlatformSecret::from_bytes(b"the-hall-secret-for-tests-0123456789").unwrap()
}

/// The example hall without daily caps, so a test can issue thousands of tickets.
pub fn uncapped_hall() -> Hall {
    let mut setup = hallq::config::example();
    for service in &mut setup.config.services {
        service.daily_cap = None;
    }
    Hall::with_setup(setup)
}

pub fn hall_id(hall: &Hall) -> String {
    hall.setup.config.hall.id.clone()
}

/// Issues `n` tickets at once (the engine writes them in a few group commits).
pub async fn issue_many(hall: &Hall, n: usize) {
    let runs: Vec<_> = (0..n)
        .map(|i| {
            let engine = hall.engine.clone();
            let id = format!("bulk-{}-{i}", uuid::Uuid::now_v7());
            tokio::spawn(async move {
                engine
                    .execute(
                        id,
                        Command::IssueTicket {
                            service: "SB".into(),
                            citizen: None,
                            by_staff: false,
                        },
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    for run in runs {
        run.await.unwrap();
    }
}

/// Settings that retry fast, so faults cost a test little time.
pub fn settings(hall: &Hall, url: &str, batch_size: usize, timeout: Duration) -> UplinkSettings {
    UplinkSettings {
        url: url.to_string(),
        hall_id: hall_id(hall),
        secret: secret(),
        batch_size,
        timeout,
        backoff: Backoff {
            first: Duration::from_millis(40),
            cap: Duration::from_millis(200),
        },
        ca_pem: None,
        allow_plain_http: true,
        client_identity: None,
    }
}

pub fn start_uplink(hall: &Hall, settings: UplinkSettings) -> Uplink {
    Uplink::start(&hall.engine, settings).unwrap()
}

/// A receiver on `listener`, its database in `dir`, its clock at the hall's time.
pub fn start_receiver(
    dir: &std::path::Path,
    hall_id: &str,
    listener: tokio::net::TcpListener,
) -> (Receiver, Arc<ManualClock>) {
    start_receiver_with_skew(dir, hall_id, listener, 300)
}

/// [`start_receiver`], accepting request timestamps up to `max_skew_s` from its clock.
pub fn start_receiver_with_skew(
    dir: &std::path::Path,
    hall_id: &str,
    listener: tokio::net::TcpListener,
    max_skew_s: i64,
) -> (Receiver, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(FRIDAY_10AM));
    let receiver = Receiver::start(
        listener,
        ReceiverSettings {
            db: dir.join("platform.db"),
            secrets: HashMap::from([(hall_id.to_string(), secret())]),
            max_skew_s,
            clock: clock.clone(),
            tls: None,
            client_ca_pem: None,
        },
    )
    .unwrap();
    (receiver, clock)
}

pub async fn loopback() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// Waits until `done` holds, at most `limit`.
pub async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let give_up = Instant::now() + limit;
    while Instant::now() < give_up {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    done()
}

/// The receiver holds every event of the hall exactly once, in the hall's order, with the hall's
/// event ids.
pub fn assert_holds_the_whole_log(receiver: &Receiver, hall: &Hall) {
    let log = hall.events();
    let held = receiver.events(&hall_id(hall)).unwrap();
    let held_ids: Vec<(u64, String)> = held.iter().map(|(s, id, _)| (*s, id.clone())).collect();
    let log_ids: Vec<(u64, String)> = log
        .iter()
        .map(|e| (e.seq, e.event_id.to_string()))
        .collect();
    assert_eq!(held_ids.len(), log_ids.len(), "as many events as the log");
    assert_eq!(held_ids, log_ids, "each once, in order");
    assert_eq!(
        receiver.acked_through(&hall_id(hall)).unwrap(),
        log.last().unwrap().seq
    );
}

/// What the stand-in platform does to one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// 500, the request not passed on.
    ServerError,
    /// 429 with `Retry-After`, not passed on.
    Throttle { retry_after_s: u64 },
    /// 503 with `Retry-After`, not passed on.
    Unavailable { retry_after_s: u64 },
    /// Passed on (the receiver stores it), answered 200 with a body that is no acknowledgement.
    Garbage,
    /// Passed on, then answered only after `Duration`: past the uploader's timeout.
    Slow(Duration),
    /// Passed on, the acknowledgement cut in the middle.
    Truncated,
    /// Passed on, the platform's time in the answer replaced by this one.
    WrongTime(i64),
}

/// A platform in front of the receiver that applies one fault per request, in order, and passes
/// requests through once the faults run out.
pub struct FaultyPlatform {
    pub addr: SocketAddr,
    pub faults: Arc<Mutex<VecDeque<Fault>>>,
    /// When each request arrived.
    pub arrivals: Arc<Mutex<Vec<Instant>>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    client: reqwest::Client,
    faults: Arc<Mutex<VecDeque<Fault>>>,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl FaultyPlatform {
    pub async fn start(upstream: &str, faults: Vec<Fault>) -> FaultyPlatform {
        let listener = loopback().await;
        let addr = listener.local_addr().unwrap();
        let proxy = Proxy {
            upstream: upstream.to_string(),
            client: reqwest::Client::new(),
            faults: Arc::new(Mutex::new(faults.into())),
            arrivals: Arc::default(),
        };
        let faults = proxy.faults.clone();
        let arrivals = proxy.arrivals.clone();
        let app = axum::Router::new()
            .route(
                hallq::platform::wire::EVENTS_PATH,
                axum::routing::post(pass_on),
            )
            .with_state(proxy);
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FaultyPlatform {
            addr,
            faults,
            arrivals,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn faults_left(&self) -> usize {
        self.faults.lock().unwrap().len()
    }
}

impl Drop for FaultyPlatform {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(proxy: &Proxy, headers: &HeaderMap, body: Bytes) -> (StatusCode, Vec<u8>) {
    let mut request = proxy
        .client
        .post(format!(
            "{}{}",
            proxy.upstream,
            hallq::platform::wire::EVENTS_PATH
        ))
        .body(body);
    for name in [
        signing::HALL_HEADER,
        signing::TIMESTAMP_HEADER,
        signing::NONCE_HEADER,
        signing::SIGNATURE_HEADER,
        "content-type",
    ] {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value.to_str().unwrap());
        }
    }
    let response = request.send().await.unwrap();
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    (status, response.bytes().await.unwrap().to_vec())
}

async fn pass_on(State(proxy): State<Proxy>, headers: HeaderMap, body: Bytes) -> Response {
    proxy.arrivals.lock().unwrap().push(Instant::now());
    let fault = proxy.faults.lock().unwrap().pop_front();
    match fault {
        None => {
            let (status, body) = forward(&proxy, &headers, body).await;
            (status, body).into_response()
        }
        Some(Fault::ServerError) => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        Some(Fault::Throttle { retry_after_s }) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", retry_after_s.to_string())],
            "slow down",
        )
            .into_response(),
        Some(Fault::Unavailable { retry_after_s }) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", retry_after_s.to_string())],
            "maintenance",
        )
            .into_response(),
        Some(Fault::Garbage) => {
            forward(&proxy, &headers, body).await;
            (StatusCode::OK, "<html>not json</html>").into_response()
        }
        Some(Fault::Slow(delay)) => {
            let (status, body) = forward(&proxy, &headers, body).await;
            tokio::time::sleep(delay).await;
            (status, body).into_response()
        }
        Some(Fault::WrongTime(platform_time_ms)) => {
            let (status, body) = forward(&proxy, &headers, body).await;
            let mut answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
            answer["platform_time_ms"] = platform_time_ms.into();
            (status, serde_json::to_vec(&answer).unwrap()).into_response()
        }
        Some(Fault::Truncated) => {
            let (_, body) = forward(&proxy, &headers, body).await;
            let cut = body[..body.len() / 2].to_vec();
            (StatusCode::OK, cut).into_response()
        }
    }
}
