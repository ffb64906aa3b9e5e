//! A terminal board's hall port: commands go to the hall node over the LAN, and the hall state is
//! followed from its push stream. The screens, buttons and devices of a terminal use it exactly as
//! the hall node's own use the engine.
//!
//! A terminal keeps its own copy of the hall state, built from the state the hall node sends once
//! and then from the push stream, event by event, with the same `HallState::apply_stored` the engine
//! uses, so both roads show the same hall.

use std::sync::Arc;
use std::time::Duration;

use super::client::{ClientError, HallClient, Retry};
use crate::config::HallSetup;
use crate::identity::StaffPin;
use crate::ports::{CardTapOutcome, CommandError, HallNews, HallPort, PortFuture, concerns};
use crate::queue::{CardTap, Command, Event, HallState};
use crate::store::Outcome;

/// A terminal's screens wait this long for the hall node before telling the citizen or staff member
/// that a tap did not go through; every retry inside it carries the same command id.
pub const SCREEN_PATIENCE: Duration = Duration::from_secs(10);

/// How often a terminal asks the hall node how its platform link stands. The mark it feeds waits
/// minutes before it shows, so a few seconds late is nothing.
pub const PLATFORM_LINK_POLL: Duration = Duration::from_secs(2);

/// The hall node over the LAN, described by this board's own copy of the hall config.
#[derive(Clone)]
pub struct LanHall {
    client: HallClient,
    setup: Arc<HallSetup>,
}

impl LanHall {
    /// Commands are retried with their id for `patience` (a terminal's screens use
    /// [`SCREEN_PATIENCE`]), then given up with [`CommandError::NotReached`]; without it, until the
    /// hall node answers.
    pub fn new(client: HallClient, setup: Arc<HallSetup>, patience: Option<Duration>) -> LanHall {
        let client = client.with_retry(Retry {
            patience,
            ..Default::default()
        });
        LanHall { client, setup }
    }
}

impl From<ClientError> for CommandError {
    fn from(e: ClientError) -> CommandError {
        match e {
            ClientError::Rejected(_) | ClientError::NotSent(_) => {
                CommandError::Refused(e.to_string())
            }
            ClientError::GaveUp { .. } | ClientError::Unreachable(_) => {
                CommandError::NotReached(e.to_string())
            }
        }
    }
}

impl HallPort for LanHall {
    fn setup(&self) -> &Arc<HallSetup> {
        &self.setup
    }

    fn execute(
        &self,
        command_id: String,
        command: Command,
    ) -> PortFuture<'_, Result<Outcome, CommandError>> {
        Box::pin(async move { Ok(self.client.execute_with_id(&command_id, command).await?) })
    }

    fn sign_in(
        &self,
        window: u16,
        staff: String,
        pin: Option<StaffPin>,
    ) -> PortFuture<'_, Result<Outcome, CommandError>> {
        Box::pin(async move { Ok(self.client.sign_in(window, staff, pin).await?) })
    }

    fn tap_card(
        &self,
        command_id: String,
        tap: CardTap,
    ) -> PortFuture<'_, Result<CardTapOutcome, CommandError>> {
        Box::pin(async move { Ok(self.client.tap_card(&command_id, tap).await?) })
    }

    fn snapshot(&self) -> PortFuture<'_, Option<HallState>> {
        Box::pin(std::future::ready(None))
    }

    fn follow(
        &self,
        interest: fn(&Event) -> bool,
        deliver: Arc<dyn Fn(HallNews) + Send + Sync>,
    ) -> PortFuture<'static, ()> {
        let client = self.client.clone();
        Box::pin(async move {
            let link = watch_link(client.clone(), {
                let deliver = deliver.clone();
                move |link| deliver(HallNews::Link(link))
            });
            let platform = watch_platform_link(client.clone(), {
                let deliver = deliver.clone();
                move |cut_off| deliver(HallNews::PlatformCutOff(cut_off))
            });
            let state = follow_hall_node(client, interest, move |state, events| {
                deliver(HallNews::State {
                    state: Arc::new(state),
                    events,
                })
            });
            tokio::join!(link, platform, state);
        })
    }
}

/// Fetches the state until the hall node answers, then applies the push stream to it. `deliver`
/// receives every new state with the events that made it (none for the first). Runs until dropped.
async fn follow_hall_node(
    client: HallClient,
    interest: fn(&Event) -> bool,
    deliver: impl Fn(HallState, Vec<Arc<crate::queue::StoredEvent>>),
) {
    let mut delays = crate::retry::Backoff::RECONNECT.delays();
    let mut state = loop {
        match client.state().await {
            Ok(state) => break state,
            Err(ClientError::Rejected(e)) => {
                tracing::error!("the hall node refuses this terminal: {}", e.message)
            }
            Err(e) => tracing::debug!("hall state not fetched: {e}"),
        }
        tokio::time::sleep(delays.next_delay()).await;
    };
    deliver(state.clone(), Vec::new());
    let mut events = client.follow(state.last_seq);
    while let Some(first) = events.recv().await {
        let mut batch = vec![first];
        while let Ok(event) = events.try_recv() {
            batch.push(event);
        }
        for event in &batch {
            state.apply_stored(event);
        }
        // The copy follows every event; the follower hears only of those it asked for.
        let batch: Vec<_> = batch.into_iter().map(Arc::new).collect();
        if concerns(interest, &batch) {
            deliver(state.clone(), batch);
        }
    }
}

/// Calls `deliver` with whether the hall node is cut off from the platform, at its first answer and
/// at every change, until dropped. A hall node without a platform link, or one too old to say,
/// counts as not cut off; an unanswered poll changes nothing (the link's own band says the hall node
/// is gone).
async fn watch_platform_link(client: HallClient, deliver: impl Fn(bool)) {
    let mut told: Option<bool> = None;
    loop {
        if let Ok(health) = client.health().await {
            let cut_off = health.platform.is_some_and(|p| p.cut_off);
            if told != Some(cut_off) {
                deliver(cut_off);
                told = Some(cut_off);
            }
        }
        tokio::time::sleep(PLATFORM_LINK_POLL).await;
    }
}

/// Calls `deliver` with the link to the hall node now and at every change, until dropped.
async fn watch_link(client: HallClient, deliver: impl Fn(crate::ports::LinkState)) {
    let mut link = client.link();
    loop {
        let state = link.borrow_and_update().clone();
        deliver(state);
        if link.changed().await.is_err() {
            return;
        }
    }
}
