//! The hall node's platform link as terminals on other boards learn it: `/healthz` carries whether
//! the hall has been cut off from the platform for longer than its config allows, and a terminal's
//! hall port turns that into news for its window panels.

use std::sync::Arc;
use std::time::Duration;

use hallq::clock::Clock;
use hallq::lan::Role;
use hallq::lan::terminal::LanHall;
use hallq::lan::wire::{Health, PlatformLinkStatus};
use hallq::ports::{HallNews, HallPort, PlatformSync, every_event};
use tokio::sync::mpsc;

use crate::lan_support::TestHall;

const MINUTE: i64 = 60_000;

/// The next word on the platform link a terminal's follower hears, within a few polls.
async fn next_cut_off(news: &mut mpsc::UnboundedReceiver<bool>) -> bool {
    tokio::time::timeout(Duration::from_secs(10), news.recv())
        .await
        .expect("the terminal hears of the platform link within a few polls")
        .expect("the follower runs")
}

#[tokio::test]
async fn a_terminal_hears_when_the_hall_node_is_cut_off_from_the_platform_and_when_it_is_back() {
    let hall = TestHall::start().await;
    let sync = Arc::new(PlatformSync::default());
    hall.server().watch_platform(sync.clone(), 10);
    let client = hall.pair(Role::Counter { window: 1 }).await;
    assert_eq!(
        client.health().await.unwrap().platform,
        Some(PlatformLinkStatus {
            cut_off: false,
            unacknowledged_for_s: None
        })
    );

    let terminal = LanHall::new(client.clone(), Arc::new(hallq::config::example()), None);
    let (told, mut news) = mpsc::unbounded_channel();
    let follower = tokio::spawn(terminal.follow(
        every_event,
        Arc::new(move |news| {
            if let HallNews::PlatformCutOff(cut_off) = news {
                let _ = told.send(cut_off);
            }
        }),
    ));
    assert!(!next_cut_off(&mut news).await, "in touch at first");

    sync.mark_failing(hall.clock.read().mono_ms);
    hall.clock.advance(9 * MINUTE);
    let within_limit = client.health().await.unwrap().platform.unwrap();
    assert!(!within_limit.cut_off);
    assert_eq!(within_limit.unacknowledged_for_s, Some(9 * 60));
    hall.clock.advance(MINUTE);
    assert!(next_cut_off(&mut news).await, "ten minutes is the limit");
    assert_eq!(
        client.health().await.unwrap().platform,
        Some(PlatformLinkStatus {
            cut_off: true,
            unacknowledged_for_s: Some(600)
        })
    );

    sync.mark_in_touch();
    assert!(
        !next_cut_off(&mut news).await,
        "an acknowledgement clears it"
    );
    follower.abort();
}

#[tokio::test]
async fn a_hall_node_without_a_platform_link_reports_none_and_an_older_health_still_reads() {
    let hall = TestHall::start().await;
    let client = hall.pair(Role::Display).await;
    let health = client.health().await.unwrap();
    assert_eq!(health.status, "ok");
    assert_eq!(health.platform, None);
    let body = reqwest::get(format!("{}/healthz", hall.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!body.contains("platform"), "{body}");
    // What a hall node from before the field answers reads as no link to show.
    let older: Health = serde_json::from_str(r#"{"status":"ok","seq":7}"#).unwrap();
    assert_eq!(older.platform, None);
}
