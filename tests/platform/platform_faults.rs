//! A platform that fails (5xx, 429/503 with Retry-After, a body that is no acknowledgement, an answer
//! past the timeout, an acknowledgement cut short) loses, duplicates and reorders nothing.

use std::time::Duration;

use hallq::ports::PlatformFailure;

use crate::platform_support::*;

async fn deliver_through(faults: Vec<Fault>) -> (FaultyPlatform, hallq::platform::uplink::Uplink) {
    let hall = uncapped_hall();
    let platform_dir = tempfile::tempdir().unwrap();
    let (receiver, _clock) = start_receiver(platform_dir.path(), &hall_id(&hall), loopback().await);
    let faulty = FaultyPlatform::start(&receiver.url(), faults).await;
    issue_many(&hall, 250).await;
    let uplink = start_uplink(
        &hall,
        settings(&hall, &faulty.url(), 40, Duration::from_millis(400)),
    );
    // More events while the faults play out.
    issue_many(&hall, 50).await;
    let last = hall.events().last().unwrap().seq;
    assert!(
        wait_until(Duration::from_secs(8), || receiver
            .acked_through(&hall_id(&hall))
            .unwrap()
            == last)
        .await,
        "delivered through the faults"
    );
    assert_eq!(faulty.faults_left(), 0, "every fault was met");
    assert_holds_the_whole_log(&receiver, &hall);
    (faulty, uplink)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_garbage_timeouts_and_cut_answers_lose_and_duplicate_nothing() {
    let (_faulty, uplink) = deliver_through(vec![
        Fault::ServerError,
        Fault::Garbage,
        Fault::ServerError,
        Fault::Slow(Duration::from_millis(700)),
        Fault::Truncated,
        Fault::Garbage,
        Fault::Slow(Duration::from_millis(700)),
    ])
    .await;
    let status = uplink.status();
    assert_eq!(status.failures_of(PlatformFailure::ServerError), 2);
    assert_eq!(status.failures_of(PlatformFailure::MalformedReply), 3);
    assert_eq!(status.failures_of(PlatformFailure::Timeout), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_is_waited_out_before_the_next_try() {
    let (faulty, uplink) = deliver_through(vec![
        Fault::Throttle { retry_after_s: 1 },
        Fault::Unavailable { retry_after_s: 1 },
    ])
    .await;
    let arrivals = faulty.arrivals.lock().unwrap().clone();
    assert!(arrivals.len() >= 3);
    for pair in arrivals[..3].windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(990),
            "tried again after {gap:?}, before the second asked for"
        );
    }
    assert_eq!(uplink.status().failures_of(PlatformFailure::Throttled), 2);
}
