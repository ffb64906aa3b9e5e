//! A board whose clock is not vouched for: its events go up with their wall time corrected from the
//! platform's time, the hall's own log stays as recorded, and a broken platform time changes nothing.

use std::time::Duration;

use hallq::platform::uplink::Uplink;

use crate::common::{FRIDAY_10AM, HOUR, Hall};
use crate::platform_support::*;

/// A hall open around the clock whose board's clock is not vouched for.
fn hall_with_unvouched_clock() -> Hall {
    let mut setup = hallq::config::example();
    setup.open_around_the_clock();
    setup.config.clock.assume_trusted = false;
    let hall = Hall::with_setup(setup);
    hall.clock.set_trusted(false);
    hall
}

/// The receiver's copy of each event: (seq, wall_ms, wall_corrected_by_ms).
fn uploaded_times(
    receiver: &hallq::platform::receiver::Receiver,
    hall: &Hall,
) -> Vec<(u64, i64, Option<i64>)> {
    receiver
        .events(&hall_id(hall))
        .unwrap()
        .into_iter()
        .map(|(seq, _, json)| {
            let event: serde_json::Value = serde_json::from_str(&json).unwrap();
            (
                seq,
                event["wall_ms"].as_i64().unwrap(),
                event["wall_corrected_by_ms"].as_i64(),
            )
        })
        .collect()
}

async fn delivered(receiver: &hallq::platform::receiver::Receiver, hall: &Hall) -> bool {
    let last = hall.events().last().unwrap().seq;
    wait_until(Duration::from_secs(5), || {
        receiver.acked_through(&hall_id(hall)).unwrap() == last
    })
    .await
}

