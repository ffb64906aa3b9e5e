//! The state every request handler of the LAN server shares.

use std::sync::Arc;

use tokio::sync::watch;

use super::auth::{PairingGuard, Registry};
use super::counters::LanMetrics;
use crate::engine::EngineHandle;

/// What every request handler shares.
#[derive(Clone)]
pub struct Hall {
    pub engine: EngineHandle,
    pub registry: Registry,
    pub metrics: Arc<LanMetrics>,
    pub max_body_bytes: usize,
    pub pairing_guard: Arc<PairingGuard>,
    /// Turns true when the server stops, so open push streams end instead of outliving it.
    pub closing: watch::Receiver<bool>,
}
