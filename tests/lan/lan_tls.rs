//! The hall LAN over TLS on real loopback sockets: a terminal pins the hall node's certificate from
//! the pairing code and talks to nobody else; plain HTTP gets nothing; a hall node with a new
//! certificate is paired with again.

use std::time::Duration;

use hallq::lan::Role;
use hallq::lan::client::{ClientError, HallClient, Retry};
use hallq::lan::tls::{Fingerprint, HallCertificate};
use hallq::store::CommandResult;

use crate::lan_support::{TestHall, issue};

fn impatient(client: HallClient) -> HallClient {
    client.with_retry(Retry {
        first_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(100),
        patience: Some(Duration::from_millis(600)),
    })
}

/// A certificate of some other machine, for a stranger in the middle or another hall.
fn strangers_fingerprint() -> Fingerprint {
    let dir = tempfile::tempdir().unwrap();
    HallCertificate::load_or_create(&dir.path().join("c.pem"), &dir.path().join("k.pem"), &[])
        .unwrap()
        .fingerprint()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_pairs_with_the_certificate_the_code_names_and_then_works_over_tls() {
    let hall = TestHall::start_tls().await;
    assert!(hall.url().starts_with("https://"));
    let code = hall.server().mint_code(10).unwrap();
    assert_eq!(
        code.len(),
        12 + 1 + 21,
        "secret and certificate part: {code}"
    );
    let (kiosk, _) = HallClient::pair(hall.url(), &code, "kiosk", Role::Kiosk)
        .await
        .unwrap();
    assert_eq!(kiosk.certificate(), hall.server().certificate);
    let outcome = kiosk.execute(issue("SB")).await.unwrap();
    assert!(
        matches!(outcome.result, CommandResult::Done(_)),
        "{outcome:?}"
    );
    // The same token over a client that pins a stranger's certificate reaches nothing.
    let misled = impatient(HallClient::pinned(
        hall.url(),
        kiosk.token(),
        strangers_fingerprint(),
    ));
    let refused = misled.execute(issue("SB")).await.unwrap_err();
    assert!(matches!(refused, ClientError::GaveUp { .. }), "{refused}");
    assert_eq!(hall.engine.state().await.unwrap().tickets.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_for_another_certificate_pairs_nothing_and_spends_nothing() {
    let hall = TestHall::start_tls().await;
    let code = hall.server().mint_code(10).unwrap();
    let secret = &code[..12];
    let forged = format!("{secret}-{}", strangers_fingerprint().pairing_part());
    let refused = HallClient::pair(hall.url(), &forged, "kiosk", Role::Kiosk).await;
    assert!(
        matches!(refused, Err(ClientError::Unreachable(_))),
        "{:?}",
        refused.err()
    );
    let error = format!("{:?}", refused.err());
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    // The secret never reached the hall node, so the real code still pairs.
    HallClient::pair(hall.url(), &code, "kiosk", Role::Kiosk)
        .await
        .unwrap();
    // Without its certificate part a code does not go to an https address at all.
    let code = hall.server().mint_code(10).unwrap();
    let bare = HallClient::pair(hall.url(), &code[..12], "kiosk", Role::Kiosk).await;
    assert!(matches!(bare, Err(ClientError::Rejected(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_the_tls_port_gets_no_answer() {
    let hall = TestHall::start_tls().await;
    let plain = format!("http://{}/api/v1/state", hall.addr());
    let answer = reqwest::Client::new()
        .get(plain)
        .timeout(Duration::from_secs(3))
        .send()
        .await;
    assert!(answer.is_err(), "{answer:?}");
    let code = hall.server().mint_code(10).unwrap();
    // The secret over plain HTTP to the TLS port: no pairing.
    let over_http =
        HallClient::pair(format!("http://{}", hall.addr()), &code, "k", Role::Kiosk).await;
    assert!(over_http.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hall_node_with_a_new_certificate_is_paired_with_again() {
    let mut hall = TestHall::start_tls().await;
    let kiosk = impatient(hall.pair(Role::Kiosk).await);
    kiosk.execute(issue("SB")).await.unwrap();
    // The hall node's certificate is replaced (a new board, or the files removed).
    let addr = hall.unplug().await;
    for file in ["hall-cert.pem", "hall-key.pem"] {
        std::fs::remove_file(hall.dir.path().join(file)).unwrap();
    }
    hall.plug_in(addr).await;
    let refused = kiosk.execute(issue("SB")).await.unwrap_err();
    assert!(matches!(refused, ClientError::GaveUp { .. }), "{refused}");
    let again = hall.pair(Role::Kiosk).await;
    assert_ne!(again.certificate(), kiosk.certificate());
    again.execute(issue("SB")).await.unwrap();
    assert_eq!(hall.engine.state().await.unwrap().tickets.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_never_starts_its_handshake_is_closed_after_the_head_limit() {
    use tokio::io::AsyncReadExt;
    let mut setup = hallq::config::example();
    setup.config.lan.tls = true;
    setup.config.lan.request_head_timeout_ms = 300;
    let hall = TestHall::start_configured(setup).await;
    let mut silent = tokio::net::TcpStream::connect(hall.addr()).await.unwrap();
    let started = std::time::Instant::now();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(3), silent.read(&mut byte)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the socket was left open: {read:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_pin_speaks_plain_http_only_and_trusts_no_certificate() {
    let hall = TestHall::start_tls().await;
    let code = hall.server().mint_code(10).unwrap();
    let (kiosk, _) = HallClient::pair(hall.url(), &code, "kiosk", Role::Kiosk)
        .await
        .unwrap();
    let unpinned = impatient(HallClient::new(hall.url(), kiosk.token()));
    let refused = unpinned.execute(issue("SB")).await.unwrap_err();
    assert!(matches!(refused, ClientError::GaveUp { .. }), "{refused}");
    assert!(hall.engine.state().await.unwrap().tickets.is_empty());
}
