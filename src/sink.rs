//! Where commands go: the engine in the same process, or the hall node over the LAN. Buttons and
//! kiosk devices are written once against [`CommandSink`] and run on either kind of board.

use std::future::Future;

use crate::engine::EngineHandle;
use crate::lan::client::HallClient;
use crate::queue::Command;
use crate::store::Outcome;

/// A destination for commands. The hall node's client keeps the command id across retries, so a
/// command sent through either kind acts once.
pub trait CommandSink: Send + Sync {
    fn send(&self, command: Command) -> impl Future<Output = Result<Outcome, String>> + Send;
}

impl CommandSink for EngineHandle {
    async fn send(&self, command: Command) -> Result<Outcome, String> {
        self.execute(uuid::Uuid::now_v7().to_string(), command)
            .await
            .map_err(|e| e.to_string())
    }
}

impl CommandSink for HallClient {
    async fn send(&self, command: Command) -> Result<Outcome, String> {
        self.execute(command).await.map_err(|e| e.to_string())
    }
}
