//! The state every request handler of the LAN server shares.

use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use super::auth::{PairingGuard, Registry};
use super::counters::LanMetrics;
use super::wire::PlatformLinkStatus;
use crate::clock::Clock;
use crate::engine::EngineHandle;
use crate::ports::PlatformSync;

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
    /// The platform link `/healthz` reports and after how many minutes without an acknowledgement
    /// it counts as cut off; by default the node's own link and its `[platform]` table.
    pub platform: Arc<RwLock<WatchedPlatform>>,
}

/// A platform link to report, and after how many minutes without an acknowledgement it counts as
/// cut off.
pub type WatchedPlatform = Option<(Arc<PlatformSync>, u32)>;

impl Hall {
    /// The platform link as terminals on the LAN show it; `None` when this node runs none.
    pub fn platform_link(&self) -> Option<PlatformLinkStatus> {
        let chosen = self
            .platform
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let (sync, limit) =
            chosen.or_else(|| crate::ports::platform_link_of(self.engine.setup()))?;
        let now_mono_ms = self.engine.clock().read().mono_ms;
        Some(PlatformLinkStatus {
            cut_off: sync.cut_off_beyond(now_mono_ms, limit),
            unacknowledged_for_s: sync
                .cut_off_for_ms(now_mono_ms)
                .map(|ms| u64::try_from(ms / 1000).unwrap_or(0)),
        })
    }
}
