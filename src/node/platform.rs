//! The hall node's platform link: the uploader for a hall whose file has a `[platform]` table, and in
//! the demo hall a reference receiver on loopback so the events can be seen arriving.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::config::PlatformConfig;
use crate::engine::EngineHandle;
use crate::platform::receiver::{Receiver, ReceiverSettings};
use crate::platform::signing::{DEFAULT_MAX_SKEW_S, PlatformSecret};
use crate::platform::tls::TlsIdentity;
use crate::platform::uplink::{PLATFORM_BACKOFF, Uplink, UplinkSettings};

/// What runs of the platform link; dropping it stops the uploader.
pub struct PlatformLink {
    pub uplink: Uplink,
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
            Some(PlatformLink {
                uplink,
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
    let uplink = Uplink::start(
        engine,
        UplinkSettings {
            url: config.url.clone(),
            hall_id,
            secret,
            batch_size: config.batch_size,
            timeout: Duration::from_millis(config.timeout_ms),
            backoff: PLATFORM_BACKOFF,
            ca_pem: Some(identity.cert_pem.into_bytes()),
            allow_plain_http: false,
            client_identity: None,
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
        receiver: Some(receiver),
    })
}
