//! Counters the LAN server keeps as requests pass, read by `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::store::{CommandResult, Outcome};

/// Counters the LAN server keeps as requests pass.
#[derive(Debug, Default)]
pub struct LanMetrics {
    pub(super) commands_done: AtomicU64,
    pub(super) commands_refused: AtomicU64,
    pub(super) auth_failures: AtomicU64,
    pub(super) push_streams: AtomicI64,
    /// Push streams that fell behind the live broadcast and were refilled from the store.
    pub(super) push_refills: AtomicU64,
    /// Open LAN connections.
    pub(super) connections: AtomicI64,
    /// Connections closed, or turned away, because every connection slot was taken.
    pub(super) connections_closed_for_room: AtomicU64,
    /// The last sequence the platform acknowledged, set by the uploader; 0 until it reports.
    pub(super) sync_acked_seq: AtomicU64,
}

/// Holds one open push stream in the gauge until dropped.
pub struct OpenStream(Arc<LanMetrics>);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.push_streams.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Holds one open connection in the gauge until dropped.
pub struct OpenConnection(Arc<LanMetrics>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

impl LanMetrics {
    pub fn connection_opened(self: &Arc<Self>) -> OpenConnection {
        self.connections.fetch_add(1, Ordering::Relaxed);
        OpenConnection(self.clone())
    }

    pub fn count_closed_for_room(&self) {
        self.connections_closed_for_room
            .fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_command(&self, outcome: &Outcome) {
        let counter = match outcome.result {
            CommandResult::Done(_) => &self.commands_done,
            CommandResult::Refused(_) => &self.commands_refused,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_auth_failure(&self) {
        self.auth_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn push_stream_opened(self: &Arc<Self>) -> OpenStream {
        self.push_streams.fetch_add(1, Ordering::Relaxed);
        OpenStream(self.clone())
    }

    pub fn count_push_refill(&self) {
        self.push_refills.fetch_add(1, Ordering::Relaxed);
    }

    pub fn push_refills(&self) -> u64 {
        self.push_refills.load(Ordering::Relaxed)
    }

    /// Called by the platform uploader when the platform acknowledges events up to `seq`.
    pub fn set_sync_acked(&self, seq: u64) {
        self.sync_acked_seq.fetch_max(seq, Ordering::Relaxed);
    }
}
