//! systemd integration: tell systemd when the hall node is ready, and ping its watchdog only while the
//! engine still answers, so a wedged writer gets the service restarted.

use crate::engine::EngineHandle;

/// Reports readiness (a no-op outside systemd).
pub fn notify_ready() {
    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Ready]) {
        tracing::debug!("no systemd notification socket: {e}");
    }
}

/// Pings the watchdog at half its period while the engine answers a state request in time.
pub async fn keep_alive(engine: EngineHandle) {
    let Some(period) = sd_notify::watchdog_enabled() else {
        return;
    };
    let mut tick = tokio::time::interval(period / 2);
    loop {
        tick.tick().await;
        match tokio::time::timeout(period / 4, engine.state()).await {
            Ok(Ok(_)) => {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
            }
            _ => tracing::error!(
                "the engine did not answer within {:?}; not feeding the watchdog",
                period / 4
            ),
        }
    }
}