fn kept_platform_clocks(hall: &Hall) -> usize {
    hallq::store::PlatformCursor::open(&hall.db_path())
        .unwrap()
        .platform_clocks()
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hall_booted_hours_behind_uploads_the_platforms_time_and_leaves_its_log_alone() {
    let hall = hall_with_unvouched_clock();
    hall.clock.step_wall(-5 * HOUR);
    let platform_dir = tempfile::tempdir().unwrap();
    let (receiver, _platform_clock) =
        start_receiver(platform_dir.path(), &hall_id(&hall), loopback().await);
    let uplink: Uplink = start_uplink(
        &hall,
        settings(&hall, &receiver.url(), 500, Duration::from_secs(2)),
    );
    hall.issue("SB").await;
    hall.issue("SB").await;
    assert!(
        delivered(&receiver, &hall).await,
        "signed with the platform's time, accepted"
    );

    let log = hall.events();
    assert!(log.iter().all(|e| !e.recorded.clock_trusted));
    assert!(
        log.iter()
            .all(|e| e.recorded.wall_ms == FRIDAY_10AM - 5 * HOUR),
        "the hall's log keeps the time it read"
    );
    for (seq, wall_ms, corrected_by) in uploaded_times(&receiver, &hall) {
        assert_eq!(
            wall_ms, FRIDAY_10AM,
            "event {seq} goes up at the platform's time"
        );
        assert_eq!(
            corrected_by,
            Some(5 * HOUR),
            "event {seq} says it was corrected"
        );
    }
    assert_eq!(
        kept_platform_clocks(&hall),
        1,
        "the correction is kept as a fact"
    );
    // The times inside `data` are the hall's, like `hall_ms`: left as the queue used them.
    let mut moments = 0;
    for (seq, _, json) in receiver.events(&hall_id(&hall)).unwrap() {
        let event: serde_json::Value = serde_json::from_str(&json).unwrap();
        if let Some(at_ms) = event["data"]["at_ms"].as_i64() {
            assert_eq!(at_ms, event["hall_ms"].as_i64().unwrap(), "event {seq}");
            assert_eq!(at_ms, FRIDAY_10AM - 5 * HOUR, "event {seq}");
            moments += 1;
        }
    }
    assert_eq!(moments, 2, "both tickets carry their moment");

    // Time synchronisation sets the clock right and vouches for it.
    hall.clock.step_wall(5 * HOUR);
    hall.clock.set_trusted(true);
    hall.issue("SB").await;
    assert!(delivered(&receiver, &hall).await);
    let log = hall.events();
    let vouched: Vec<_> = log.iter().filter(|e| e.recorded.clock_trusted).collect();
    assert!(!vouched.is_empty());
    let uploaded = uploaded_times(&receiver, &hall);
    for event in vouched {
        let (_, wall_ms, corrected_by) = uploaded[event.seq as usize - 1];
        assert_eq!(
            wall_ms, event.recorded.wall_ms,
            "a vouched time is not touched"
        );
        assert_eq!(corrected_by, None);
    }
    uplink.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_recorded_before_the_clock_was_set_are_corrected_even_when_sent_after() {
    let hall = hall_with_unvouched_clock();
    hall.clock.step_wall(-3 * HOUR);
    hall.issue("SB").await;
    let unvouched_seq = hall.events().last().unwrap().seq;
    // An hour on, time synchronisation sets the clock right before the platform is reachable.
    hall.clock.advance(HOUR);
    hall.clock.step_wall(3 * HOUR);
    hall.clock.set_trusted(true);
    hall.issue("SB").await;

    let platform_dir = tempfile::tempdir().unwrap();
    let (receiver, platform_clock) =
        start_receiver(platform_dir.path(), &hall_id(&hall), loopback().await);
    platform_clock.advance(HOUR);
    let uplink = start_uplink(
        &hall,
        settings(&hall, &receiver.url(), 500, Duration::from_secs(2)),
    );
    assert!(delivered(&receiver, &hall).await);
    let uploaded = uploaded_times(&receiver, &hall);
    for (seq, wall_ms, corrected_by) in &uploaded[..unvouched_seq as usize] {
        assert_eq!(
            *wall_ms, FRIDAY_10AM,
            "event {seq}: the platform's time an hour before it answered, by the monotonic clock"
        );
        assert_eq!(*corrected_by, Some(3 * HOUR));
    }
    for (seq, wall_ms, corrected_by) in &uploaded[unvouched_seq as usize..] {
        assert_eq!(
            *wall_ms,
            FRIDAY_10AM + HOUR,
            "event {seq} keeps its vouched time"
        );
        assert_eq!(*corrected_by, None);
    }
    uplink.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_time_that_cannot_be_changes_nothing() {
    let hall = hall_with_unvouched_clock();
    hall.clock.step_wall(-2 * HOUR);
    let platform_dir = tempfile::tempdir().unwrap();
    // The receiver is told to allow the hall's skew, so only the answers' time is wrong.
    let (receiver, _platform_clock) = start_receiver_with_skew(
        platform_dir.path(),
        &hall_id(&hall),
        loopback().await,
        3 * 3600,
    );
    let garbage = [
        0,
        -1,
        i64::MAX,
        i64::MIN,
        1_000_000_000_000,
        5_000_000_000_000,
    ];
    let faults: Vec<Fault> = garbage
        .iter()
        .cycle()
        .take(24)
        .map(|t| Fault::WrongTime(*t))
        .collect();
    let platform = FaultyPlatform::start(&receiver.url(), faults).await;
    let uplink = start_uplink(
        &hall,
        settings(&hall, &platform.url(), 1, Duration::from_secs(2)),
    );
    hall.issue("SB").await;
    hall.issue("SB").await;
    assert!(delivered(&receiver, &hall).await);
    assert!(platform.faults_left() > 0, "every answer had a broken time");
    let log = hall.events();
    for (seq, wall_ms, corrected_by) in uploaded_times(&receiver, &hall) {
        assert_eq!(
            wall_ms,
            log[seq as usize - 1].recorded.wall_ms,
            "event {seq} as read"
        );
        assert_eq!(corrected_by, None);
    }
    assert_eq!(
        kept_platform_clocks(&hall),
        0,
        "nothing is kept of a broken time"
    );
    uplink.stop().await;
}
