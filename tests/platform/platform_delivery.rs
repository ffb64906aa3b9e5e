//! Every event reaches the platform exactly once and in order: after an outage, live, and across a
//! restart of the uploader.

use std::time::{Duration, Instant};

use hallq::ports::PlatformFailure;

use crate::platform_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_events_recorded_while_the_platform_is_down_arrive_once_in_order() {
    let hall = uncapped_hall();
    let platform_dir = tempfile::tempdir().unwrap();
    // The platform's address, nobody listening yet.
    let addr = loopback().await.local_addr().unwrap();
    let uplink = start_uplink(
        &hall,
        settings(
            &hall,
            &format!("http://{addr}"),
            500,
            Duration::from_secs(2),
        ),
    );
    issue_many(&hall, 3000).await;
    let last = hall.events().last().unwrap().seq;
    assert!(last > 3000);
    assert!(
        wait_until(Duration::from_secs(3), || uplink
            .status()
            .failures_of(PlatformFailure::Connect)
            > 0)
        .await,
        "the uploader kept knocking"
    );
    assert_eq!(
        uplink
            .status()
            .acked_seq
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );

    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let (receiver, _clock) = start_receiver(platform_dir.path(), &hall_id(&hall), listener);
    let came_up = Instant::now();
    assert!(
        wait_until(Duration::from_secs(8), || receiver
            .acked_through(&hall_id(&hall))
            .unwrap()
            == last)
        .await,
        "the backlog drains"
    );
    println!("{last} events drained in {:?}", came_up.elapsed());
    assert_holds_the_whole_log(&receiver, &hall);
    let cursor = hallq::store::PlatformCursor::open(&hall.db_path()).unwrap();
    assert!(
        wait_until(Duration::from_secs(2), || cursor.acked_through().unwrap()
            == last)
        .await,
        "the hall's cursor is on disk"
    );
    assert_eq!(uplink.status().behind_events(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_event_reaches_the_platform_within_a_second() {
    let hall = uncapped_hall();
    let platform_dir = tempfile::tempdir().unwrap();
    let (receiver, _clock) = start_receiver(platform_dir.path(), &hall_id(&hall), loopback().await);
    let uplink = start_uplink(
        &hall,
        settings(&hall, &receiver.url(), 500, Duration::from_secs(2)),
    );
    hall.issue("SB").await;
    let first = hall.events().last().unwrap().seq;
    assert!(
        wait_until(Duration::from_secs(2), || receiver
            .acked_through(&hall_id(&hall))
            .unwrap()
            == first)
        .await
    );
    for _ in 0..5 {
        let issued = Instant::now();
        hall.issue("SB").await;
        let seq = hall.events().last().unwrap().seq;
        assert!(
            wait_until(Duration::from_secs(1), || receiver
                .acked_through(&hall_id(&hall))
                .unwrap()
                == seq)
            .await,
            "event {seq} not acknowledged within a second"
        );
        assert!(issued.elapsed() < Duration::from_secs(1));
    }
    assert_holds_the_whole_log(&receiver, &hall);
    drop(uplink);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploader_stopped_mid_upload_resends_from_its_cursor_and_nothing_is_stored_twice() {
    let hall = uncapped_hall();
    let platform_dir = tempfile::tempdir().unwrap();
    let (receiver, _clock) = start_receiver(platform_dir.path(), &hall_id(&hall), loopback().await);
    issue_many(&hall, 1500).await;
    let last = hall.events().last().unwrap().seq;
    // Each answer comes late, so a stop lands while a batch is on its way.
    let slow = FaultyPlatform::start(
        &receiver.url(),
        vec![Fault::Slow(Duration::from_millis(150)); 100],
    )
    .await;
    let url = slow.url();
    for round in 0..3 {
        let uplink = start_uplink(&hall, settings(&hall, &url, 100, Duration::from_secs(2)));
        tokio::time::sleep(Duration::from_millis(230)).await;
        uplink.stop().await;
        let held = receiver.acked_through(&hall_id(&hall)).unwrap();
        let cursor = hallq::store::PlatformCursor::open(&hall.db_path())
            .unwrap()
            .acked_through()
            .unwrap();
        assert!(
            cursor <= held,
            "round {round}: the cursor {cursor} never passes what is held {held}"
        );
        assert!(held < last, "round {round}: stopped mid-upload");
    }
    let uplink = start_uplink(
        &hall,
        settings(&hall, &receiver.url(), 100, Duration::from_secs(2)),
    );
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
async fn the_hall_node_metrics_show_how_far_the_platform_link_has_come() {
    let hall = uncapped_hall();
    let platform_dir = tempfile::tempdir().unwrap();
    let (receiver, _clock) = start_receiver(platform_dir.path(), &hall_id(&hall), loopback().await);
    let faulty = FaultyPlatform::start(&receiver.url(), vec![Fault::ServerError]).await;
    issue_many(&hall, 10).await;
    let last = hall.events().last().unwrap().seq;
    let uplink = start_uplink(
        &hall,
        settings(&hall, &faulty.url(), 500, Duration::from_secs(2)),
    );
    hallq::ports::PLATFORM_SYNC
        .set(uplink.status().clone())
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(3), || receiver
            .acked_through(&hall_id(&hall))
            .unwrap()
            == last)
        .await
    );
    assert!(
        wait_until(Duration::from_secs(2), || uplink.status().behind_events()
            == 0
            && uplink.status().behind_seconds(0) == 0.0)
        .await
    );
    // The LAN over plain HTTP: what this test reads is the metrics, not the encryption.
    let lan_config = hallq::config::LanConfig {
        tls: false,
        ..hall.setup.config.lan.clone()
    };
    let lan = hallq::lan::HallServer::start(
        hall.engine.clone(),
        "127.0.0.1:0".parse().unwrap(),
        &lan_config,
    )
    .await
    .unwrap();
    let text = reqwest::get(format!("{}/metrics", lan.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        format!("hallq_platform_acked_seq {last}"),
        "hallq_platform_behind_events 0".to_string(),
        "hallq_platform_behind_seconds 0.000".to_string(),
        "hallq_platform_failures_total{kind=\"server_error\"} 1".to_string(),
        "hallq_platform_failures_total{kind=\"timeout\"} 0".to_string(),
        "hallq_sync_lag_events 0".to_string(),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    lan.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_counts_its_outage_from_the_first_failure_until_the_platform_acknowledges() {
    let hall = uncapped_hall();
    let platform_dir = tempfile::tempdir().unwrap();
    let addr = loopback().await.local_addr().unwrap();
    let uplink = start_uplink(
        &hall,
        settings(
            &hall,
            &format!("http://{addr}"),
            500,
            Duration::from_secs(2),
        ),
    );
    let mono = || hallq::clock::Clock::read(&*hall.clock).mono_ms;
    assert_eq!(uplink.status().cut_off_for_ms(mono()), None);
    hall.issue("SB").await;
    assert!(
        wait_until(Duration::from_secs(3), || uplink
            .status()
            .cut_off_for_ms(mono())
            .is_some())
        .await,
        "the first failed try starts the outage"
    );
    hall.clock.advance(15 * 60_000);
    assert_eq!(uplink.status().cut_off_for_ms(mono()), Some(15 * 60_000));

    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let (_receiver, platform_clock) =
        start_receiver(platform_dir.path(), &hall_id(&hall), listener);
    platform_clock.advance(15 * 60_000);
    assert!(
        wait_until(Duration::from_secs(5), || uplink
            .status()
            .cut_off_for_ms(mono())
            .is_none())
        .await,
        "an acknowledgement ends it"
    );
}

/// A platform restored from a backup that holds nothing of the hall: a new database on the address
/// the hall knows.
async fn restored_platform(
    hall: &crate::common::Hall,
    addr: std::net::SocketAddr,
    dir: &std::path::Path,
) -> hallq::platform::receiver::Receiver {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    start_receiver(dir, &hall_id(hall), listener).0
}

/// A hall whose `tickets` tickets a platform acknowledged (the hall's cursor on disk), after which
/// that platform stops: the uploader, the platform's address and the last sequence it holds.
async fn acknowledged_then_gone(
    hall: &crate::common::Hall,
    tickets: usize,
) -> (hallq::platform::uplink::Uplink, std::net::SocketAddr, u64) {
    let dir = tempfile::tempdir().unwrap();
    let listener = loopback().await;
    let addr = listener.local_addr().unwrap();
    let (receiver, _) = start_receiver(dir.path(), &hall_id(hall), listener);
    issue_many(hall, tickets).await;
    let uplink = start_uplink(
        hall,
        settings(hall, &receiver.url(), 50, Duration::from_secs(2)),
    );
    let sent = hall.events().last().unwrap().seq;
    // The hall's cursor is on disk once the uploader counts the acknowledgement.
    assert!(
        wait_until(Duration::from_secs(5), || uplink
            .status()
            .acked_seq
            .load(std::sync::atomic::Ordering::Relaxed)
            == sent)
        .await
    );
    assert_eq!(receiver.acked_through(&hall_id(hall)).unwrap(), sent);
    receiver.stop().await;
    (uplink, addr, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_that_lost_acknowledged_events_gets_them_again_from_what_it_holds() {
    let hall = uncapped_hall();
    let (uplink, addr, _) = acknowledged_then_gone(&hall, 120).await;
    let dir = tempfile::tempdir().unwrap();
    let restored = restored_platform(&hall, addr, dir.path()).await;
    issue_many(&hall, 10).await;
    let last = hall.events().last().unwrap().seq;
    assert!(
        wait_until(Duration::from_secs(10), || restored
            .acked_through(&hall_id(&hall))
            .unwrap()
            == last)
        .await,
        "the hall sent again what the platform lost"
    );
    assert_holds_the_whole_log(&restored, &hall);
    assert!(uplink.status().failures_of(PlatformFailure::Refused) >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_the_hall_no_longer_holds_are_not_invented_for_a_platform_that_lost_them() {
    let hall = uncapped_hall();
    let (uplink, addr, sent) = acknowledged_then_gone(&hall, 40).await;
    // The hall has let its first acknowledged events go, as retention does.
    rusqlite::Connection::open(hall.db_path())
        .unwrap()
        .execute("DELETE FROM events WHERE seq <= 10", [])
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let restored = restored_platform(&hall, addr, dir.path()).await;
    issue_many(&hall, 3).await;
    assert!(
        wait_until(Duration::from_secs(5), || uplink
            .status()
            .failures_of(PlatformFailure::Refused)
            >= 3)
        .await
    );
    assert_eq!(restored.events(&hall_id(&hall)).unwrap().len(), 0);
    assert_eq!(
        uplink
            .status()
            .acked_seq
            .load(std::sync::atomic::Ordering::Relaxed),
        sent,
        "the cursor stays where it was"
    );
}
