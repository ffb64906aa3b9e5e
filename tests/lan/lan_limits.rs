//! What a stranger on the LAN can hold of the hall node: sockets that send nothing, or a head or body
//! a byte at a time, are closed after the configured limits; strangers crowding every connection slot
//! leave room for the paired terminals; the node's watchdog notices an API that stopped answering.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hallq::config::LanConfig;
use hallq::lan::Role;
use hallq::store::CommandResult;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::lan_support::{TestHall, issue, sign_in};

const HEAD_LIMIT_MS: u64 = 300;

fn tight() -> LanConfig {
    LanConfig {
        request_head_timeout_ms: HEAD_LIMIT_MS,
        request_body_timeout_ms: HEAD_LIMIT_MS,
        ..LanConfig::default()
    }
}

/// Reads until the server closes the socket; what it sent, and how long that took. Panics when the
/// socket is still open after `patience`.
async fn until_closed(socket: &mut TcpStream, patience: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = tokio::time::timeout_at((started + patience).into(), socket.read(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("the socket is still open after {patience:?}"));
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
    }
    (String::from_utf8_lossy(&received).into(), started.elapsed())
}

#[tokio::test]
async fn a_socket_that_sends_nothing_is_closed_after_the_head_limit() {
    let hall = TestHall::start_with_lan(tight()).await;
    let mut idle = TcpStream::connect(hall.addr()).await.unwrap();
    let (_, after) = until_closed(&mut idle, Duration::from_secs(3)).await;
    assert!(
        after >= Duration::from_millis(HEAD_LIMIT_MS - 50),
        "{after:?}"
    );
}

#[tokio::test]
async fn a_kept_alive_socket_is_closed_when_it_stays_idle() {
    let hall = TestHall::start_with_lan(tight()).await;
    let mut socket = TcpStream::connect(hall.addr()).await.unwrap();
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: hall\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = until_closed(&mut socket, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_head_sent_a_byte_at_a_time_is_cut_off() {
    let hall = TestHall::start_with_lan(tight()).await;
    let mut socket = TcpStream::connect(hall.addr()).await.unwrap();
    let started = Instant::now();
    let head = b"GET /healthz HTTP/1.1\r\nHost: hall\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut closed = false;
    for byte in head {
        if socket.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        if started.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    if !closed {
        let (answer, _) = until_closed(&mut socket, Duration::from_secs(3)).await;
        assert!(
            !answer.contains("200 OK"),
            "a slow head was answered: {answer}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_gets_408_and_the_socket_is_closed() {
    let hall = TestHall::start_with_lan(tight()).await;
    let mut socket = TcpStream::connect(hall.addr()).await.unwrap();
    socket
        .write_all(
            b"POST /api/v1/pair HTTP/1.1\r\nHost: hall\r\nContent-Type: application/json\r\n\
              Content-Length: 200\r\n\r\n{\"code\":",
        )
        .await
        .unwrap();
    let (answer, after) = until_closed(&mut socket, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"body_timeout\""), "{answer}");
    assert!(after < Duration::from_secs(2), "{after:?}");
}

#[tokio::test]
async fn a_push_stream_outlives_the_idle_limit() {
    let hall = TestHall::start_with_lan(tight()).await;
    let display = hall.pair(Role::Display).await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let mut stream = reqwest::Client::new()
        .get(format!("{}/api/v1/events", hall.url()))
        .bearer_auth(display.token())
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    tokio::time::sleep(Duration::from_millis(HEAD_LIMIT_MS * 4)).await;
    kiosk.execute(issue("SB")).await.unwrap();
    let mut received = String::new();
    while !received.contains("ticket_issued") {
        let chunk = tokio::time::timeout(Duration::from_secs(3), stream.chunk())
            .await
            .expect("the stream went quiet")
            .expect("the stream was cut")
            .expect("the stream ended");
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn strangers_holding_every_slot_do_not_keep_a_terminal_out() {
    let lan = LanConfig {
        max_connections: 16,
        connections_kept_for_terminals: 4,
        ..LanConfig::default()
    };
    let hall = TestHall::start_with_lan(lan).await;
    let counter = hall.pair(Role::Counter { window: 1 }).await;
    sign_in(&counter, 1).await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let mut strangers = Vec::new();
    for _ in 0..40 {
        let mut socket = TcpStream::connect(hall.addr()).await.unwrap();
        // A head begun and never finished, as a slow-header attack holds a socket.
        socket
            .write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .unwrap();
        strangers.push(socket);
    }
    let issued = tokio::time::timeout(Duration::from_secs(10), kiosk.execute(issue("SB")))
        .await
        .expect("the kiosk was kept out")
        .unwrap();
    assert!(
        matches!(issued.result, CommandResult::Done(_)),
        "{issued:?}"
    );
    let called = counter
        .execute(hallq::queue::Command::CallNext { window: 1 })
        .await
        .unwrap();
    assert!(
        matches!(called.result, CommandResult::Done(_)),
        "{called:?}"
    );
    // The oldest strangers were closed to make room; at most the strangers' share stays open.
    let mut open = 0;
    for socket in &mut strangers {
        let mut byte = [0u8; 1];
        let still_waiting = tokio::time::timeout(Duration::from_millis(20), socket.read(&mut byte))
            .await
            .is_err();
        if still_waiting {
            open += 1;
        }
    }
    assert!(open <= 16 - 4, "{open} strangers' sockets still open");
    assert!(
        open > 0,
        "the newest strangers keep their slots until the head limit"
    );
    let metrics = reqwest::Client::new()
        .get(format!("{}/metrics", hall.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let closed_for_room: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("hallq_lan_connections_closed_for_room_total "))
        .expect("the counter is on /metrics")
        .parse()
        .unwrap();
    assert!(closed_for_room >= 40 - 12, "{closed_for_room}");
    assert!(metrics.contains("\nhallq_lan_connections "), "{metrics}");
}

#[tokio::test]
async fn the_watchdog_notices_an_api_that_stopped_answering() {
    let hall = TestHall::start().await;
    let within = Duration::from_millis(500);
    let watch = |api: SocketAddr| {
        let api = hallq::lan::serve::ApiAddress::plain(api);
        hallq::node::watchdog::stall(&hall.engine, Some(api), within)
    };
    assert_eq!(watch(hall.addr()).await, None);
    // A server whose accept loop is stuck: the kernel takes the connection, nothing ever answers.
    let stuck = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let started = Instant::now();
    let why = watch(stuck.local_addr().unwrap()).await.expect("a stall");
    assert!(why.contains("did not answer within"), "{why}");
    assert!(started.elapsed() < Duration::from_secs(2));
    let gone = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let why = watch(gone).await.expect("a stall");
    assert!(why.contains("cannot be reached"), "{why}");
    // Listening on every address, the watchdog asks over loopback.
    let everywhere = SocketAddr::from(([0, 0, 0, 0], hall.addr().port()));
    assert_eq!(watch(everywhere).await, None);
    // Over TLS the watchdog asks with the hall node's own certificate pinned.
    let tls_hall = TestHall::start_tls().await;
    let api = tls_hall.server().api_address();
    assert!(api.certificate.is_some());
    let stall = hallq::node::watchdog::stall(&tls_hall.engine, Some(api), within).await;
    assert_eq!(stall, None);
}
