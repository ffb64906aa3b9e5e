//! The hall node on the LAN: kiosks, window terminals and display walls on other boards send commands
//! over HTTP and follow the event log as a push stream; any browser can show the display wall.
//!
//! - [`api`]: the routes, the order of checks, JSON in and out;
//! - [`auth`]: what each role may send, the terminal registry (one-time pairing codes, hashed device
//!   tokens) and the pause after wrong codes;
//! - [`push`]: Server-Sent Events, resumable from any sequence;
//! - [`serve`]: connections and their limits: timeouts, and room kept for paired terminals;
//! - [`client`]: the terminal side, with retries that keep the command id;
//! - [`display`]: what a wall shows; [`metrics`]: `/metrics` and `/healthz`;
//! - [`wire`]: every body that crosses the LAN, apart from the domain's types; [`openapi`]: the API
//!   description generated from them;
//! - [`bench`]: throughput and call-to-display latency over loopback.

pub mod api;
pub mod auth;
pub mod bench;
pub mod client;
mod counters;
pub mod display;
pub mod error;
mod extract;
pub mod metrics;
pub mod openapi;
pub mod push;
pub mod serve;
mod shared;
pub mod terminal;
pub mod tls;
mod web;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::LanConfig;
use crate::engine::EngineHandle;
pub use auth::{Registry, Role};
pub use counters::LanMetrics;
pub use shared::Hall;

/// The LAN server, running until [`HallServer::stop`] or until dropped with its runtime.
pub struct HallServer {
    pub addr: SocketAddr,
    pub hall: Hall,
    /// The hall node's certificate, when the LAN runs TLS.
    pub certificate: Option<tls::Fingerprint>,
    closing: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl HallServer {
    /// Binds `listen` (port 0 picks a free one) and starts serving, over TLS where `[lan] tls` says
    /// so, with the certificate beside the database unless the config names one.
    pub async fn start(
        engine: EngineHandle,
        listen: SocketAddr,
        lan: &LanConfig,
    ) -> anyhow::Result<HallServer> {
        let registry = Registry::open_with_clock(engine.db_path(), engine.clock().clone())?;
        let certificate = if lan.tls {
            Some(tls::hall_certificate(lan, engine.db_path())?)
        } else {
            None
        };
        let (closing, closed) = watch::channel(false);
        let hall = Hall {
            engine,
            registry,
            metrics: Arc::default(),
            max_body_bytes: lan.max_body_bytes,
            pairing_guard: Arc::default(),
            closing: closed.clone(),
            platform: Arc::default(),
        };
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let app = api::router(hall.clone());
        let limits = serve::Limits::of(lan, None);
        let tls = match &certificate {
            Some(certificate) => Some(tokio_rustls::TlsAcceptor::from(
                certificate.server_config()?,
            )),
            None => None,
        };
        let task = tokio::spawn(serve::serve(
            listener,
            app,
            limits,
            tls,
            hall.metrics.clone(),
            closed,
        ));
        let scheme = if lan.tls { "https" } else { "http" };
        tracing::info!(%addr, scheme, max_connections = limits.max_connections, "LAN API listening");
        Ok(HallServer {
            addr,
            hall,
            certificate: certificate.map(|c| c.fingerprint()),
            closing,
            task,
        })
    }

    /// Reports `sync` to terminals (on `/healthz`) as cut off after `mark_after_minutes` without an
    /// acknowledgement, in place of the node's own link and its `[platform]` table.
    pub fn watch_platform(&self, sync: Arc<crate::ports::PlatformSync>, mark_after_minutes: u32) {
        *self
            .hall
            .platform
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some((sync, mark_after_minutes));
    }

    /// Where the watchdog asks this server whether it still answers.
    pub fn api_address(&self) -> serve::ApiAddress {
        serve::ApiAddress {
            addr: self.addr,
            certificate: self.certificate,
        }
    }

    /// The base URL terminals on this machine reach the server at.
    pub fn url(&self) -> String {
        let scheme = if self.certificate.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// Mints a one-time pairing code for any role.
    pub fn mint_code(&self, minutes: u32) -> anyhow::Result<String> {
        let code = self.hall.registry.mint_code(None, minutes)?;
        Ok(tls::with_certificate_part(code, self.certificate.as_ref()))
    }

    /// The code a hall node shows at start: good for the terminal roles a hall needs to begin, not
    /// for admin (an administrator mints one on the hall node with `hallq pair code --role admin`).
    pub fn mint_startup_code(&self, minutes: u32) -> anyhow::Result<String> {
        let code = self.hall.registry.mint_terminal_code(minutes)?;
        Ok(tls::with_certificate_part(code, self.certificate.as_ref()))
    }

    /// Stops accepting requests, ends the push streams and lets answers in flight finish.
    pub async fn stop(mut self) {
        let _ = self.closing.send(true);
        if tokio::time::timeout(Duration::from_secs(2), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}
