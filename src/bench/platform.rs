//! The platform link: how long a backlog of 100,000 events takes to reach the reference receiver
//! over HTTPS on loopback, and how long a live event takes from its commit to the platform's
//! acknowledgement.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{percentiles_ms, round};
use crate::clock::SystemClock;
use crate::engine;
use crate::platform::receiver::{Receiver, ReceiverSettings};
use crate::platform::signing::{DEFAULT_MAX_SKEW_S, PlatformSecret};
use crate::platform::tls::TlsIdentity;
use crate::platform::uplink::{PLATFORM_BACKOFF, Uplink, UplinkSettings};
use crate::queue::{Command, Event, Recorded, StoredEvent};

const BACKLOG: u64 = 100_000;
const LIVE_SAMPLES: usize = 200;

fn issue() -> Command {
    Command::IssueTicket {
        service: "SB".into(),
        citizen: None,
        by_staff: true,
    }
}

/// Writes a log of `count` events straight into a fresh database, as a hall that was cut off from the
/// platform for days would hold: the bench measures the link, not the engine.
fn fill(db: &Path, hall_id: &str, count: u64) -> anyhow::Result<()> {
    let mut store = crate::store::Store::open(db, hall_id)?;
    let batch = store.begin()?;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).expect("a date");
    for seq in 1..=count {
        let event = if seq % 2 == 1 {
            Event::StaffSignedIn {
                window: 1,
                staff: "B1".into(),
                with_pin: false,
            }
        } else {
            Event::StaffSignedOut { window: 1 }
        };
        batch.append(&StoredEvent {
            seq,
            event_id: uuid::Uuid::now_v7(),
            hall_id: hall_id.to_string(),
            command_id: None,
            recorded: Recorded {
                wall_ms: 1_795_744_800_000 + seq as i64,
                hall_ms: 1_795_744_800_000 + seq as i64,
                boot_id: "bench".into(),
                mono_ms: seq as i64,
                clock_trusted: true,
                business_day: day,
            },
            event,
        })?;
    }
    batch.commit()?;
    Ok(())
}

/// Waits until the uploader reports `seq` acknowledged.
async fn acked(uplink: &Uplink, seq: u64, limit: Duration) -> anyhow::Result<()> {
    let give_up = Instant::now() + limit;
    while uplink.status().acked_seq.load(Ordering::Relaxed) < seq {
        if Instant::now() > give_up {
            anyhow::bail!("event {seq} not acknowledged within {limit:?}");
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    Ok(())
}

pub async fn run(dir: &Path) -> anyhow::Result<serde_json::Value> {
    let setup = super::engine::bench_setup();
    let hall_id = setup.config.hall.id.clone();
    let mut live_setup = (*setup).clone();
    live_setup.config.hall.id = format!("{hall_id}-live");
    let clock = Arc::new(SystemClock::new(true));
    let backlog_db = dir.join("bench-platform-backlog.db");
    fill(&backlog_db, &hall_id, BACKLOG)?;

    let secret = PlatformSecret::from_bytes(&rand::random::<[u8; 32]>()).expect("32 bytes");
    let identity = TlsIdentity::self_signed(&["127.0.0.1"])?;
    let receiver = Receiver::start(
        tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?,
        ReceiverSettings {
            db: dir.join("bench-platform-receiver.db"),
            secrets: HashMap::from([
                (hall_id.clone(), secret.clone()),
                (live_setup.config.hall.id.clone(), secret.clone()),
            ]),
            max_skew_s: DEFAULT_MAX_SKEW_S,
            clock: clock.clone(),
            tls: Some(identity.clone()),
            client_ca_pem: None,
        },
    )?;
    let settings = UplinkSettings {
        url: receiver.url(),
        hall_id: hall_id.clone(),
        secret,
        batch_size: 500,
        timeout: Duration::from_secs(10),
        backoff: PLATFORM_BACKOFF,
        ca_pem: Some(identity.cert_pem.into_bytes()),
        allow_plain_http: false,
        client_identity: None,
    };
    // No engine writes this log: nothing to wake the uploader but its first look.
    let (_quiet, news) = tokio::sync::broadcast::channel(1);
    let started = Instant::now();
    let uplink = Uplink::start_with(&backlog_db, news, clock.clone(), settings.clone())?;
    acked(&uplink, BACKLOG, Duration::from_secs(600)).await?;
    let drain_s = started.elapsed().as_secs_f64();
    uplink.stop().await;

    // A second hall on the same platform, live: each ticket timed from the command to the ack.
    let live_settings = UplinkSettings {
        hall_id: live_setup.config.hall.id.clone(),
        ..settings
    };
    let (engine, writer) = engine::start(
        Arc::new(live_setup),
        &dir.join("bench-platform-live.db"),
        clock.clone(),
    )?;
    let uplink = Uplink::start(&engine, live_settings)?;
    let mut live = Vec::with_capacity(LIVE_SAMPLES);
    for n in 0..LIVE_SAMPLES {
        let started = Instant::now();
        let outcome = engine.execute(format!("live-{n}"), issue()).await?;
        acked(&uplink, outcome.seq, Duration::from_secs(10)).await?;
        live.push(started.elapsed());
    }
    let (live_p50, live_p99) = percentiles_ms(&mut live);
    uplink.stop().await;
    receiver.stop().await;
    drop(engine);
    writer.join();
    Ok(json!({
        "platform_backlog_drain_100k_s": round(drain_s, 2),
        "platform_live_commit_to_ack_p50_ms": round(live_p50, 2),
        "platform_live_commit_to_ack_p99_ms": round(live_p99, 2),
    }))
}
