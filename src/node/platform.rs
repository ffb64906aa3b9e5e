//! The hall node's platform link: the uploader for a hall whose file has a `[platform]` table, and in
//! the demo hall a reference receiver on loopback so the events can be seen arriving.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sha2::Digest;

use crate::config::PlatformConfig;
use crate::engine::EngineHandle;
use crate::platform::downlink::{BOOKINGS_PAGE, Downlink, DownlinkSettings};
use crate::platform::receiver::{Receiver, ReceiverSettings};
use crate::platform::signing::{DEFAULT_MAX_SKEW_S, PlatformSecret};
use crate::platform::tls::TlsIdentity;
use crate::platform::uplink::{PLATFORM_BACKOFF, Uplink, UplinkSettings};

/// What runs of the platform link; dropping it stops the uploader.
pub struct PlatformLink {
    pub uplink: Uplink,
    /// The puller of bookings; none when it could not start (the uploader runs on).
    pub downlink: Option<Downlink>,
    /// The demo's own receiver.
    pub receiver: Option<Receiver>,
}

/// Starts the uploader of the hall's `[platform]` table, if it has one. A link that cannot start
/// (a missing or exposed secret) is reported and leaves the hall working without it: the events
/// wait in the log and go up once it is fixed and the node restarted.
pub fn start(engine: &EngineHandle) -> Option<PlatformLink> {
    let setup = engine.setup().clone();
    let config = setup.config.platform.as_ref()?;
    let started = UplinkSettings::from_config(config, &setup.config.hall.id)
        .and_then(|settings| Uplink::start(engine, settings));
    match started {
        Ok(uplink) => {
            tracing::info!(url = %config.url, "platform link running");
            let _ = crate::ports::PLATFORM_SYNC.set(Arc::clone(uplink.status()));
            let downlink = DownlinkSettings::from_config(config, &setup.config.hall.id)
                .and_then(|settings| Downlink::start(engine, settings))
                .inspect_err(|e| {
                    tracing::error!("bookings are not pulled from the platform: {e:#}")
                })
                .ok();
            Some(PlatformLink {
                uplink,
                downlink,
                receiver: None,
            })
        }
        Err(e) => {
            tracing::error!("platform link not started, events wait in the log: {e:#}");
            None
        }
    }
}

/// The demo hall's link: a reference receiver on loopback, serving HTTPS with a certificate made for
/// this run, its database and the hall's secret beside the hall's database, and the uploader sending
/// to it with that certificate pinned. Each acknowledgement is printed.
pub async fn start_demo(engine: &EngineHandle, beside: &Path) -> anyhow::Result<PlatformLink> {
    let hall_id = engine.setup().config.hall.id.clone();
    let secret_file = beside.join("hallq-demo-platform.key");
    if !secret_file.exists() {
        PlatformSecret::create_file(&secret_file)?;
    }
    let secret = PlatformSecret::load(&secret_file)?;
    let identity = TlsIdentity::self_signed(&["127.0.0.1", "localhost"])?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let receiver = Receiver::start(
        listener,
        ReceiverSettings {
            db: beside.join("hallq-demo-platform.db"),
            secrets: HashMap::from([(hall_id.clone(), secret.clone())]),
            max_skew_s: DEFAULT_MAX_SKEW_S,
            clock: Arc::clone(engine.clock()),
            tls: Some(identity.clone()),
            client_ca_pem: None,
        },
    )?;
    let config = PlatformConfig::new(receiver.url(), secret_file.display().to_string());
    let link = UplinkSettings {
        url: config.url.clone(),
        hall_id: hall_id.clone(),
        secret,
        batch_size: config.batch_size,
        timeout: Duration::from_millis(config.timeout_ms),
        backoff: PLATFORM_BACKOFF,
        ca_pem: Some(identity.cert_pem.into_bytes()),
        allow_plain_http: false,
        client_identity: None,
    };
    let uplink = Uplink::start(engine, link.clone())?;
    // A booking made at the platform a little after the start arrives by the puller: what a
    // citizen's WeChat booking looks like from the hall.
    book_at_the_demo_platform(engine, &receiver, &hall_id);
    let downlink = Downlink::start(
        engine,
        DownlinkSettings {
            link,
            pull_every: Duration::from_secs(5),
            stale_after: Duration::from_secs(u64::from(config.bookings_stale_after_minutes) * 60),
            page_size: BOOKINGS_PAGE,
        },
    )?;
    let _ = crate::ports::PLATFORM_SYNC.set(Arc::clone(uplink.status()));
    println!(
        "hallq: demo platform receiver on {} (events in {})",
        receiver.url(),
        beside.join("hallq-demo-platform.db").display()
    );
    let status = Arc::clone(uplink.status());
    tokio::spawn(async move {
        let mut shown = 0;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let acked = status.acked_seq.load(Ordering::Relaxed);
            if acked != shown {
                println!("platform: received and acknowledged through event {acked}");
                shown = acked;
            }
        }
    });
    Ok(PlatformLink {
        uplink,
        downlink: Some(downlink),
        receiver: Some(receiver),
    })
}

/// Puts one booking for later today in the demo receiver's database, as a citizen's WeChat booking
/// would be: the puller brings it to the hall, and `hallq platform booking` adds more.
fn book_at_the_demo_platform(engine: &EngineHandle, receiver: &Receiver, hall_id: &str) {
    let setup = engine.setup();
    let Some(service) = setup
        .config
        .services
        .iter()
        .find(|s| s.appointment_only)
        .or(setup.config.services.first())
    else {
        return;
    };
    let now_ms = engine.clock().read().wall_ms;
    let local = crate::queue::day::local_time(setup, now_ms);
    let start = local + chrono::TimeDelta::hours(1);
    let end = start + chrono::TimeDelta::minutes(30);
    if end.date() != local.date() {
        return;
    }
    let booking = crate::platform::receiver::BookingInput {
        id: format!("wechat-{}", local.format("%Y%m%d%H%M")),
        service: service.code.clone(),
        day: crate::queue::day::business_day_of(setup, now_ms),
        start: start.format("%H:%M").to_string(),
        end: end.format("%H:%M").to_string(),
        // The platform holds the hall key's digest of the ID number, never the number.
        id_hash: hex::encode(sha2::Sha256::digest(b"demo citizen booked online")),
        masked_name: "王*明".into(),
    };
    match receiver.add_booking(hall_id, &booking) {
        Ok(_) => println!(
            "hallq: the demo platform holds booking {} for {} {}-{}; the hall pulls it in",
            booking.id, booking.service, booking.start, booking.end
        ),
        Err(e) => tracing::debug!("no demo booking at the platform: {e}"),
    }
}
