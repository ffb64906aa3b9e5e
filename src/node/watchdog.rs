//! systemd integration: tell systemd when the hall node is ready, and ping its watchdog only while the
//! engine and the LAN API still answer, so a wedged writer or a LAN server that stopped answering
//! gets the service restarted.

use std::time::Duration;

use crate::engine::EngineHandle;
use crate::lan::serve::ApiAddress;

/// Reports readiness (a no-op outside systemd).
pub fn notify_ready() {
    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Ready]) {
        tracing::debug!("no systemd notification socket: {e}");
    }
}

/// Pings the watchdog at half its period while the engine answers a state request and the LAN API
/// on `api` (when this node serves one) answers `/healthz`, each in time.
pub async fn keep_alive(engine: EngineHandle, api: Option<ApiAddress>) {
    let Some(period) = sd_notify::watchdog_enabled() else {
        return;
    };
    let mut tick = tokio::time::interval(period / 2);
    loop {
        tick.tick().await;
        match stall(&engine, api, period / 4).await {
            None => {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
            }
            Some(why) => tracing::error!("{why}; not feeding the watchdog"),
        }
    }
}

/// What does not answer within `within`: the engine, or the LAN API on `api`; `None` when both do.
pub async fn stall(
    engine: &EngineHandle,
    api: Option<ApiAddress>,
    within: Duration,
) -> Option<String> {
    match tokio::time::timeout(within, engine.state()).await {
        Ok(Ok(_)) => {}
        _ => return Some(format!("the engine did not answer within {within:?}")),
    }
    let api = api?;
    crate::lan::serve::api_answers(api, within).await.err()
}
