//! The link inside TLS: the hall trusts the platform's pinned certificate and nothing else, and
//! sends over plain HTTP only when told it is a test.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hallq::clock::ManualClock;
use hallq::platform::receiver::{Receiver, ReceiverSettings};
use hallq::platform::tls::TlsIdentity;
use hallq::platform::uplink::{Uplink, UplinkError};
use hallq::ports::PlatformFailure;

use crate::common::FRIDAY_10AM;
use crate::platform_support::*;

/// A receiver serving HTTPS with `identity`; with `client_ca`, it asks each hall for a certificate
/// chaining to it (mutual TLS).
async fn https_receiver(
    dir: &std::path::Path,
    hall_id: &str,
    identity: &TlsIdentity,
    client_ca: Option<&TlsIdentity>,
) -> Receiver {
    Receiver::start(
        loopback().await,
        ReceiverSettings {
            db: dir.join("platform.db"),
            secrets: HashMap::from([(hall_id.to_string(), secret())]),
            max_skew_s: 300,
            clock: Arc::new(ManualClock::new(FRIDAY_10AM)),
            tls: Some(identity.clone()),
            client_ca_pem: client_ca.map(|ca| ca.cert_pem.clone()),
        },
    )
    .unwrap()
}

/// Waits until `uplink` has failed twice in one of the ways of `kinds`, then checks that nothing of the
/// hall reached `receiver` and nothing was acknowledged.
async fn refused_with_nothing_delivered(
    hall_id: &str,
    uplink: &Uplink,
    receiver: &Receiver,
    kinds: &[PlatformFailure],
) {
    assert!(
        wait_until(Duration::from_secs(5), || {
            let status = uplink.status();
            kinds.iter().map(|f| status.failures_of(*f)).sum::<u64>() >= 2
        })
        .await,
        "the uplink was not refused twice with one of {kinds:?}"
    );
    assert_eq!(receiver.events(hall_id).unwrap().len(), 0);
    assert_eq!(
        uplink
            .status()
            .acked_seq
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_go_up_over_https_to_the_pinned_certificate() {
    let hall = uncapped_hall();
    let dir = tempfile::tempdir().unwrap();
    let identity = TlsIdentity::self_signed(&["127.0.0.1"]).unwrap();
    let receiver = https_receiver(dir.path(), &hall_id(&hall), &identity, None).await;
    assert!(receiver.url().starts_with("https://127.0.0.1:"));
    issue_many(&hall, 200).await;
    let mut settings = settings(&hall, &receiver.url(), 50, Duration::from_secs(2));
    settings.ca_pem = Some(identity.cert_pem.clone().into_bytes());
    settings.allow_plain_http = false;
    let uplink = start_uplink(&hall, settings);
    let last = hall.events().last().unwrap().seq;
    assert!(
        wait_until(Duration::from_secs(5), || receiver
            .acked_through(&hall_id(&hall))
            .unwrap()
            == last)
        .await
    );
    assert_holds_the_whole_log(&receiver, &hall);
    drop(uplink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_connects_and_says_nothing_holds_up_no_hall() {
    let hall = uncapped_hall();
    let dir = tempfile::tempdir().unwrap();
    let identity = TlsIdentity::self_signed(&["127.0.0.1"]).unwrap();
    let receiver = https_receiver(dir.path(), &hall_id(&hall), &identity, None).await;
    // Sockets open before the hall's, silent for longer than the receiver's handshake limit (10 s).
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(tokio::net::TcpStream::connect(receiver.addr).await.unwrap());
    }
    issue_many(&hall, 20).await;
    let mut settings = settings(&hall, &receiver.url(), 50, Duration::from_secs(2));
    settings.ca_pem = Some(identity.cert_pem.clone().into_bytes());
    settings.allow_plain_http = false;
    let started = std::time::Instant::now();
    let uplink = start_uplink(&hall, settings);
    let last = hall.events().last().unwrap().seq;
    assert!(
        wait_until(Duration::from_secs(3), || receiver
            .acked_through(&hall_id(&hall))
            .unwrap()
            == last)
        .await,
        "the upload waited on the silent sockets"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_holds_the_whole_log(&receiver, &hall);
    drop(uplink);
    drop(silent);
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_with_another_certificate_gets_nothing() {
    let hall = uncapped_hall();
    let dir = tempfile::tempdir().unwrap();
    let real = TlsIdentity::self_signed(&["127.0.0.1"]).unwrap();
    let impostor = TlsIdentity::self_signed(&["127.0.0.1"]).unwrap();
    let receiver = https_receiver(dir.path(), &hall_id(&hall), &impostor, None).await;
    issue_many(&hall, 20).await;
    let mut settings = settings(&hall, &receiver.url(), 50, Duration::from_secs(2));
    settings.ca_pem = Some(real.cert_pem.into_bytes());
    let uplink = start_uplink(&hall, settings);
    refused_with_nothing_delivered(
        &hall_id(&hall),
        &uplink,
        &receiver,
        &[PlatformFailure::Connect],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_and_https_without_a_pinned_certificate_are_refused_at_start() {
    let hall = uncapped_hall();
    let mut plain = settings(&hall, "http://127.0.0.1:9", 50, Duration::from_secs(1));
    plain.allow_plain_http = false;
    let refused = Uplink::start(&hall.engine, plain).err().unwrap();
    assert!(matches!(refused, UplinkError::BadUrl { .. }), "{refused}");
    assert!(
        refused.to_string().contains("insecure_http_for_tests"),
        "{refused}"
    );
    let unpinned = settings(&hall, "https://127.0.0.1:9", 50, Duration::from_secs(1));
    let refused = Uplink::start(&hall.engine, unpinned).err().unwrap();
    assert!(refused.to_string().contains("ca_file"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_that_wants_mutual_tls_takes_the_hall_with_its_certificate() {
    let hall = uncapped_hall();
    let dir = tempfile::tempdir().unwrap();
    let platform = TlsIdentity::self_signed(&["127.0.0.1"]).unwrap();
    // The hall's certificate names its hall id: the receiver ties the two.
    let hall_certificate = TlsIdentity::self_signed(&[&hall_id(&hall)]).unwrap();
    let receiver = https_receiver(
        dir.path(),
        &hall_id(&hall),
        &platform,
        Some(&hall_certificate),
    )
    .await;
    issue_many(&hall, 30).await;
    let mut settings = settings(&hall, &receiver.url(), 50, Duration::from_secs(2));
    settings.ca_pem = Some(platform.cert_pem.clone().into_bytes());
    settings.allow_plain_http = false;
    settings.client_identity = Some(hall_certificate);
    let uplink = start_uplink(&hall, settings);
    let last = hall.events().last().unwrap().seq;
    assert!(
        wait_until(Duration::from_secs(5), || receiver
            .acked_through(&hall_id(&hall))
            .unwrap()
            == last)
        .await
    );
    assert_holds_the_whole_log(&receiver, &hall);
    drop(uplink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_that_wants_mutual_tls_refuses_a_hall_without_its_certificate() {
    let hall = uncapped_hall();
    let dir = tempfile::tempdir().unwrap();
    let platform = TlsIdentity::self_signed(&["127.0.0.1"]).unwrap();
    let expected = TlsIdentity::self_signed(&[&hall_id(&hall)]).unwrap();
    let stranger = TlsIdentity::self_signed(&[&hall_id(&hall)]).unwrap();
    let receiver = https_receiver(dir.path(), &hall_id(&hall), &platform, Some(&expected)).await;
    issue_many(&hall, 10).await;
    // No certificate at all, then a certificate the platform did not issue or list: the hall's
    // secret alone does not get its events in.
    for shown in [None, Some(stranger)] {
        let mut settings = settings(&hall, &receiver.url(), 50, Duration::from_secs(2));
        settings.ca_pem = Some(platform.cert_pem.clone().into_bytes());
        settings.allow_plain_http = false;
        settings.client_identity = shown;
        let uplink = start_uplink(&hall, settings);
        refused_with_nothing_delivered(&hall_id(&hall), &uplink, &receiver, &PlatformFailure::ALL)
            .await;
        uplink.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_the_platform_accepts_posts_only_for_the_hall_it_names() {
    let hall = uncapped_hall();
    let dir = tempfile::tempdir().unwrap();
    let platform = TlsIdentity::self_signed(&["127.0.0.1"]).unwrap();
    // A certificate the platform trusts, made for another hall of the prefecture; the hall holds
    // its own secret, so the signature alone would pass.
    let other_halls = TlsIdentity::self_signed(&["650102-ZWFW-02"]).unwrap();
    let receiver = https_receiver(dir.path(), &hall_id(&hall), &platform, Some(&other_halls)).await;
    issue_many(&hall, 10).await;
    let mut settings = settings(&hall, &receiver.url(), 50, Duration::from_secs(2));
    settings.ca_pem = Some(platform.cert_pem.clone().into_bytes());
    settings.allow_plain_http = false;
    settings.client_identity = Some(other_halls.clone());
    let uplink = start_uplink(&hall, settings);
    refused_with_nothing_delivered(
        &hall_id(&hall),
        &uplink,
        &receiver,
        &[PlatformFailure::Refused],
    )
    .await;
    uplink.stop().await;

    // What the hall is told, asked by hand on the same certificate.
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(
            hallq::platform::tls::pinned_client_config(
                platform.cert_pem.as_bytes(),
                Some(&other_halls),
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let signature = hallq::platform::signing::sign(
        &secret(),
        "GET",
        "/v1/bookings?after=0&limit=10",
        &hall_id(&hall),
        FRIDAY_10AM / 1000,
        b"",
    );
    let mut request = client.get(format!("{}/v1/bookings?after=0&limit=10", receiver.url()));
    for (name, value) in signature.headers() {
        request = request.header(name, value);
    }
    let answer = request.send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 403);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["code"], "certificate_mismatch");
    receiver.stop().await;
}

#[test]
fn a_hall_key_others_can_read_or_that_does_not_fit_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let one = TlsIdentity::self_signed(&["hall-1.example"]).unwrap();
    let other = TlsIdentity::self_signed(&["hall-1.example"]).unwrap();
    let (cert, key) = (dir.path().join("hall.pem"), dir.path().join("hall-key.pem"));
    std::fs::write(&cert, &one.cert_pem).unwrap();
    std::fs::write(&key, other.key_pem.as_bytes()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = TlsIdentity::load(&cert, &key).err().unwrap();
    assert!(refused.to_string().contains("chmod 600"), "{refused}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let identity = TlsIdentity::load(&cert, &key).unwrap();
    let platform = TlsIdentity::self_signed(&["127.0.0.1"]).unwrap();
    let refused =
        hallq::platform::tls::pinned_client_config(platform.cert_pem.as_bytes(), Some(&identity))
            .expect_err("a certificate with another's key is refused");
    assert!(refused.to_string().contains("do not fit"), "{refused}");
    std::fs::write(&key, "not a key").unwrap();
    let refused = TlsIdentity::load(&cert, &key).err().unwrap();
    assert!(refused.to_string().contains("private key"), "{refused}");
}
