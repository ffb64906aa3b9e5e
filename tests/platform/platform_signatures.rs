//! The receiver refuses what is forged, stale, replayed or malformed, with its own code each, and
//! stores nothing of it.

use hallq::platform::signing::{self, PlatformSecret};
use hallq::platform::wire::{EVENTS_PATH, PlatformBatch, PlatformError, PlatformEvent};

use crate::common::FRIDAY_10AM;
use crate::platform_support::*;

struct Platform {
    receiver: hallq::platform::receiver::Receiver,
    clock: std::sync::Arc<hallq::clock::ManualClock>,
    _dir: tempfile::TempDir,
    hall: crate::common::Hall,
}

async fn platform_with_events() -> Platform {
    let hall = uncapped_hall();
    issue_many(&hall, 5).await;
    let dir = tempfile::tempdir().unwrap();
    let (receiver, clock) = start_receiver(dir.path(), &hall_id(&hall), loopback().await);
    Platform {
        receiver,
        clock,
        _dir: dir,
        hall,
    }
}

impl Platform {
    fn body(&self, seqs: std::ops::RangeInclusive<usize>) -> Vec<u8> {
        let events = self.hall.events()[seqs.start() - 1..*seqs.end()]
            .iter()
            .map(PlatformEvent::for_platform)
            .collect();
        serde_json::to_vec(&PlatformBatch {
            hall_id: hall_id(&self.hall),
            events,
        })
        .unwrap()
    }

    async fn post(
        &self,
        signature: &signing::Signature,
        body: Vec<u8>,
    ) -> (u16, serde_json::Value) {
        let mut request = reqwest::Client::new()
            .post(format!("{}{EVENTS_PATH}", self.receiver.url()))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in signature.headers() {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    fn sign(&self, key: &PlatformSecret, timestamp_s: i64, body: &[u8]) -> signing::Signature {
        signing::sign(
            key,
            "POST",
            EVENTS_PATH,
            &hall_id(&self.hall),
            timestamp_s,
            body,
        )
    }

    async fn post_signed(&self, body: Vec<u8>) -> (u16, serde_json::Value) {
        let signed = self.sign(&secret(), NOW_S, &body);
        self.post(&signed, body).await
    }

    fn held(&self) -> usize {
        self.receiver.events(&hall_id(&self.hall)).unwrap().len()
    }
}

fn code(answer: &serde_json::Value) -> String {
    serde_json::from_value::<PlatformError>(answer.clone())
        .unwrap()
        .code
}

const NOW_S: i64 = FRIDAY_10AM / 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_signature_is_refused_and_nothing_stored() {
    let platform = platform_with_events().await;
    let body = platform.body(1..=3);
    let forger = PlatformSecret::from_bytes(&[9; 32]).unwrap();
    let (status, answer) = platform
        .post(&platform.sign(&forger, NOW_S, &body), body)
        .await;
    assert_eq!((status, code(&answer).as_str()), (401, "bad_signature"));
    // A genuine signature over another body does not carry this one.
    let signed = platform.sign(&secret(), NOW_S, &platform.body(1..=1));
    let (status, answer) = platform.post(&signed, platform.body(1..=3)).await;
    assert_eq!((status, code(&answer).as_str()), (401, "bad_signature"));
    assert_eq!(platform.held(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_timestamp_is_refused_and_nothing_stored() {
    let platform = platform_with_events().await;
    let body = platform.body(1..=3);
    let old = platform.sign(&secret(), NOW_S - 301, &body);
    let (status, answer) = platform.post(&old, body.clone()).await;
    assert_eq!((status, code(&answer).as_str()), (401, "stale_timestamp"));
    // Signed in time, but it reaches the platform six minutes on.
    let signed = platform.sign(&secret(), NOW_S, &body);
    platform.clock.advance(6 * 60_000);
    let (status, answer) = platform.post(&signed, body).await;
    assert_eq!((status, code(&answer).as_str()), (401, "stale_timestamp"));
    assert_eq!(platform.held(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_request_is_refused() {
    let platform = platform_with_events().await;
    let body = platform.body(1..=3);
    let signed = platform.sign(&secret(), NOW_S, &body);
    let (status, answer) = platform.post(&signed, body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["acked_through"], 3);
    assert_eq!(answer["platform_time_ms"], FRIDAY_10AM);
    let (status, answer) = platform.post(&signed, body).await;
    assert_eq!((status, code(&answer).as_str()), (401, "nonce_reused"));
    assert_eq!(platform.held(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_batches_and_gaps_are_refused_with_clear_codes() {
    let platform = platform_with_events().await;
    let (status, answer) = platform.post_signed(b"{\"hall_id\": 1".to_vec()).await;
    assert_eq!((status, code(&answer).as_str()), (400, "malformed_batch"));

    let (status, answer) = platform.post_signed(platform.body(3..=5)).await;
    assert_eq!((status, code(&answer).as_str()), (409, "gap"));
    assert_eq!(answer["acked_through"], 0);

    let mut shuffled: serde_json::Value = serde_json::from_slice(&platform.body(1..=3)).unwrap();
    shuffled["events"].as_array_mut().unwrap().swap(1, 2);
    let (status, answer) = platform
        .post_signed(serde_json::to_vec(&shuffled).unwrap())
        .await;
    assert_eq!((status, code(&answer).as_str()), (400, "not_contiguous"));

    let mut other_hall: serde_json::Value = serde_json::from_slice(&platform.body(1..=2)).unwrap();
    other_hall["events"][1]["hall_id"] = "another-hall".into();
    let (status, answer) = platform
        .post_signed(serde_json::to_vec(&other_hall).unwrap())
        .await;
    assert_eq!((status, code(&answer).as_str()), (400, "hall_mismatch"));
    assert_eq!(platform.held(), 0);

    // Stored once; sent again, the overlap is skipped and the answer the same.
    let (status, answer) = platform.post_signed(platform.body(1..=3)).await;
    assert_eq!((status, answer["acked_through"].as_u64()), (200, Some(3)));
    let (status, answer) = platform.post_signed(platform.body(2..=5)).await;
    assert_eq!((status, answer["acked_through"].as_u64()), (200, Some(5)));
    assert_eq!(platform.held(), 5);

    // The same place in the log with another event: the hall's log was replaced.
    let mut replaced: serde_json::Value = serde_json::from_slice(&platform.body(5..=5)).unwrap();
    replaced["events"][0]["event_id"] = uuid::Uuid::now_v7().to_string().into();
    let (status, answer) = platform
        .post_signed(serde_json::to_vec(&replaced).unwrap())
        .await;
    assert_eq!((status, code(&answer).as_str()), (409, "seq_conflict"));
    assert_eq!(platform.held(), 5);
}
